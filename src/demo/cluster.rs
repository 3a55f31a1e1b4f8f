//! The simulated cluster: nodes, guests, storage and tasks, all in memory. Tasks finish on their
//! own after a short real-time delay; their effect on the state applies when they finish.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Who the demo's API token belongs to.
pub const TOKEN_ID: &str = "demo@pve!mcp";
/// The nodes: name, CPUs, memory in GiB, address.
pub const NODES: &[(&str, u64, u64, &str)] =
    &[("pve1", 16, 64, "10.0.0.11"), ("pve2", 8, 32, "10.0.0.12")];
/// Storages on every node: id, type, content, size in GiB. `nas` (NFS) is shared by the nodes.
pub const STORAGES: &[(&str, &str, &str, u64)] = &[
    ("local", "dir", "iso,vztmpl,backup", 100),
    ("local-lvm", "lvmthin", "images,rootdir", 500),
    ("nas", "nfs", "images,rootdir,backup", 2000),
];

/// True for a storage every node sees (NFS).
pub fn shared(storage: &str) -> bool {
    STORAGES.iter().any(|s| s.0 == storage && s.1 == "nfs")
}

/// The content types of a storage (`images`, `backup`...).
pub fn content_of(storage: &str) -> &'static str {
    STORAGES.iter().find(|s| s.0 == storage).map_or("", |s| s.2)
}
/// Files on `local` of every node: volume name, content type, format, size in MiB, owning vmid.
const FILES: &[(&str, &str, &str, u64, u64)] = &[
    ("iso/debian-13.0.0-amd64-netinst.iso", "iso", "iso", 754, 0),
    ("iso/Win11_24H2_English_x64.iso", "iso", "iso", 5_683, 0),
    (
        "vztmpl/debian-13-standard_13.0-1_amd64.tar.zst",
        "vztmpl",
        "tzst",
        123,
        0,
    ),
    (
        "backup/vzdump-qemu-100-2026_11_20-02_00_00.vma.zst",
        "backup",
        "vma.zst",
        2_310,
        100,
    ),
    (
        "backup/vzdump-lxc-200-2026_11_20-02_10_00.tar.zst",
        "backup",
        "tar.zst",
        310,
        200,
    ),
];

/// Seconds since the epoch.
pub fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// QEMU virtual machine or LXC container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Qemu,
    Lxc,
}

impl Kind {
    /// `qemu` or `lxc`, as in paths and `/cluster/resources`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Qemu => "qemu",
            Kind::Lxc => "lxc",
        }
    }
    /// `VM` or `CT`, as PVE's messages say.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Qemu => "VM",
            Kind::Lxc => "CT",
        }
    }
    /// The prefix of its task types: `qm` or `vz`.
    pub fn task_prefix(self) -> &'static str {
        match self {
            Kind::Qemu => "qm",
            Kind::Lxc => "vz",
        }
    }
    /// PVE's "does not exist" text for guest `vmid` on `node`.
    pub fn missing(self, node: &str, vmid: u64) -> String {
        let dir = match self {
            Kind::Qemu => "qemu-server",
            Kind::Lxc => "lxc",
        };
        format!("Configuration file 'nodes/{node}/{dir}/{vmid}.conf' does not exist")
    }
}

/// Running, stopped or paused (suspended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Stopped,
    Running,
    Paused,
}

/// A snapshot of a guest: its config as it was.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub name: String,
    pub description: String,
    pub snaptime: u64,
    pub parent: Option<String>,
    pub config: BTreeMap<String, String>,
}

/// One guest.
#[derive(Debug, Clone)]
pub struct Guest {
    pub kind: Kind,
    pub node: String,
    pub power: Power,
    /// When it started, for `uptime`.
    pub since: Instant,
    pub config: BTreeMap<String, String>,
    pub snapshots: Vec<Snapshot>,
    /// The snapshot the current state derives from.
    pub parent: Option<String>,
    /// Set while a task works on the guest: the lock name (`snapshot`, `create`...).
    pub lock: Option<String>,
    /// A start of this guest fails (the demo's broken VM).
    pub broken: bool,
    /// The resource pool it belongs to.
    pub pool: Option<String>,
    /// Changes that wait for the next start (PVE's `[PENDING]` section): key, new value.
    pub pending: BTreeMap<String, String>,
    /// Keys whose deletion waits for the next start.
    pub pending_delete: std::collections::BTreeSet<String>,
    /// The QEMU guest agent is installed inside (it answers when `agent` is enabled and the VM
    /// runs).
    pub agent: bool,
    /// Its filesystems are frozen by the agent.
    pub frozen: bool,
    /// Files written through the agent: path, content.
    pub files: BTreeMap<String, String>,
    /// The cloud-init values its drive was last generated with.
    pub cloudinit: BTreeMap<String, String>,
}

impl Guest {
    /// A guest without snapshots, pending changes or lock.
    pub fn new(kind: Kind, node: &str, power: Power, config: BTreeMap<String, String>) -> Guest {
        let cloudinit = cloudinit_values(&config);
        Guest {
            kind,
            node: node.to_string(),
            power,
            since: Instant::now(),
            config,
            snapshots: Vec::new(),
            parent: None,
            lock: None,
            broken: false,
            pool: None,
            pending: BTreeMap::new(),
            pending_delete: std::collections::BTreeSet::new(),
            agent: false,
            frozen: false,
            files: BTreeMap::new(),
            cloudinit,
        }
    }
    /// A config value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.config.get(key).map(String::as_str)
    }
    /// Its name (`name` for VMs, `hostname` for containers).
    pub fn name(&self, vmid: u64) -> String {
        self.get("name")
            .or(self.get("hostname"))
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}{vmid}", self.kind.word()))
    }
    /// Memory in bytes.
    pub fn maxmem(&self) -> u64 {
        let mib = self.get("memory").and_then(|m| {
            m.split(',')
                .find_map(|p| p.strip_prefix("current=").or(Some(p)))
                .and_then(|v| v.parse::<u64>().ok())
        });
        mib.unwrap_or(512) << 20
    }
    /// CPUs.
    pub fn cpus(&self) -> u64 {
        let n = |k: &str| self.get(k).and_then(|v| v.parse::<u64>().ok());
        n("cores").unwrap_or(1) * n("sockets").unwrap_or(1)
    }
    /// True for templates.
    pub fn template(&self) -> bool {
        self.get("template") == Some("1")
    }
    /// Disks: config key, storage, volume name, size in bytes.
    pub fn disks(&self) -> Vec<(String, String, String, u64)> {
        self.config
            .iter()
            .filter(|(k, v)| is_disk_key(k) && !v.contains("media=cdrom"))
            .filter_map(|(k, v)| {
                let (storage, rest) = v.split_once(':')?;
                let volume = rest.split(',').next()?.to_string();
                let size = v
                    .split(',')
                    .find_map(|p| p.strip_prefix("size="))
                    .map(parse_size)
                    .unwrap_or(0);
                Some((k.clone(), storage.to_string(), volume, size))
            })
            .collect()
    }
    /// Deterministic runtime numbers: memory in use and CPU load.
    pub fn usage(&self, vmid: u64) -> (u64, f64) {
        if self.power == Power::Stopped {
            return (0, 0.0);
        }
        let share = 35 + (vmid % 7) * 6;
        (
            self.maxmem() / 100 * share,
            0.01 + (vmid % 5) as f64 * 0.013,
        )
    }
}

/// True for the cloud-init keys of a VM's configuration.
pub fn is_cloudinit_key(key: &str) -> bool {
    matches!(
        key,
        "cicustom"
            | "cipassword"
            | "citype"
            | "ciupgrade"
            | "ciuser"
            | "nameserver"
            | "searchdomain"
            | "sshkeys"
    ) || key
        .strip_prefix("ipconfig")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The cloud-init values of a configuration.
pub fn cloudinit_values(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    config
        .iter()
        .filter(|(k, _)| is_cloudinit_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// True for config keys that hold a volume.
pub fn is_disk_key(key: &str) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    matches!(
        base,
        "scsi" | "virtio" | "sata" | "ide" | "efidisk" | "tpmstate" | "rootfs" | "mp" | "unused"
    ) && (base != key || key == "rootfs")
}

/// `32G`, `512M`, `1T` in bytes.
pub fn parse_size(s: &str) -> u64 {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().unwrap_or(0);
    let shift = match unit {
        "K" => 10,
        "M" => 20,
        "T" => 40,
        "" => 0,
        _ => 30,
    };
    n.saturating_mul(1 << shift)
}

/// What a task does to the cluster when it finishes successfully.
pub type Effect = Box<dyn FnOnce(&mut Cluster) + Send>;

/// A task: started at once, finished after `ends`.
pub struct Task {
    pub upid: String,
    pub node: String,
    pub kind: String,
    pub id: String,
    pub pid: u64,
    pub pstart: u64,
    pub starttime: u64,
    pub ends: Instant,
    /// `Some` once finished: the end time.
    pub endtime: Option<u64>,
    pub log: Vec<String>,
    /// The error it ends with, if it fails.
    pub error: Option<String>,
    /// The guest it holds, if any.
    pub vmid: Option<u64>,
    effect: Option<Effect>,
}

impl Task {
    /// `OK` or the error, once finished.
    pub fn exitstatus(&self) -> Option<String> {
        self.endtime?;
        Some(self.error.clone().unwrap_or_else(|| "OK".to_string()))
    }
    /// Its log as it reads now: the final line only once finished.
    pub fn lines(&self) -> Vec<String> {
        let mut out = self.log.clone();
        if let Some(status) = self.exitstatus() {
            out.push(match &self.error {
                Some(e) => format!("TASK ERROR: {e}"),
                None => format!("TASK {status}"),
            });
        }
        out
    }
    /// PVE's task status object.
    pub fn status(&self) -> Value {
        let mut v = json!({
            "upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
            "starttime": self.starttime, "type": self.kind, "id": self.id, "user": TOKEN_ID,
            "status": if self.endtime.is_some() { "stopped" } else { "running" },
        });
        if let Some(s) = self.exitstatus() {
            v["exitstatus"] = s.into();
            v["endtime"] = self.endtime.into();
        }
        v
    }
}

/// A file on a storage: an ISO image, a container template or a backup archive.
#[derive(Debug, Clone)]
pub struct File {
    /// The node that sees it (any node for a shared storage).
    pub node: String,
    pub storage: String,
    /// `iso/debian.iso`, `backup/vzdump-qemu-100-2026_12_04-15_30_00.vma.zst`.
    pub name: String,
    pub content: String,
    pub format: String,
    pub size: u64,
    /// The guest a backup is of, 0 for other files.
    pub vmid: u64,
    pub ctime: u64,
    /// A backup's guest: its type and configuration when it was made (`None`: not known).
    pub guest: Option<(Kind, BTreeMap<String, String>)>,
    pub protected: bool,
    pub notes: Option<String>,
}

impl File {
    /// `storage:name`.
    pub fn volid(&self) -> String {
        format!("{}:{}", self.storage, self.name)
    }
    /// True where `node` sees it.
    pub fn on(&self, node: &str, storage: &str) -> bool {
        self.storage == storage && (self.node == node || shared(storage))
    }
}

/// What the agent's `exec` of a command gave: exit code, stdout, stderr.
#[derive(Debug, Clone)]
pub struct Exec {
    pub exitcode: i64,
    pub out: String,
    pub err: String,
}

/// A volume as storage content lists it.
#[derive(Debug, Clone)]
pub struct Volume {
    pub volid: String,
    pub content: String,
    pub format: String,
    pub size: u64,
    /// 0 when no guest owns it.
    pub vmid: u64,
    pub ctime: u64,
    pub protected: bool,
    pub notes: Option<String>,
}

/// When the files of `local` were made (2026-11-20T02:00:00Z).
const FILES_CTIME: u64 = 1_795_140_000;

/// The whole simulated cluster.
pub struct Cluster {
    pub guests: BTreeMap<u64, Guest>,
    pub tasks: Vec<Task>,
    /// ISO images, templates and backups on the storages.
    pub files: Vec<File>,
    /// Commands run through the guest agents: (VMID, pid) and what they gave.
    pub execs: BTreeMap<(u64, u64), Exec>,
    /// When the nodes "booted", for their uptime.
    pub boot: Instant,
    next_pid: u64,
    next_exec: u64,
}

/// The most tasks kept; older finished ones are forgotten.
const MAX_TASKS: usize = 200;

impl Cluster {
    /// The cluster as it starts.
    pub fn new() -> Self {
        let now = Instant::now();
        let mut guests = BTreeMap::new();
        let vm = |node: &str, power, pairs: Vec<(&str, String)>| {
            let config = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            Guest::new(Kind::Qemu, node, power, config)
        };
        let qemu = |vmid: u64, name: &str, mem: u64, cores: u64, disk: u64, os: &str| {
            vec![
                ("name", name.to_string()),
                ("memory", mem.to_string()),
                ("cores", cores.to_string()),
                ("sockets", "1".to_string()),
                ("cpu", "x86-64-v2-AES".to_string()),
                ("ostype", os.to_string()),
                ("scsihw", "virtio-scsi-single".to_string()),
                ("boot", "order=scsi0;ide2;net0".to_string()),
                (
                    "scsi0",
                    format!("local-lvm:vm-{vmid}-disk-0,iothread=1,size={disk}G"),
                ),
                ("ide2", "none,media=cdrom".to_string()),
                (
                    "net0",
                    format!("virtio={},bridge=vmbr0,firewall=1", mac(vmid)),
                ),
                (
                    "smbios1",
                    format!("uuid=6c1f0e2a-0000-4000-8000-{vmid:012}"),
                ),
                ("vmgenid", format!("3f8e5b7c-0000-4000-9000-{vmid:012}")),
            ]
        };
        let mut web = qemu(100, "web01", 2048, 2, 32, "l26");
        web.extend([
            ("tags", "prod;web".into()),
            ("onboot", "1".into()),
            ("agent", "1".into()),
        ]);
        let mut web = vm("pve1", Power::Running, web);
        // The agent is installed and enabled: proxmox_agent_info answers.
        web.agent = true;
        let before = web.config.clone();
        web.snapshots.push(Snapshot {
            name: "before-upgrade".into(),
            description: "Before the Debian 13 upgrade".into(),
            snaptime: epoch().saturating_sub(86_400 * 3),
            parent: None,
            config: before,
        });
        web.parent = Some("before-upgrade".into());
        web.pool = Some("prod".into());
        guests.insert(100, web);
        let mut db = qemu(101, "db01", 8192, 4, 100, "l26");
        // The agent is enabled but not installed inside: PVE says it is not running.
        db.extend([
            ("tags", "db;prod".into()),
            ("onboot", "1".into()),
            ("agent", "1".into()),
        ]);
        let mut db = vm("pve1", Power::Running, db);
        db.pool = Some("prod".into());
        guests.insert(101, db);
        let mut win = qemu(102, "win11", 8192, 4, 64, "win11");
        win.extend([
            ("vga", "qxl".into()),
            ("bios", "ovmf".into()),
            ("machine", "pc-q35-9.2".into()),
            (
                "efidisk0",
                "local-lvm:vm-102-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M".into(),
            ),
            (
                "tpmstate0",
                "local-lvm:vm-102-disk-2,size=4M,version=v2.0".into(),
            ),
        ]);
        guests.insert(102, vm("pve2", Power::Stopped, win));
        let mut tmpl = qemu(103, "debian13-tmpl", 2048, 2, 16, "l26");
        tmpl.extend([
            ("template", "1".into()),
            ("agent", "1".into()),
            ("ciuser", "debian".into()),
            ("ipconfig0", "ip=dhcp".into()),
            (
                "sshkeys",
                "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIDemoDemoDemoDemoDemoDemoDemoDemoDemoDemo0%20\
                 demo%40example"
                    .into(),
            ),
        ]);
        tmpl[8].1 = "local-lvm:base-103-disk-0,iothread=1,size=16G".into();
        tmpl[9].1 = "local-lvm:vm-103-cloudinit,media=cdrom".into();
        let mut tmpl = vm("pve2", Power::Stopped, tmpl);
        // A cloud image: its clones run the agent.
        tmpl.agent = true;
        guests.insert(103, tmpl);
        let mut broken = vm(
            "pve1",
            Power::Stopped,
            qemu(104, "broken-vm", 1024, 1, 8, "l26"),
        );
        broken.broken = true;
        guests.insert(104, broken);
        let ct = |vmid: u64, node: &str, power, name: &str, mem: u64, cores: u64, disk: u64| {
            let mut g = vm(
                node,
                power,
                vec![
                    ("hostname", name.to_string()),
                    ("memory", mem.to_string()),
                    ("swap", "512".to_string()),
                    ("cores", cores.to_string()),
                    ("ostype", "debian".to_string()),
                    ("arch", "amd64".to_string()),
                    ("unprivileged", "1".to_string()),
                    ("features", "nesting=1".to_string()),
                    ("rootfs", format!("local-lvm:vm-{vmid}-disk-0,size={disk}G")),
                    (
                        "net0",
                        format!(
                            "name=eth0,bridge=vmbr0,hwaddr={},ip=dhcp,type=veth",
                            mac(vmid)
                        ),
                    ),
                ],
            );
            g.kind = Kind::Lxc;
            g
        };
        guests.insert(200, ct(200, "pve1", Power::Running, "dns", 512, 1, 8));
        guests.insert(201, ct(201, "pve2", Power::Stopped, "build", 4096, 4, 32));
        let mut c = Cluster {
            guests,
            tasks: Vec::new(),
            files: Vec::new(),
            execs: BTreeMap::new(),
            boot: now - Duration::from_secs(86_400 * 12 + 3_721),
            next_pid: 0x1_A2B0,
            next_exec: 1000,
        };
        for (node, ..) in NODES {
            for (name, content, format, mib, vmid) in FILES {
                let home = c.guests.get(vmid).map(|g| g.node.as_str());
                if *vmid == 0 || home == Some(*node) {
                    c.files.push(File {
                        node: node.to_string(),
                        storage: "local".into(),
                        name: name.to_string(),
                        content: content.to_string(),
                        format: format.to_string(),
                        size: mib << 20,
                        vmid: *vmid,
                        ctime: FILES_CTIME,
                        guest: None,
                        protected: false,
                        notes: None,
                    });
                }
            }
        }
        c.history();
        c
    }

    /// Tasks that ended before the demo started: last night's backup, and a failed start of the
    /// broken VM a few hours ago (what `proxmox_node_task {errors: true}` finds).
    fn history(&mut self) {
        let now = epoch();
        let disk = "/dev/pve/vm-104-disk-0";
        let past = [
            (
                "pve1",
                "vzdump",
                "100",
                now.saturating_sub(13 * 3600),
                95,
                vec![
                    "INFO: starting new backup job: vzdump 100 --storage local --mode snapshot \
                     --compress zstd --node pve1"
                        .to_string(),
                    "INFO: Starting Backup of VM 100 (qemu)".into(),
                    "INFO: Finished Backup of VM 100 (00:01:35)".into(),
                    "INFO: Backup job finished successfully".into(),
                ],
                None,
            ),
            (
                "pve1",
                "qmstart",
                "104",
                now.saturating_sub(3 * 3600 + 1_234),
                2,
                vec![
                    "start VM 104 (broken-vm) on node 'pve1'".to_string(),
                    format!(
                        "kvm: -drive file={disk},if=none,id=drive-scsi0,format=raw: Could not \
                         open '{disk}': No such file or directory"
                    ),
                ],
                Some("start failed: QEMU exited with code 1".to_string()),
            ),
        ];
        for (node, kind, id, starttime, took, log, error) in past {
            self.next_pid += 1 + self.next_pid % 3;
            let pid = self.next_pid;
            let pstart = 0x0249_F000 + pid * 7;
            let upid = format!(
                "UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{id}:{TOKEN_ID}:"
            );
            self.tasks.push(Task {
                upid,
                node: node.to_string(),
                kind: kind.to_string(),
                id: id.to_string(),
                pid,
                pstart,
                starttime,
                ends: Instant::now(),
                endtime: Some(starttime + took),
                log,
                error,
                vmid: None,
                effect: None,
            });
        }
    }

    /// Finishes the tasks whose time has come and applies what they do.
    pub fn tick(&mut self) {
        let now = Instant::now();
        let mut done = Vec::new();
        for t in self.tasks.iter_mut().filter(|t| t.endtime.is_none()) {
            if now >= t.ends {
                t.endtime = Some(epoch());
                done.push((t.vmid, t.error.is_none(), t.effect.take()));
            }
        }
        for (vmid, ok, effect) in done {
            if let Some(g) = vmid.and_then(|v| self.guests.get_mut(&v)) {
                g.lock = None;
            }
            if let (true, Some(effect)) = (ok, effect) {
                effect(self);
            }
        }
        if self.tasks.len() > MAX_TASKS {
            let excess = self.tasks.len() - MAX_TASKS;
            let mut dropped = 0;
            self.tasks.retain(|t| {
                let drop = dropped < excess && t.endtime.is_some();
                dropped += usize::from(drop);
                !drop
            });
        }
    }

    /// Starts a task on `node` (holding guest `vmid` with `lock`, if given) and returns its UPID.
    /// It runs 1.5 to 3 seconds, logs `log`, then fails with `error` or applies `effect`.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        &mut self,
        node: &str,
        kind: &str,
        id: &str,
        vmid: Option<(u64, &str)>,
        log: Vec<String>,
        error: Option<String>,
        effect: Effect,
    ) -> String {
        self.next_pid += 1 + self.next_pid % 3;
        let pid = self.next_pid;
        let pstart = 0x0249_F000 + pid * 7;
        let starttime = epoch();
        let upid =
            format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{id}:{TOKEN_ID}:");
        if let Some(g) = vmid.and_then(|(v, _)| self.guests.get_mut(&v)) {
            g.lock = vmid.map(|(_, l)| l.to_string());
        }
        self.tasks.push(Task {
            upid: upid.clone(),
            node: node.to_string(),
            kind: kind.to_string(),
            id: id.to_string(),
            pid,
            pstart,
            starttime,
            ends: Instant::now() + Duration::from_millis(1500 + (pid * 397) % 1500),
            endtime: None,
            log,
            error,
            vmid: vmid.map(|(v, _)| v),
            effect: Some(effect),
        });
        upid
    }

    /// Volumes of `storage` on `node`: its files, then the guests' disks.
    pub fn volumes(&self, node: &str, storage: &str) -> Vec<Volume> {
        let mut out: Vec<Volume> = self
            .files
            .iter()
            .filter(|f| f.on(node, storage))
            .map(|f| Volume {
                volid: f.volid(),
                content: f.content.clone(),
                format: f.format.clone(),
                size: f.size,
                vmid: f.vmid,
                ctime: f.ctime,
                protected: f.protected,
                notes: f.notes.clone(),
            })
            .collect();
        let everywhere = shared(storage);
        for (vmid, g) in self
            .guests
            .iter()
            .filter(|(_, g)| everywhere || g.node == node)
        {
            for (_, st, volume, size, ..) in g.disks() {
                if st == storage {
                    let content = if g.kind == Kind::Lxc {
                        "rootdir"
                    } else {
                        "images"
                    };
                    let format = if volume.ends_with(".qcow2") {
                        "qcow2"
                    } else {
                        "raw"
                    };
                    out.push(Volume {
                        volid: format!("{st}:{volume}"),
                        content: content.into(),
                        format: format.into(),
                        size,
                        vmid: *vmid,
                        ctime: FILES_CTIME,
                        protected: false,
                        notes: None,
                    });
                }
            }
        }
        out
    }

    /// A pid for a command the agent of a VM runs.
    pub fn exec_pid(&mut self) -> u64 {
        self.next_exec += 1 + self.next_exec % 7;
        self.next_exec
    }
}

/// A stable, locally administered MAC address with Proxmox's prefix.
pub fn mac(vmid: u64) -> String {
    format!(
        "BC:24:11:{:02X}:{:02X}:{:02X}",
        (vmid >> 16) & 0xFF,
        (vmid >> 8) & 0xFF,
        vmid & 0xFF
    )
}
