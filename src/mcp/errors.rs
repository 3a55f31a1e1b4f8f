//! SDK errors as text an assistant can act on: the cause, and the next step.

use proxmox_mcp::{Client, Error};

/// What to do about a guest locked by another operation.
pub const LOCKED: &str = "The guest is locked by another operation (backup, migration, \
snapshot...): check its tasks with proxmox_node_task and try again when it ends.";

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
            let needs = required
                .as_deref()
                .map(|r| format!(" lacks {r}"))
                .unwrap_or_else(|| " lacks a privilege".to_string());
            format!(
                "permission denied (403): {}{needs}. PVE said: {message}. An administrator can \
                 grant a role that holds it (pveum acl modify).",
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
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::explain;
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
