//! SDK errors as text an assistant can act on: the cause, and the next step.

use proxmox_mcp::{Client, Error};

/// What to do about a guest locked by another operation.
pub const LOCKED: &str = "The guest is locked by another operation (backup, migration, \
snapshot...): check its tasks with proxmox_node_task and try again when it ends.";

/// A built-in PVE role that holds a privilege (PVE's privilege groups: `PVE<Group>User` holds
/// the group's user privileges, `PVE<Group>Admin` its admin ones, `PVEAuditor` every `.Audit`;
/// `Sys.PowerMgmt`, `Sys.Modify` and a few more only `Administrator`).
const ROLES: &[(&str, &str)] = &[
    ("VM.PowerMgmt", "PVEVMUser"),
    ("VM.Console", "PVEVMUser"),
    ("VM.Backup", "PVEVMUser"),
    ("VM.Config.CDROM", "PVEVMUser"),
    ("VM.Config.Cloudinit", "PVEVMUser"),
    ("VM.Audit", "PVEAuditor"),
    ("VM.", "PVEVMAdmin"),
    ("Datastore.AllocateSpace", "PVEDatastoreUser"),
    ("Datastore.Audit", "PVEAuditor"),
    ("Datastore.", "PVEDatastoreAdmin"),
    ("Sys.Audit", "PVEAuditor"),
    ("Sys.Console", "PVESysAdmin"),
    ("Sys.Syslog", "PVESysAdmin"),
    ("SDN.Use", "PVESDNUser"),
    ("SDN.Audit", "PVEAuditor"),
    ("SDN.", "PVESDNAdmin"),
    ("Pool.Audit", "PVEAuditor"),
    ("Pool.", "PVEPoolAdmin"),
    ("User.Modify", "PVEUserAdmin"),
    ("Group.Allocate", "PVEUserAdmin"),
    ("Realm.AllocateUser", "PVEUserAdmin"),
    ("Mapping.Use", "PVEMappingUser"),
    ("Mapping.Audit", "PVEAuditor"),
    ("Mapping.", "PVEMappingAdmin"),
];

/// The built-in role that grants `privilege` (exact names first, then the group's).
pub fn role_for(privilege: &str) -> &'static str {
    ROLES
        .iter()
        .find(|(p, _)| *p == privilege)
        .or_else(|| {
            ROLES
                .iter()
                .find(|(p, _)| p.ends_with('.') && privilege.starts_with(p))
        })
        .map_or("Administrator", |(_, role)| role)
}

/// What an administrator grants so that `privs` (all of them, or one when `any`) are held on
/// `path`: "grant PVEVMUser (or a role with VM.PowerMgmt) on /vms/101".
pub fn grant(privs: &[String], any: bool, path: &str) -> String {
    let mut roles: Vec<&str> = privs.iter().map(|p| role_for(p)).collect();
    roles.dedup();
    let role = match roles.as_slice() {
        [one] => *one,
        _ if any => roles[0],
        _ if roles.contains(&"Administrator") => "Administrator",
        _ => "PVEAdmin",
    };
    let with = match (privs, any) {
        ([one], _) => one.clone(),
        (_, true) => format!("one of {}", privs.join(", ")),
        (_, false) => privs.join(", "),
    };
    format!("grant {role} (or a role with {with}) on {path}")
}

/// The path and privilege PVE names in a 403 (`Permission check failed (/vms/101, VM.PowerMgmt)`)
/// or, failing that, the first the schema names (`VM.PowerMgmt on /vms/{vmid}`).
fn refused(message: &str, required: Option<&str>) -> Option<(String, String)> {
    let inner = message
        .rfind("(/")
        .and_then(|i| message[i + 1..].split_once(')'))
        .map(|(inner, _)| inner);
    if let Some((path, privilege)) = inner.and_then(|i| i.split_once(", "))
        && !privilege.contains(' ')
    {
        return Some((path.to_string(), privilege.to_string()));
    }
    let r = required?;
    let (privilege, path) = r.trim_start_matches('(').split_once(" on ")?;
    let privilege = privilege.split(' ').next_back()?;
    let path = path.split([' ', ')']).next()?;
    Some((path.to_string(), privilege.to_string()))
}

/// The text of a failed call.
pub fn explain(e: &Error, client: &Client) -> String {
    let who = || {
        if client.uses_token() {
            format!("the token {}", client.principal())
        } else {
            format!("the user {}", client.principal())
        }
    };
    match e {
        Error::Forbidden { message, required } => {
            // What PVE named, else the schema's rule (not its "any authenticated user").
            let named = refused(message, required.as_deref());
            let needs = match (&named, required.as_deref()) {
                (Some((path, privilege)), _) => format!(" lacks {privilege} on {path}"),
                (None, Some(r)) if r.contains(" on ") => format!(" lacks {r}"),
                _ => " lacks a privilege".to_string(),
            };
            let remedy = match named {
                Some((path, privilege)) => grant(&[privilege], false, &path),
                None => "grant a role that holds it on the object's path".to_string(),
            };
            format!(
                "permission denied (403): {}{needs}. PVE said: {message}. An administrator can \
                 {remedy} (Datacenter → Permissions in the web interface).",
                who()
            )
        }
        Error::TokenNotAllowed { method } => format!(
            "{method} refuses API tokens (allowtoken: 0), so it was not sent. Run the server with \
             PROXMOX_USER and PROXMOX_PASSWORD (ticket login) to use it."
        ),
        Error::Unauthorized { .. } => format!(
            "{e}. The server authenticates as {}; fix PROXMOX_TOKEN (or PROXMOX_USER and \
             PROXMOX_PASSWORD) and restart it.",
            client.principal()
        ),
        Error::Conflict { .. } => format!(
            "{e}. Someone changed the configuration after it was read: read it again with \
             proxmox_guest_config (its answer carries the new digest), check that the change \
             still makes sense, and send it again with that digest."
        ),
        Error::Server { message, .. } if message.contains("locked") => format!("{e}. {LOCKED}"),
        Error::InvalidParameter { .. } => {
            format!("{e}. Nothing was sent; fix the argument and call again.")
        }
        Error::Unsupported { method, .. } if method.ends_with("/upload") => format!(
            "{method} carries a file, which a generic call cannot send. Nothing was sent. Upload \
             a file from the server's upload directory with proxmox_storage_upload (toolset \
             content), or have PVE fetch it with proxmox_storage_download_url."
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{explain, grant, role_for};

    #[test]
    fn a_403_names_the_privilege_the_path_and_a_role_never_a_command() {
        let client = Client::builder("pve")
            .token("bob@pve!ro=00000000-0000-0000-0000-000000000000")
            .unwrap()
            .build()
            .unwrap();
        let e = Error::Forbidden {
            message: "Permission check failed (/vms/101, VM.PowerMgmt)".into(),
            required: Some("VM.PowerMgmt on /vms/{vmid}".into()),
        };
        let text = explain(&e, &client);
        assert!(
            text.contains("grant PVEVMUser (or a role with VM.PowerMgmt) on /vms/101"),
            "{text}"
        );
        assert!(!text.contains("pveum"), "{text}");
        // Without PVE's path, the schema's template.
        let e = Error::Forbidden {
            message: "Permission check failed".into(),
            required: Some("Sys.Modify on /nodes/{node}".into()),
        };
        let text = explain(&e, &client);
        assert!(
            text.contains("grant Administrator (or a role with Sys.Modify) on /nodes/{node}"),
            "{text}"
        );
        assert_eq!(role_for("VM.Allocate"), "PVEVMAdmin");
        assert_eq!(role_for("Datastore.AllocateSpace"), "PVEDatastoreUser");
        assert_eq!(role_for("SDN.Use"), "PVESDNUser");
        assert_eq!(
            grant(
                &["VM.Allocate".into(), "Datastore.AllocateSpace".into()],
                false,
                "/"
            ),
            "grant PVEAdmin (or a role with VM.Allocate, Datastore.AllocateSpace) on /"
        );
    }
    use proxmox_mcp::{Client, Error};

    #[test]
    fn a_conflict_points_to_reading_the_config_again() {
        let client = Client::builder("pve")
            .token("root@pam!mcp=00000000-0000-0000-0000-000000000000")
            .unwrap()
            .build()
            .unwrap();
        let e = Error::Conflict {
            message: "detected modified configuration - file changed by other user? Try again."
                .to_string(),
        };
        let text = explain(&e, &client);
        assert!(text.contains("proxmox_guest_config"), "{text}");
        assert!(text.contains("digest"), "{text}");
        assert!(!text.contains("00000000-0000"), "{text}");
    }
}
