//! The tool table: one declaration per tool. Types, ranges, enums, descriptions, the privilege,
//! whether a method writes or starts a task all come from the catalog when the table is built
//! ([`super::tools`]); a declaration only says which method, which of its parameters a tool shows,
//! and what it is for.

use proxmox_mcp::apidoc::HttpMethod::{self, Delete, Get, Post};

/// A group of tools switched on or off together (`--toolsets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Toolset {
    /// VMs and containers.
    Guests,
    /// Snapshots of VMs and containers.
    Snapshots,
    /// Storage: usage and content.
    Storage,
    /// Backups: run and list.
    Backups,
    /// A storage's content: list, delete, prune backups, download from a URL, upload a local
    /// file; storage definitions (not in the default toolsets).
    Content,
    /// Restore a backup to a guest, list and read files inside a backup (not in the default
    /// toolsets).
    Restore,
    /// Disks, mount points and NICs of VMs and containers (not in the default toolsets).
    Disks,
    /// The QEMU guest agent (not in the default toolsets).
    Agent,
    /// Consoles of VMs and containers: VNC, terminal, SPICE (not in the default toolsets).
    Console,
    /// A node's logs and services (not in the default toolsets).
    System,
    /// Actions on many guests at once (not in the default toolsets).
    Bulk,
    /// Templates, features and cloud-init of guests (not in the default toolsets).
    Provisioning,
    /// Guests' usage over time (not in the default toolsets).
    Metrics,
    /// Nodes.
    Nodes,
    /// Tasks (UPIDs).
    Tasks,
    /// The whole API through four generic tools.
    Api,
}

impl Toolset {
    /// Every toolset, in the order `tools` prints them.
    pub const ALL: [Toolset; 16] = [
        Self::Guests,
        Self::Snapshots,
        Self::Backups,
        Self::Storage,
        Self::Content,
        Self::Restore,
        Self::Disks,
        Self::Agent,
        Self::Console,
        Self::System,
        Self::Bulk,
        Self::Provisioning,
        Self::Metrics,
        Self::Nodes,
        Self::Tasks,
        Self::Api,
    ];

    /// The toolsets served when `--toolsets` is not given: what the everyday jobs need, within
    /// the 24 KB budget of `tools/list`.
    pub const DEFAULT: [Toolset; 7] = [
        Self::Guests,
        Self::Snapshots,
        Self::Backups,
        Self::Storage,
        Self::Nodes,
        Self::Tasks,
        Self::Api,
    ];

    /// The name used by `--toolsets`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Guests => "guests",
            Self::Snapshots => "snapshots",
            Self::Storage => "storage",
            Self::Backups => "backups",
            Self::Content => "content",
            Self::Restore => "restore",
            Self::Disks => "disks",
            Self::Agent => "agent",
            Self::Console => "console",
            Self::System => "system",
            Self::Bulk => "bulk",
            Self::Provisioning => "provisioning",
            Self::Metrics => "metrics",
            Self::Nodes => "nodes",
            Self::Tasks => "tasks",
            Self::Api => "api",
        }
    }

    /// Parses a `--toolsets` name.
    pub fn parse(name: &str) -> Option<Toolset> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// What a tool does when called.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// One method at `/nodes/{node}/qemu/{vmid}SUFFIX` for VMs and `/nodes/{node}/lxc/{vmid}SUFFIX`
    /// for containers; the server finds `node` and the type from the VMID when not given.
    Guest {
        /// HTTP method.
        method: HttpMethod,
        /// What follows `{vmid}` in the path (`/status/start`, or empty).
        suffix: &'static str,
        /// The method's parameters the tool shows (besides the path's).
        expose: &'static [&'static str],
        /// When the method returns a list: the key it is wrapped in (`{"snapshots": [...]}`).
        wrap: &'static str,
        /// The method is a VM's only (cloud-init, the agent): a container's VMID is refused.
        vm_only: bool,
    },
    /// One method at a fixed path template.
    Method {
        /// HTTP method.
        method: HttpMethod,
        /// Path template.
        path: &'static str,
        /// The method's parameters the tool shows (besides the path's).
        expose: &'static [&'static str],
        /// When the method returns a list: the key it is wrapped in (`{"nodes": [...]}`).
        wrap: &'static str,
    },
    /// Hand-written behaviour around one or more methods (see `super::custom`).
    Custom(Custom),
}

/// Tools whose behaviour is more than one method call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Custom {
    /// `/cluster/resources` filtered, projected and limited.
    GuestList,
    /// Current configuration and pending changes (`/pending`).
    GuestConfig,
    /// Change a configuration with the digest read just before.
    ConfigUpdate,
    /// Every storage with its usage.
    StorageList,
    /// Back a guest up now (vzdump on its node).
    Backup,
    /// Create a VM.
    CreateVm,
    /// What a VM's guest agent says about it.
    AgentInfo,
    /// The last lines of a node's syslog or journal.
    NodeLog,
    /// One action on every guest a selector matches.
    Bulk,
    /// A command run in a VM through its guest agent.
    AgentExec,
    /// A command run in a container with `pct exec` over SSH.
    LxcExec,
    /// A file in a VM read through its guest agent.
    AgentFileRead,
    /// A file in a VM written through its guest agent.
    AgentFileWrite,
    /// One action of a VM's guest agent (the tool's name says which).
    AgentCommand,
    /// A console ticket of a VM or container, written to a private file.
    Console,
    /// Create a container.
    CreateLxc,
    /// Grow a disk.
    DiskResize,
    /// Move a disk to another storage.
    DiskMove,
    /// Detach a disk, or delete it for good.
    DiskDetach,
    /// Add a disk or mount point.
    DiskAdd,
    /// Add a NIC.
    NicAdd,
    /// Remove a NIC.
    NicRemove,
    /// Backups on every storage that holds them.
    BackupList,
    /// A guest's usage over time, summarised.
    GuestMetrics,
    /// Storage definitions (`storage.cfg`).
    StorageConfig,
    /// A storage's volumes.
    StorageContent,
    /// Delete a volume.
    ContentDelete,
    /// Prune backups by retention.
    BackupPrune,
    /// Have PVE download a file from a URL.
    DownloadUrl,
    /// Upload a local file.
    Upload,
    /// Restore a backup to a guest.
    BackupRestore,
    /// List files inside a backup.
    FileRestoreList,
    /// Read one file inside a backup.
    FileRestoreRead,
    /// A node's tasks, or one task's status.
    NodeTask,
    /// A task's log.
    TaskLog,
    /// Wait for a task.
    TaskWait,
    /// Find API methods by words.
    ApiSearch,
    /// One API method's parameters and returns.
    ApiDescribe,
    /// Any GET.
    ApiGet,
    /// Any POST, PUT or DELETE.
    ApiCall,
    /// The configured servers (listed only when there are several).
    Servers,
}

/// One tool.
#[derive(Debug, Clone, Copy)]
pub struct ToolDecl {
    /// The tool's name.
    pub name: &'static str,
    /// Its toolset.
    pub toolset: Toolset,
    /// What it is for, in one sentence (the privilege and task behaviour are added from the
    /// catalog).
    pub summary: &'static str,
    /// What it does.
    pub action: Action,
}

/// A tool of one method at `/nodes/{node}/qemu/{vmid}SUFFIX` and its `lxc` twin.
const fn guest_in(
    toolset: Toolset,
    wrap: &'static str,
    name: &'static str,
    summary: &'static str,
    spec: (HttpMethod, &'static str, &'static [&'static str]),
) -> ToolDecl {
    guest_decl(toolset, wrap, name, summary, spec, false)
}

/// A tool of one method at `/nodes/{node}/qemu/{vmid}SUFFIX` that containers lack.
const fn vm_in(
    toolset: Toolset,
    name: &'static str,
    summary: &'static str,
    spec: (HttpMethod, &'static str, &'static [&'static str]),
) -> ToolDecl {
    guest_decl(toolset, "data", name, summary, spec, true)
}

const fn guest_decl(
    toolset: Toolset,
    wrap: &'static str,
    name: &'static str,
    summary: &'static str,
    (method, suffix, expose): (HttpMethod, &'static str, &'static [&'static str]),
    vm_only: bool,
) -> ToolDecl {
    ToolDecl {
        name,
        toolset,
        summary,
        action: Action::Guest {
            method,
            suffix,
            expose,
            wrap,
            vm_only,
        },
    }
}

const fn guest(
    name: &'static str,
    summary: &'static str,
    method: HttpMethod,
    suffix: &'static str,
    expose: &'static [&'static str],
) -> ToolDecl {
    guest_in(
        Toolset::Guests,
        "data",
        name,
        summary,
        (method, suffix, expose),
    )
}

const fn snapshot(
    name: &'static str,
    summary: &'static str,
    method: HttpMethod,
    suffix: &'static str,
    expose: &'static [&'static str],
) -> ToolDecl {
    guest_in(
        Toolset::Snapshots,
        "snapshots",
        name,
        summary,
        (method, suffix, expose),
    )
}

/// A tool of one method of a node's services.
const fn service(
    name: &'static str,
    summary: &'static str,
    method: HttpMethod,
    path: &'static str,
    wrap: &'static str,
) -> ToolDecl {
    ToolDecl {
        name,
        toolset: Toolset::System,
        summary,
        action: Action::Method {
            method,
            path,
            expose: &[],
            wrap,
        },
    }
}

const fn custom(
    name: &'static str,
    toolset: Toolset,
    summary: &'static str,
    c: Custom,
) -> ToolDecl {
    ToolDecl {
        name,
        toolset,
        summary,
        action: Action::Custom(c),
    }
}

/// Every tool, in `tools/list` order.
pub const TOOLS: &[ToolDecl] = &[
    custom(
        "proxmox_servers",
        Toolset::Nodes,
        "List the configured Proxmox servers with their PVE version and whether each answers.",
        Custom::Servers,
    ),
    custom(
        "proxmox_guest_list",
        Toolset::Guests,
        "List the cluster's VMs and containers.",
        Custom::GuestList,
    ),
    guest(
        "proxmox_guest_status",
        "Current status of a VM or container.",
        Get,
        "/status/current",
        &[],
    ),
    custom(
        "proxmox_guest_config",
        Toolset::Guests,
        "Configuration of a VM or container, with pending changes.",
        Custom::GuestConfig,
    ),
    custom(
        "proxmox_guest_config_update",
        Toolset::Guests,
        "Change a VM's or container's configuration: set or delete keys, add or remove tags.",
        Custom::ConfigUpdate,
    ),
    guest(
        "proxmox_guest_start",
        "Start a VM or container.",
        Post,
        "/status/start",
        &[],
    ),
    guest(
        "proxmox_guest_shutdown",
        "Shut a VM or container down cleanly (ACPI or init).",
        Post,
        "/status/shutdown",
        &["timeout", "forceStop"],
    ),
    guest(
        "proxmox_guest_stop",
        "Stop a VM or container at once, like pulling the plug.",
        Post,
        "/status/stop",
        &[],
    ),
    guest(
        "proxmox_guest_reboot",
        "Reboot a VM or container cleanly.",
        Post,
        "/status/reboot",
        &[],
    ),
    guest(
        "proxmox_guest_pause",
        "Pause (suspend) a VM or container.",
        Post,
        "/status/suspend",
        &[],
    ),
    guest(
        "proxmox_guest_resume",
        "Resume a paused VM or container.",
        Post,
        "/status/resume",
        &[],
    ),
    guest(
        "proxmox_guest_delete",
        "Destroy a VM or container and its disks.",
        Delete,
        "",
        &["purge"],
    ),
    custom(
        "proxmox_create_vm",
        Toolset::Guests,
        "Create a VM: disks, NICs, ISO, the next free VMID unless given.",
        Custom::CreateVm,
    ),
    custom(
        "proxmox_create_lxc",
        Toolset::Guests,
        "Create a container from a template: root disk, NICs, the next free VMID unless given.",
        Custom::CreateLxc,
    ),
    guest(
        "proxmox_guest_clone",
        "Clone a VM or container (a template makes a linked clone unless `full`).",
        Post,
        "/clone",
        &["newid", "name", "target", "full", "storage"],
    ),
    guest(
        "proxmox_guest_migrate",
        "Move a VM or container to another node of the cluster.",
        Post,
        "/migrate",
        &["target", "online", "with-local-disks"],
    ),
    ToolDecl {
        name: "proxmox_get_next_vmid",
        toolset: Toolset::Guests,
        summary: "The next free VMID of the cluster.",
        action: Action::Method {
            method: Get,
            path: "/cluster/nextid",
            expose: &[],
            wrap: "vmid",
        },
    },
    snapshot(
        "proxmox_guest_snapshot_list",
        "List a VM's or container's snapshots (`current` is the running state).",
        Get,
        "/snapshot",
        &[],
    ),
    snapshot(
        "proxmox_guest_snapshot_create",
        "Take a snapshot of a VM or container (`vmstate` also saves a VM's RAM).",
        Post,
        "/snapshot",
        &["snapname", "description", "vmstate"],
    ),
    snapshot(
        "proxmox_guest_snapshot_rollback",
        "Roll a VM or container back to a snapshot; what changed since is lost.",
        Post,
        "/snapshot/{snapname}/rollback",
        &["start"],
    ),
    snapshot(
        "proxmox_guest_snapshot_delete",
        "Delete a snapshot of a VM or container.",
        Delete,
        "/snapshot/{snapname}",
        &["force"],
    ),
    custom(
        "proxmox_guest_backup",
        Toolset::Backups,
        "Back a VM or container up now (vzdump on its node).",
        Custom::Backup,
    ),
    custom(
        "proxmox_backup_list",
        Toolset::Backups,
        "Backups on every storage that holds them (PBS included), newest first.",
        Custom::BackupList,
    ),
    custom(
        "proxmox_storage_config",
        Toolset::Content,
        "Storage definitions: type, content types, shared, nodes, paths; one storage or all.",
        Custom::StorageConfig,
    ),
    custom(
        "proxmox_storage_content",
        Toolset::Content,
        "Volumes on a storage (ISOs, templates, backups, disks), newest first, sizes in bytes.",
        Custom::StorageContent,
    ),
    custom(
        "proxmox_storage_content_delete",
        Toolset::Content,
        "Delete a volume from a storage (backup, ISO, template, or a disk no guest uses).",
        Custom::ContentDelete,
    ),
    custom(
        "proxmox_backup_prune",
        Toolset::Content,
        "Delete a storage's backups beyond a retention (keep_last, keep_daily, ...).",
        Custom::BackupPrune,
    ),
    custom(
        "proxmox_storage_download_url",
        Toolset::Content,
        "Have PVE download an ISO, container template or import file from a URL to a storage.",
        Custom::DownloadUrl,
    ),
    custom(
        "proxmox_storage_upload",
        Toolset::Content,
        "Upload a file from the server's upload directory to a storage (ISO, template, OVA).",
        Custom::Upload,
    ),
    custom(
        "proxmox_backup_restore",
        Toolset::Restore,
        "Restore a backup to a new VMID (next free when absent), or over its guest with `force`.",
        Custom::BackupRestore,
    ),
    custom(
        "proxmox_file_restore_list",
        Toolset::Restore,
        "List files and directories inside a PBS backup at a path.",
        Custom::FileRestoreList,
    ),
    custom(
        "proxmox_file_restore_read",
        Toolset::Restore,
        "Read one file inside a PBS backup (at most 64 KiB; binary as base64).",
        Custom::FileRestoreRead,
    ),
    custom(
        "proxmox_guest_disk_resize",
        Toolset::Disks,
        "Grow a VM's disk or a container's mount point (PVE cannot shrink).",
        Custom::DiskResize,
    ),
    custom(
        "proxmox_guest_disk_move",
        Toolset::Disks,
        "Move a VM's disk or a container's mount point to another storage.",
        Custom::DiskMove,
    ),
    custom(
        "proxmox_guest_disk_detach",
        Toolset::Disks,
        "Detach a disk or mount point (kept as unusedN), or delete it for good with `destroy`.",
        Custom::DiskDetach,
    ),
    custom(
        "proxmox_guest_disk_add",
        Toolset::Disks,
        "Add a new disk to a VM (next free scsiN) or a mount point to a container (next free mpN).",
        Custom::DiskAdd,
    ),
    custom(
        "proxmox_guest_nic_add",
        Toolset::Disks,
        "Add a NIC to a VM or container at the next free netN.",
        Custom::NicAdd,
    ),
    custom(
        "proxmox_guest_nic_remove",
        Toolset::Disks,
        "Remove a NIC (netN) from a VM or container.",
        Custom::NicRemove,
    ),
    custom(
        "proxmox_agent_info",
        Toolset::Agent,
        "What a VM's guest agent says: OS, hostname, IP addresses, filesystems, users, time, vCPUs, memory, fsfreeze state.",
        Custom::AgentInfo,
    ),
    custom(
        "proxmox_agent_exec",
        Toolset::Agent,
        "Run a command in a VM through its guest agent; waits for exit code, stdout and stderr.",
        Custom::AgentExec,
    ),
    custom(
        "proxmox_lxc_exec",
        Toolset::Agent,
        "Run a command in a container (pct exec on its node over SSH, when set up); waits for exit code, stdout and stderr.",
        Custom::LxcExec,
    ),
    custom(
        "proxmox_agent_file_read",
        Toolset::Agent,
        "Read a file in a VM through its guest agent: up to 64 KiB from `offset`, binary as base64.",
        Custom::AgentFileRead,
    ),
    custom(
        "proxmox_agent_file_write",
        Toolset::Agent,
        "Write a text file in a VM through its guest agent, replacing it.",
        Custom::AgentFileWrite,
    ),
    custom(
        "proxmox_agent_fsfreeze",
        Toolset::Agent,
        "Freeze a VM's filesystems through its guest agent (writes wait until thawed), or thaw them.",
        Custom::AgentCommand,
    ),
    custom(
        "proxmox_agent_fstrim",
        Toolset::Agent,
        "Discard the unused blocks of a VM's filesystems through its guest agent.",
        Custom::AgentCommand,
    ),
    custom(
        "proxmox_agent_shutdown",
        Toolset::Agent,
        "Shut a VM down from inside, through its guest agent.",
        Custom::AgentCommand,
    ),
    custom(
        "proxmox_agent_suspend",
        Toolset::Agent,
        "Suspend a VM through its guest agent: to RAM, to disk, or hybrid.",
        Custom::AgentCommand,
    ),
    custom(
        "proxmox_agent_set_password",
        Toolset::Agent,
        "Set a user's password inside a VM through its guest agent.",
        Custom::AgentCommand,
    ),
    custom(
        "proxmox_guest_console",
        Toolset::Console,
        "Open a VNC, terminal or SPICE console of a VM or container: the web console URL, and the ticket in a private file on the machine this server runs on.",
        Custom::Console,
    ),
    custom(
        "proxmox_storage_list",
        Toolset::Storage,
        "Every storage of every node with its usage (one request).",
        Custom::StorageList,
    ),
    ToolDecl {
        name: "proxmox_node_list",
        toolset: Toolset::Nodes,
        summary: "List the cluster's nodes with status and load.",
        action: Action::Method {
            method: Get,
            path: "/nodes",
            expose: &[],
            wrap: "nodes",
        },
    },
    ToolDecl {
        name: "proxmox_node_status",
        toolset: Toolset::Nodes,
        summary: "Status of one node: CPU, memory, uptime, versions.",
        action: Action::Method {
            method: Get,
            path: "/nodes/{node}/status",
            expose: &[],
            wrap: "",
        },
    },
    custom(
        "proxmox_bulk_start",
        Toolset::Bulk,
        "Start every guest a selector matches, a few at a time.",
        Custom::Bulk,
    ),
    custom(
        "proxmox_bulk_shutdown",
        Toolset::Bulk,
        "Shut down every guest a selector matches, a few at a time.",
        Custom::Bulk,
    ),
    custom(
        "proxmox_bulk_stop",
        Toolset::Bulk,
        "Stop at once every guest a selector matches, a few at a time.",
        Custom::Bulk,
    ),
    custom(
        "proxmox_bulk_migrate",
        Toolset::Bulk,
        "Migrate every guest a selector matches to one node, a few at a time.",
        Custom::Bulk,
    ),
    ToolDecl {
        name: "proxmox_node_startall",
        toolset: Toolset::Bulk,
        summary: "Start a node's guests marked onboot, in their startup order (PVE's own startall).",
        action: Action::Method {
            method: Post,
            path: "/nodes/{node}/startall",
            expose: &["vms", "force"],
            wrap: "",
        },
    },
    ToolDecl {
        name: "proxmox_node_stopall",
        toolset: Toolset::Bulk,
        summary: "Stop all of a node's guests in reverse startup order (PVE's own stopall).",
        action: Action::Method {
            method: Post,
            path: "/nodes/{node}/stopall",
            expose: &["vms", "timeout", "force-stop"],
            wrap: "",
        },
    },
    ToolDecl {
        name: "proxmox_node_migrateall",
        toolset: Toolset::Bulk,
        summary: "Migrate all of a node's guests to another node (PVE's own migrateall).",
        action: Action::Method {
            method: Post,
            path: "/nodes/{node}/migrateall",
            expose: &["target", "vms", "maxworkers", "with-local-disks"],
            wrap: "",
        },
    },
    guest_in(
        Toolset::Provisioning,
        "data",
        "proxmox_guest_template",
        "Turn a stopped VM or container into a template (it can then only be cloned).",
        (Post, "/template", &[]),
    ),
    guest_in(
        Toolset::Provisioning,
        "data",
        "proxmox_guest_feature",
        "Whether a VM or container can be snapshotted, cloned or copied now.",
        (Get, "/feature", &["feature", "snapname"]),
    ),
    vm_in(
        Toolset::Provisioning,
        "proxmox_cloudinit",
        "A VM's cloud-init values: what the drive holds and what changes on regeneration.",
        (Get, "/cloudinit", &[]),
    ),
    vm_in(
        Toolset::Provisioning,
        "proxmox_cloudinit_dump",
        "The cloud-init user, network or meta data a VM's drive gets, as YAML.",
        (Get, "/cloudinit/dump", &["type"]),
    ),
    vm_in(
        Toolset::Provisioning,
        "proxmox_cloudinit_regenerate",
        "Rebuild a VM's cloud-init drive from its configuration.",
        (HttpMethod::Put, "/cloudinit", &[]),
    ),
    custom(
        "proxmox_guest_metrics",
        Toolset::Metrics,
        "A guest's CPU, memory, disk and network use over the last hour, day, week, month or year: min, mean, max, last.",
        Custom::GuestMetrics,
    ),
    custom(
        "proxmox_node_log",
        Toolset::System,
        "The last lines of a node's syslog or journal, optionally of one service and since a time.",
        Custom::NodeLog,
    ),
    service(
        "proxmox_node_service_list",
        "A node's services and their state.",
        Get,
        "/nodes/{node}/services",
        "services",
    ),
    service(
        "proxmox_node_service_start",
        "Start a service of a node.",
        Post,
        "/nodes/{node}/services/{service}/start",
        "data",
    ),
    service(
        "proxmox_node_service_stop",
        "Stop a service of a node.",
        Post,
        "/nodes/{node}/services/{service}/stop",
        "data",
    ),
    service(
        "proxmox_node_service_restart",
        "Restart a service of a node.",
        Post,
        "/nodes/{node}/services/{service}/restart",
        "data",
    ),
    custom(
        "proxmox_node_task",
        Toolset::Tasks,
        "Recent tasks of every node (or one), newest first; one task's status when `upid` is given.",
        Custom::NodeTask,
    ),
    custom(
        "proxmox_task_log",
        Toolset::Tasks,
        "Lines of a task's log.",
        Custom::TaskLog,
    ),
    custom(
        "proxmox_task_wait",
        Toolset::Tasks,
        "Wait for a task to end; on failure, its last log lines.",
        Custom::TaskWait,
    ),
    custom(
        "proxmox_api_search",
        Toolset::Api,
        "Find PVE API methods by words.",
        Custom::ApiSearch,
    ),
    custom(
        "proxmox_api_describe",
        Toolset::Api,
        "Parameters and returns of one API method.",
        Custom::ApiDescribe,
    ),
    custom(
        "proxmox_api_get",
        Toolset::Api,
        "Call any GET method of the PVE API.",
        Custom::ApiGet,
    ),
    custom(
        "proxmox_api_call",
        Toolset::Api,
        "Call any POST, PUT or DELETE method of the PVE API.",
        Custom::ApiCall,
    ),
];
