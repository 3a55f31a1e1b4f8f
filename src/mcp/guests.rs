//! Finding a guest's node and type from its VMID: one `/cluster/resources` request, reused for a
//! few seconds.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::params::Form;
use proxmox_mcp::{Client, Error};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// How long a list of guests is reused to locate a VMID.
const TTL: Duration = Duration::from_secs(5);

/// The cluster's guests, as last read.
#[derive(Default)]
pub struct Cache {
    last: Mutex<Option<(Instant, Arc<Vec<Guest>>)>>,
}

/// One entry of `/cluster/resources?type=vm`: the keys guests are found and filtered by, and the
/// entry as PVE sent it, kept as JSON text and parsed only for the guests a result shows (a list
/// of 10,000 guests stays a few MB instead of a tree of maps).
#[derive(Debug)]
pub struct Guest {
    /// Its VMID (0 if PVE sent none).
    pub vmid: u64,
    /// Its node.
    pub node: Box<str>,
    /// `qemu` or `lxc` (PVE's `type`).
    pub kind: Box<str>,
    /// `running`, `stopped`, ...
    pub status: Box<str>,
    /// Its name.
    pub name: Box<str>,
    /// Its pool.
    pub pool: Box<str>,
    /// Its tags, as PVE lists them (`prod;web`).
    pub tags: Box<str>,
    /// Whether it is a template.
    pub template: bool,
    raw: Box<RawValue>,
}

impl Guest {
    /// The entry as PVE sent it.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.raw.get()).unwrap_or(Value::Null)
    }

    /// The text of key `key` (`node`, `type`, `status`, `name`, `pool`, `tags`); empty if absent.
    pub fn text(&self, key: &str) -> &str {
        match key {
            "node" => &self.node,
            "type" => &self.kind,
            "status" => &self.status,
            "name" => &self.name,
            "pool" => &self.pool,
            "tags" => &self.tags,
            _ => "",
        }
    }
}

impl<'de> Deserialize<'de> for Guest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The keys, borrowed from the entry's text where no escape is in the way.
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Keys<'a> {
            #[serde(deserialize_with = "proxmox_mcp::lenient::opt_u32")]
            vmid: Option<u32>,
            #[serde(deserialize_with = "proxmox_mcp::lenient::opt_bool")]
            template: Option<bool>,
            #[serde(borrow)]
            node: Cow<'a, str>,
            #[serde(borrow, rename = "type")]
            kind: Cow<'a, str>,
            #[serde(borrow)]
            status: Cow<'a, str>,
            #[serde(borrow)]
            name: Cow<'a, str>,
            #[serde(borrow)]
            pool: Cow<'a, str>,
            #[serde(borrow)]
            tags: Cow<'a, str>,
        }
        let raw = Box::<RawValue>::deserialize(d)?;
        // An entry with a key of an unexpected type is kept (shown as sent), found by nothing.
        let keys: Keys = serde_json::from_str(raw.get()).unwrap_or_default();
        let boxed = |c: Cow<'_, str>| Box::<str>::from(c.as_ref());
        Ok(Guest {
            vmid: keys.vmid.map_or(0, u64::from),
            node: boxed(keys.node),
            kind: boxed(keys.kind),
            status: boxed(keys.status),
            name: boxed(keys.name),
            pool: boxed(keys.pool),
            tags: boxed(keys.tags),
            template: keys.template.unwrap_or(false),
            raw,
        })
    }
}

/// Where a guest lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Its node.
    pub node: String,
    /// `qemu` or `lxc`.
    pub kind: String,
}

impl Location {
    /// Where an entry of `/cluster/resources` lives.
    pub fn of(guest: &Guest) -> Location {
        Location {
            node: guest.node.to_string(),
            kind: match &*guest.kind {
                "" => "qemu".to_string(),
                k => k.to_string(),
            },
        }
    }
}

impl Cache {
    /// Guest `vmid` in a fresh read of the list: where it lives and its entry (`status`,
    /// `name`, ...); `None` when no guest has that VMID.
    pub async fn find(
        &self,
        client: &Client,
        vmid: u64,
    ) -> Result<Option<(Location, Value)>, String> {
        let list = self
            .fetch(client)
            .await
            .map_err(|e| super::errors::explain(&e, client))?;
        Ok(list
            .iter()
            .find(|g| g.vmid == vmid)
            .map(|g| (Location::of(g), g.value())))
    }

    /// Reads `/cluster/resources?type=vm` (one request) and keeps it.
    pub async fn fetch(&self, client: &Client) -> Result<Arc<Vec<Guest>>, Error> {
        let ep = super::tools::ep(HttpMethod::Get, "/cluster/resources");
        let mut form = Form::new();
        form.text("type", "vm");
        // The old list goes before the new one is read: a large cluster's list is held once.
        self.clear();
        let list = Arc::new(client.execute_as::<Vec<Guest>>(ep, &[], form).await?);
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    fn recent(&self) -> Option<Arc<Vec<Guest>>> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref()
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, l)| l.clone())
    }

    /// The name of guest `vmid` in the list last read, however old.
    pub fn name(&self, vmid: u64) -> Option<String> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let (_, list) = last.as_ref()?;
        list.iter()
            .find(|g| g.vmid == vmid)
            .map(|g| g.name.to_string())
            .filter(|n| !n.is_empty())
    }

    /// A guest in words for the person asked to confirm: `VM 100 "web" on pve1`.
    pub fn label(&self, vmid: u64, at: &Location) -> String {
        let what = if at.kind == "lxc" { "container" } else { "VM" };
        match self.name(vmid) {
            Some(name) => format!("{what} {vmid} \"{name}\" on {}", at.node),
            None => format!("{what} {vmid} on {}", at.node),
        }
    }

    /// Forgets the list (after a write that adds, removes or moves guests).
    pub fn clear(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The node and type of guest `vmid`; `node` and `kind` are used as given when both are.
    pub async fn locate(
        &self,
        client: &Client,
        vmid: u64,
        node: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Location, String> {
        if let (Some(node), Some(kind)) = (node, kind) {
            return Ok(Location {
                node: node.to_string(),
                kind: kind.to_string(),
            });
        }
        let find = |list: &[Guest]| list.iter().find(|g| g.vmid == vmid).map(Location::of);
        let mut found = self.recent().and_then(|l| find(&l));
        if found.is_none() {
            let list = self
                .fetch(client)
                .await
                .map_err(|e| super::errors::explain(&e, client))?;
            found = find(&list);
        }
        let Some(Location {
            node: found_node,
            kind: found_kind,
        }) = found
        else {
            return Err(format!(
                "no VM or container {vmid} in the cluster; list guests with proxmox_guest_list"
            ));
        };
        if let Some(k) = kind
            && k != found_kind
        {
            let what = if found_kind == "lxc" {
                "a container (lxc)"
            } else {
                "a VM (qemu)"
            };
            return Err(format!(
                "{vmid} is {what}, not {k}; leave `type` out or fix it"
            ));
        }
        Ok(Location {
            node: node.map(str::to_string).unwrap_or(found_node),
            kind: found_kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_keeps_its_keys_and_its_entry_as_sent() {
        let list: Vec<Guest> = serde_json::from_str(
            r#"[{"vmid": 100, "node": "pve1", "type": "qemu", "status": "running",
                 "name": "w\u00e9b \"a\"", "tags": "prod;web", "maxmem": 2147483648},
                {"vmid": "101", "type": "lxc", "template": 1, "node": 7},
                {"id": "qemu/102"}]"#,
        )
        .unwrap();
        let web = &list[0];
        assert_eq!(
            (web.vmid, &*web.node, &*web.kind, &*web.status),
            (100, "pve1", "qemu", "running")
        );
        // An escaped name is read, not borrowed.
        assert_eq!(&*web.name, "wéb \"a\"");
        assert_eq!(web.text("tags"), "prod;web");
        assert!(!web.template);
        assert_eq!(web.value()["maxmem"], 2147483648u64);
        assert_eq!(
            Location::of(web),
            Location {
                node: "pve1".into(),
                kind: "qemu".into()
            }
        );
        // A key of the wrong type leaves the entry unfindable, not the whole list unreadable.
        assert_eq!(list[1].vmid, 0);
        assert_eq!(list[1].value()["node"], 7);
        // No type is a VM; no VMID is 0.
        assert_eq!(list[2].vmid, 0);
        assert_eq!(Location::of(&list[2]).kind, "qemu");
        let ct: Guest =
            serde_json::from_str(r#"{"vmid": "101", "type": "lxc", "template": 1}"#).unwrap();
        assert_eq!((ct.vmid, ct.template, &*ct.kind), (101, true, "lxc"));
    }
}
