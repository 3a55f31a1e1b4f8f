//! Finding a guest's node and type from its VMID: one `/cluster/resources` request, reused for a
//! few seconds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::params::Form;
use proxmox_mcp::{Client, Error};
use serde_json::Value;

/// How long a list of guests is reused to locate a VMID.
const TTL: Duration = Duration::from_secs(5);

/// The cluster's guests, as last read.
#[derive(Default)]
pub struct Cache {
    last: Mutex<Option<(Instant, Arc<Vec<Value>>)>>,
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
    pub fn of(guest: &Value) -> Location {
        let text = |k: &str| guest.get(k).and_then(Value::as_str).unwrap_or("");
        Location {
            node: text("node").to_string(),
            kind: match text("type") {
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
            .find(|g| g.get("vmid").and_then(Value::as_u64) == Some(vmid))
            .map(|g| (Location::of(g), g.clone())))
    }

    /// Reads `/cluster/resources?type=vm` (one request) and keeps it.
    pub async fn fetch(&self, client: &Client) -> Result<Arc<Vec<Value>>, Error> {
        let ep = super::tools::ep(HttpMethod::Get, "/cluster/resources");
        let mut form = Form::new();
        form.text("type", "vm");
        let data = client.execute(ep, &[], form).await?;
        let list = Arc::new(match data {
            Value::Array(a) => a,
            _ => Vec::new(),
        });
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    fn recent(&self) -> Option<Arc<Vec<Value>>> {
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
            .find(|g| g.get("vmid").and_then(Value::as_u64) == Some(vmid))?
            .get("name")?
            .as_str()
            .map(str::to_string)
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
        let find = |list: &[Value]| {
            list.iter()
                .find(|g| g.get("vmid").and_then(Value::as_u64) == Some(vmid))
                .cloned()
        };
        let mut found = self.recent().and_then(|l| find(&l));
        if found.is_none() {
            let list = self
                .fetch(client)
                .await
                .map_err(|e| super::errors::explain(&e, client))?;
            found = find(&list);
        }
        let Some(g) = found else {
            return Err(format!(
                "no VM or container {vmid} in the cluster; list guests with proxmox_guest_list"
            ));
        };
        let text = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (found_node, found_kind) = (text("node"), text("type"));
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
