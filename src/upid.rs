//! Task ids: PVE's UPID (`UPID:pve1:0000C530:0001B4E8:6745F0A1:qmstart:100:root@pam:`).

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A task id as PVE writes it: `UPID:node:pid:pstart:starttime:type:id:user:`, the three numbers
/// in hex. Every method that starts a task returns one; [`crate::Client::wait_task`] takes one.
/// Parse a string with `str::parse`; `to_string` gives it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upid {
    text: String,
    node: (usize, usize),
    worker_type: (usize, usize),
    worker_id: (usize, usize),
    user: (usize, usize),
    pid: u32,
    pstart: u64,
    starttime: i64,
}

impl Upid {
    /// The node the task runs on.
    pub fn node(&self) -> &str {
        &self.text[self.node.0..self.node.1]
    }

    /// The task's type: `qmstart`, `vzdump`, `qmclone`, ...
    pub fn worker_type(&self) -> &str {
        &self.text[self.worker_type.0..self.worker_type.1]
    }

    /// What the task works on, often a VMID (`100`); empty for node-wide tasks.
    pub fn worker_id(&self) -> &str {
        &self.text[self.worker_id.0..self.worker_id.1]
    }

    /// The user (or `user!token`) that started the task.
    pub fn user(&self) -> &str {
        &self.text[self.user.0..self.user.1]
    }

    /// The worker's process id on the node.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The worker's process start time, in clock ticks since boot.
    pub fn pstart(&self) -> u64 {
        self.pstart
    }

    /// When the task started, in seconds since the Unix epoch.
    pub fn starttime(&self) -> i64 {
        self.starttime
    }

    /// The UPID as PVE wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Upid {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidParameter {
            name: "upid".to_string(),
            reason: format!(
                "`{}` is not a task id (UPID:node:pid:pstart:starttime:type:id:user:)",
                crate::validate::shown(s)
            ),
        };
        // Byte ranges of the nine `:`-separated parts.
        let mut ranges = Vec::with_capacity(9);
        let mut start = 0;
        for (i, c) in s.char_indices() {
            if c == ':' {
                ranges.push((start, i));
                start = i + 1;
            }
        }
        ranges.push((start, s.len()));
        let part = |i: usize| &s[ranges[i].0..ranges[i].1];
        if ranges.len() != 9 || part(0) != "UPID" || !part(8).is_empty() {
            return Err(bad());
        }
        let hex = |i: usize| {
            let p = part(i);
            (!p.is_empty() && p.len() <= 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(p, 16).ok())
                .flatten()
        };
        let (Some(pid), Some(pstart), Some(starttime)) = (hex(2), hex(3), hex(4)) else {
            return Err(bad());
        };
        let (Ok(pid), Ok(starttime)) = (u32::try_from(pid), i64::try_from(starttime)) else {
            return Err(bad());
        };
        if part(1).is_empty() || part(5).is_empty() || part(7).is_empty() {
            return Err(bad());
        }
        if s.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        Ok(Upid {
            text: s.to_string(),
            node: ranges[1],
            worker_type: ranges[5],
            worker_id: ranges[6],
            user: ranges[7],
            pid,
            pstart,
            starttime,
        })
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for Upid {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl<'de> serde::Deserialize<'de> for Upid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Upid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_part_and_prints_the_original() {
        let text = "UPID:pve1:0000C530:0001B4E8:6745F0A1:qmstart:100:root@pam!mcp:";
        let u: Upid = text.parse().unwrap();
        assert_eq!(u.node(), "pve1");
        assert_eq!(u.pid(), 0xC530);
        assert_eq!(u.pstart(), 0x1B4E8);
        assert_eq!(u.starttime(), 0x6745F0A1);
        assert_eq!(u.worker_type(), "qmstart");
        assert_eq!(u.worker_id(), "100");
        assert_eq!(u.user(), "root@pam!mcp");
        assert_eq!(u.to_string(), text);
        let node_wide: Upid = "UPID:pve2:00001234:00ABCDEF:6745F0A1:aptupdate::root@pam:"
            .parse()
            .unwrap();
        assert_eq!(node_wide.worker_id(), "");
        let json: Upid = serde_json::from_value(serde_json::json!(text)).unwrap();
        assert_eq!(json, u);
        assert_eq!(serde_json::to_value(&u).unwrap(), serde_json::json!(text));
    }

    #[test]
    fn refuses_what_is_not_a_upid() {
        for bad in [
            "",
            "pve1:qmstart",
            "UPID:pve1:0000C530:0001B4E8:6745F0A1:qmstart:100:root@pam",
            "UPID::0000C530:0001B4E8:6745F0A1:qmstart:100:root@pam:",
            "UPID:pve1:XYZ:0001B4E8:6745F0A1:qmstart:100:root@pam:",
            "UPID:pve1:0000C530:0001B4E8:6745F0A1::100:root@pam:",
            "UPID:pve1:0000C530:0001B4E8:6745F0A1:qmstart:100::",
            "UPID:pve 1:0000C530:0001B4E8:6745F0A1:qmstart:100:root@pam:",
        ] {
            let e = bad.parse::<Upid>().unwrap_err();
            assert!(e.to_string().contains("is not a task id"), "{bad}: {e}");
        }
    }
}
