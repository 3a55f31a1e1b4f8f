//! `proxmox_storage_upload`: a file on the machine the server runs on, sent to a storage.
//!
//! The tool reads local files, so a model could use it to carry any file the server can read to
//! PVE. It therefore reads only under one directory the operator names (`upload_dir`,
//! `PROXMOX_MCP_UPLOAD_DIR`); without it the tool sends nothing. The path is made canonical
//! (`..` and symbolic links resolved) and must stay inside that directory; only regular files
//! are sent, and only with the extension of their content type (an ISO image ends in .iso or
//! .img, a container template in .tar.zst and the like, an import file in .ova). The SHA-256 is
//! computed first and sent as `checksum`, so PVE verifies what it received; the file itself is
//! streamed ([`proxmox_mcp::client::UploadFile`]).

use std::path::{Path, PathBuf};

use proxmox_mcp::client::UploadFile;
use serde_json::{Map, Value, json};

use super::content::{check_name, content_for, node_of, readable};
use super::input::{self, text};
use super::send::{Body, Call, Outcome, send_with};

/// Why the tool is off, and how an operator turns it on.
pub const OFF: &str = "proxmox_storage_upload is off: it reads files on the machine this server \
runs on, so it only reads files under a directory the operator names. Set PROXMOX_MCP_UPLOAD_DIR \
(or `upload_dir` in the configuration file) to that directory and restart the server. To put a \
file from the web on a storage, proxmox_storage_download_url has PVE fetch it. Nothing was sent.";

/// The file `given` names inside `root`: canonical, inside `root` (also canonical), a regular
/// file; else an error that says which rule it breaks.
pub fn resolve(root: &Path, given: &str) -> Result<PathBuf, String> {
    let root = std::fs::canonicalize(root).map_err(|e| {
        format!(
            "the upload directory {} cannot be read ({}): an operator fixes \
             PROXMOX_MCP_UPLOAD_DIR (or `upload_dir` in the configuration file) and restarts \
             the server. Nothing was sent.",
            root.display(),
            e.kind()
        )
    })?;
    let p = Path::new(given);
    let candidate = if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    };
    let outside = || {
        format!(
            "`path` {given} is outside the upload directory {} (after `..` and symbolic links \
             are followed): this tool only sends regular files under it. Put the file there. \
             Nothing was sent.",
            root.display()
        )
    };
    // Outside by its words (`..`): refused before the file system is asked, so the answer says
    // nothing about files outside.
    if !lexical(&candidate).starts_with(&root) {
        return Err(outside());
    }
    let file = match std::fs::canonicalize(&candidate) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "no file `{given}` in the upload directory {}: give a path relative to it (or \
                 absolute, inside it). Nothing was sent.",
                root.display()
            ));
        }
        Err(_) => return Err(outside()),
    };
    if !file.starts_with(&root) {
        return Err(outside());
    }
    let meta = std::fs::metadata(&file).map_err(|_| outside())?;
    if !meta.is_file() {
        return Err(format!(
            "`path` {given} is not a regular file (a directory, device or socket): this tool \
             only sends regular files from the upload directory. Nothing was sent."
        ));
    }
    Ok(file)
}

/// `path` with `.` and `..` resolved by their words alone (no symbolic link is followed).
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `proxmox_storage_upload`.
pub async fn upload(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let Some((root, _)) = call.state.upload_dir.clone() else {
        return Err(OFF.to_string());
    };
    let wait = input::take_wait(&mut args);
    let given = text(&args, "path").unwrap_or_default();
    let path = resolve(&root, &given)?;
    let local_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    let filename = text(&args, "filename").unwrap_or_else(|| local_name.clone());
    let content = content_for(&args, &filename)?;
    check_name(&content, &local_name, "the local file")?;
    check_name(&content, &filename, "filename")?;
    let storage = text(&args, "storage").unwrap_or_default();
    let node = node_of(call, &storage, text(&args, "node"), true).await?;
    let file = UploadFile::open(&path)
        .await
        .map_err(|e| format!("{e}. Nothing was sent."))?;
    let mut a = Map::new();
    a.insert("node".into(), json!(node));
    a.insert("storage".into(), json!(storage));
    a.insert("content".into(), json!(content));
    a.insert("filename".into(), json!(filename));
    // PVE verifies the checksum before it keeps the file; a dry run does not read the file.
    let sum = if call.dry_run {
        None
    } else {
        let s = file
            .sha256()
            .await
            .map_err(|e| format!("{e}. Nothing was sent."))?;
        a.insert("checksum".into(), json!(s));
        a.insert("checksum-algorithm".into(), json!("sha256"));
        Some(s)
    };
    call.target = Some(format!(
        "{filename} ({}) to storage {storage} on {node}",
        readable(file.len())
    ));
    let body = Body::File {
        field: "filename",
        file: &file,
    };
    // A client that cancels stops the upload (PVE drops a partial one).
    let sending = send_with(call, call.tool.endpoints[0], a, wait, "data", body);
    let mut out = tokio::select! {
        out = sending => out?,
        _ = call.ctx.ct.cancelled() => {
            return Err(format!(
                "the client cancelled: the upload of {filename} stopped before PVE answered; \
                 check proxmox_storage_content before sending it again"
            ));
        }
    };
    out["volid"] = json!(format!("{storage}:{content}/{filename}"));
    out["bytes"] = json!(file.len());
    out["file"] = json!(path.display().to_string());
    match sum {
        Some(s) => out["sha256"] = json!(s),
        None => {
            out["checksum"] = json!(
                "the SHA-256 is computed when the upload runs and sent as checksum; PVE verifies it"
            )
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn only_regular_files_inside_the_directory() {
        let base = std::env::temp_dir().join(format!("pmcp-upload-resolve-{}", std::process::id()));
        let root = base.join("up");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.iso"), b"x").unwrap();
        std::fs::write(base.join("secret.iso"), b"x").unwrap();
        std::os::unix::fs::symlink(base.join("secret.iso"), root.join("link.iso")).unwrap();
        assert!(resolve(&root, "a.iso").unwrap().ends_with("up/a.iso"));
        assert!(resolve(&root, root.join("a.iso").to_str().unwrap()).is_ok());
        for escape in ["../secret.iso", "link.iso", "sub/../../secret.iso"] {
            let e = resolve(&root, escape).unwrap_err();
            assert!(e.contains("outside the upload directory"), "{escape}: {e}");
        }
        let e = resolve(&root, base.join("secret.iso").to_str().unwrap()).unwrap_err();
        assert!(e.contains("outside"), "{e}");
        let e = resolve(&root, "sub").unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = resolve(&root, "none.iso").unwrap_err();
        assert!(e.contains("no file"), "{e}");
        // Whether a file outside exists is not told.
        for probe in ["../none.iso", "../secret.iso", "/etc/none", "/etc/passwd"] {
            let e = resolve(&root, probe).unwrap_err();
            assert!(e.contains("outside"), "{probe}: {e}");
        }
        assert!(resolve(&root, "sub/../a.iso").is_ok());
        let e = resolve(&base.join("missing"), "a.iso").unwrap_err();
        assert!(e.contains("upload directory"), "{e}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
