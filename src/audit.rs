//! A tamper-evident audit log of write attempts: one JSON line per attempt, chained by SHA-256.
//!
//! Each line is one JSON object, written in this order:
//!
//! `seq` (1, 2, ...), `time` (RFC 3339, UTC), `server`, `tool`, `method`, `path`, `args` (secrets
//! masked), `decision`, `answer` (PVE's answer or the error, at most [`MAX_ANSWER`] characters, or
//! null), `task` (a task's outcome, or null), `prev` (hex SHA-256 of the previous line's bytes
//! without its newline; 64 zeros on the first line) and last `hash`: hex SHA-256 of the line
//! without its `,"hash":"..."` member, that is of the text `{"seq":...,"prev":"..."}`.
//!
//! `prev` chains the lines, so an edited, deleted, reordered or inserted line breaks the chain at
//! or after it; `hash` makes a change to a line show at that line, the last one included. What a
//! chain cannot show: someone who rewrites the last line and its `hash`, or cuts lines off the
//! end, leaves a chain that verifies. `audit verify` prints the last line's hash; a copy of it kept
//! elsewhere catches that too.
//!
//! Writes are serialised with a std [`Mutex`] and `record` blocks its caller (open, one write,
//! `sync_data`, close: about a millisecond on a local disk, more on a slow one). It is called from
//! async code on purpose: the write it guards then waits for PVE over the network anyway, and a
//! `spawn_blocking` would only move the same wait to another thread. A caller that minds can wrap
//! it in `tokio::task::spawn_blocking` itself, as `AuditLog` is `Clone + Send + Sync`.
//!
//! `record` opens the file for every line, without creating it, and checks it is the same file
//! (device and inode) with the same length as after the last line: a log moved away, deleted,
//! replaced or written by someone else is an error, and the caller refuses the write. An
//! exclusive lock (`flock`) held from `open` on keeps a second process from writing the same log.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use serde::Serialize;
use serde_json::Value;

/// `prev` of the first line.
const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The most characters of `answer` a line keeps.
pub const MAX_ANSWER: usize = 2000;

/// What a secret's value is replaced by.
const MASKED: &str = "(secret, not shown)";

/// Where the self-hash member starts; JSON escapes quotes inside strings, so the last occurrence
/// in a line is the member.
const HASH_MEMBER: &str = ",\"hash\":\"";

/// What happened to a write attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Refused: the server does not allow writes.
    RefusedElevation,
    /// Refused: the server is read-only.
    RefusedReadOnly,
    /// Refused: the client cannot ask the person and the `confirm` policy refuses.
    RefusedPolicy,
    /// Refused: the person declined or cancelled.
    RefusedConfirmation,
    /// Refused: the permission pre-flight found a privilege missing.
    RefusedPreflight,
    /// Not sent yet: the client (protocol 2026-07-28) was asked for the person's confirmation
    /// and will send the call again with the answer.
    AskedInput,
    /// A dry run: checked, nothing sent.
    DryRun,
    /// About to be sent: written (and synced) before the request leaves.
    Sent,
    /// PVE's answer to a write that was sent (`answer`).
    Answered,
    /// The later line of a task `Sent` started: `task` holds its `upid` and `status`.
    TaskEnded,
}

impl Decision {
    /// The text in a line's `decision`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::RefusedElevation => "refused-elevation",
            Decision::RefusedReadOnly => "refused-read-only",
            Decision::RefusedPolicy => "refused-policy",
            Decision::RefusedConfirmation => "refused-confirmation",
            Decision::RefusedPreflight => "refused-preflight",
            Decision::AskedInput => "asked-input",
            Decision::DryRun => "dry-run",
            Decision::Sent => "sent",
            Decision::Answered => "answered",
            Decision::TaskEnded => "task-ended",
        }
    }
}

/// One write attempt, as the caller knows it. `args` should already be masked; keys that look
/// secret are masked again here.
#[derive(Clone, Debug)]
pub struct Entry {
    pub server: String,
    pub tool: String,
    pub method: String,
    pub path: String,
    pub args: Value,
    pub decision: Decision,
    /// PVE's answer (a summary) or the error text; cut to [`MAX_ANSWER`] characters.
    pub answer: Option<String>,
    /// For [`Decision::TaskEnded`]: `{"upid": ..., "status": ...}`.
    pub task: Option<Value>,
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Lines read (up to and including the first bad one).
    pub lines: u64,
    /// The first bad line's number (from 1) and why it is bad.
    pub first_bad: Option<(u64, String)>,
    /// Hex SHA-256 of the last good line (64 zeros for an empty file): the next line's `prev`.
    pub last_hash: String,
}

/// A handle on an open audit log; clones share it.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Mutex<State>>,
}

struct State {
    path: PathBuf,
    /// Held open for its exclusive lock.
    _lock: File,
    /// The file's device and inode (zeros off Unix).
    id: (u64, u64),
    /// The file's length after the last line.
    len: u64,
    next_seq: u64,
    prev: String,
    /// Set when a write left the file in an unknown state: every later record fails.
    broken: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    time: &'a str,
    server: &'a str,
    tool: &'a str,
    method: &'a str,
    path: &'a str,
    args: &'a Value,
    decision: &'a str,
    answer: Option<&'a str>,
    task: Option<&'a Value>,
    prev: &'a str,
}

impl AuditLog {
    /// Opens the log at `path`, creating it with mode 0600 when absent. Refuses a file that is
    /// group- or world-writable, one another process has open, and one whose chain does not
    /// verify; otherwise the next line continues its chain.
    pub fn open(path: &Path) -> Result<AuditLog, String> {
        let shown = path.display();
        let mut create = OpenOptions::new();
        create.read(true).append(true).create_new(true);
        owner_only(&mut create);
        let file = match create.open(path) {
            Ok(f) => {
                sync_parent(path);
                f
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => OpenOptions::new()
                .read(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open the audit log {shown}: {e}"))?,
            Err(e) => return Err(format!("cannot create the audit log {shown}: {e}")),
        };
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read the audit log {shown}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("the audit log {shown} is not a regular file"));
        }
        if let Some(mode) = loose_mode(&meta) {
            return Err(format!(
                "the audit log {shown} is group- or world-writable (mode {mode:o}): run \
                 `chmod 600 {shown}`"
            ));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "the audit log {shown} is in use by another process; give each server \
                     process its own log"
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock the audit log {shown}: {e}"));
            }
        }
        let (report, len) = verify_reader(BufReader::new(&file))
            .map_err(|e| format!("cannot read the audit log {shown}: {e}"))?;
        if let Some((n, why)) = report.first_bad {
            return Err(format!(
                "the audit log {shown} does not verify (line {n}: {why}); run `proxmox-mcp audit \
                 verify {shown}`, then move the file away (keep it as evidence) and start again"
            ));
        }
        Ok(AuditLog {
            inner: Arc::new(Mutex::new(State {
                path: path.to_path_buf(),
                _lock: file,
                id: identity(&meta),
                len,
                next_seq: report.lines + 1,
                prev: report.last_hash,
                broken: None,
            })),
        })
    }

    /// Appends one line for `entry` and syncs it to disk before returning. An error means the
    /// line may not be on disk: the caller must refuse the write it was about to make.
    pub fn record(&self, entry: Entry) -> Result<(), String> {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(why) = &state.broken {
            return Err(why.clone());
        }
        let shown = state.path.display().to_string();
        // Without `create`: a log moved away or deleted is an error, not a fresh chain.
        let mut file = OpenOptions::new()
            .append(true)
            .open(&state.path)
            .map_err(|e| format!("cannot open the audit log {shown}: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read the audit log {shown}: {e}"))?;
        if identity(&meta) != state.id {
            return Err(format!(
                "the audit log {shown} was replaced by another file since it was opened"
            ));
        }
        if meta.len() != state.len {
            return Err(format!(
                "the audit log {shown} changed outside this process ({} bytes, {} expected); run \
                 `proxmox-mcp audit verify {shown}`",
                meta.len(),
                state.len
            ));
        }
        let line = render(&entry, state.next_seq, &state.prev, &now_rfc3339());
        let mut bytes = line.clone().into_bytes();
        bytes.push(b'\n');
        let written = file.write_all(&bytes).and_then(|()| file.sync_data());
        if let Err(e) = written {
            let msg = format!("cannot write the audit log {shown}: {e}");
            // A line that may be partly written, or written but not synced, leaves the chain in
            // an unknown state: every later record fails too. Nothing written changes nothing.
            if file.metadata().map(|m| m.len()).ok() != Some(state.len) {
                state.broken = Some(format!(
                    "{msg}; later writes are refused: run `proxmox-mcp audit verify {shown}` and \
                     restart"
                ));
            }
            return Err(msg);
        }
        state.len += bytes.len() as u64;
        state.next_seq += 1;
        state.prev = sha256_hex(line.as_bytes());
        Ok(())
    }
}

/// Checks the chain of the log at `path`. `Err` only when the file cannot be read; a bad line is
/// `Ok` with `first_bad`.
pub fn verify(path: &Path) -> Result<Report, String> {
    let file = File::open(path)
        .map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))?;
    verify_reader(BufReader::new(file))
        .map(|(report, _)| report)
        .map_err(|e| format!("cannot read the audit log {}: {e}", path.display()))
}

/// The report, and the bytes read when every line is good.
fn verify_reader(mut reader: impl BufRead) -> std::io::Result<(Report, u64)> {
    let mut report = Report {
        lines: 0,
        first_bad: None,
        last_hash: ZERO_HASH.to_string(),
    };
    let mut len = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok((report, len));
        }
        report.lines += 1;
        let Some(line) = buf.strip_suffix(b"\n") else {
            report.first_bad = Some((
                report.lines,
                "no newline at the end (an unfinished write, or an edit)".to_string(),
            ));
            return Ok((report, len));
        };
        if let Err(why) = check_line(line, report.lines, &report.last_hash) {
            report.first_bad = Some((report.lines, why));
            return Ok((report, len));
        }
        report.last_hash = sha256_hex(line);
        len += n as u64;
    }
}

/// Checks line number `n` (from 1), given the previous line's hash.
fn check_line(line: &[u8], n: u64, prev_hash: &str) -> Result<(), String> {
    let not_json = || "not JSON".to_string();
    let text = std::str::from_utf8(line).map_err(|_| not_json())?;
    let v: Value = serde_json::from_str(text).map_err(|_| not_json())?;
    let obj = v.as_object().ok_or_else(not_json)?;
    let seq = obj
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("no `seq` number")?;
    if seq != n {
        return Err(if n == 1 {
            format!("seq is {seq}, not 1 (lines deleted at the start)")
        } else if seq < n {
            format!(
                "seq goes back from {} to {seq} (repeated or reordered line)",
                n - 1
            )
        } else {
            format!("seq jumps from {} to {seq}", n - 1)
        });
    }
    let prev = obj
        .get("prev")
        .and_then(Value::as_str)
        .ok_or("no `prev` hash")?;
    if prev != prev_hash {
        return Err(if n == 1 {
            "prev is not 64 zeros (lines deleted at the start)".to_string()
        } else {
            format!(
                "prev does not match the hash of line {} (edited or deleted line)",
                n - 1
            )
        });
    }
    let at = text.rfind(HASH_MEMBER).ok_or("no `hash` at the end")?;
    let hash = text[at + HASH_MEMBER.len()..]
        .strip_suffix("\"}")
        .filter(|h| h.len() == 64)
        .ok_or("no `hash` at the end")?;
    if hash != sha256_hex(format!("{}}}", &text[..at]).as_bytes()) {
        return Err("hash does not match the line (edited line)".to_string());
    }
    Ok(())
}

/// The line (without newline) for `entry`.
fn render(entry: &Entry, seq: u64, prev: &str, time: &str) -> String {
    let args = mask(entry.args.clone());
    let task = entry.task.clone().map(mask);
    let answer = entry.answer.as_deref().map(bound);
    let body = serde_json::to_string(&Line {
        seq,
        time,
        server: &entry.server,
        tool: &entry.tool,
        method: &entry.method,
        path: &entry.path,
        args: &args,
        decision: entry.decision.as_str(),
        answer: answer.as_deref(),
        task: task.as_ref(),
        prev,
    })
    .expect("a line serialises");
    let open = body.strip_suffix('}').expect("a JSON object ends with }");
    let hash = sha256_hex(body.as_bytes());
    format!("{open}{HASH_MEMBER}{hash}\"}}")
}

/// At most [`MAX_ANSWER`] characters, saying how much was cut.
fn bound(answer: &str) -> String {
    match answer.char_indices().nth(MAX_ANSWER) {
        None => answer.to_string(),
        Some((at, _)) => format!(
            "{}... ({} characters in all)",
            &answer[..at],
            answer.chars().count()
        ),
    }
}

/// `v` with the value of every key that looks secret replaced, at any depth.
fn mask(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    if looks_secret(k) && !val.is_null() {
                        *val = Value::String(MASKED.to_string());
                    } else {
                        walk(val);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// Whether a key names a secret: one of its words (split at `-`, `_`, `.` and lower-to-upper
/// case changes) contains password, passwd, passphrase, secret, token, ticket, credential or csrf,
/// or ends with key, keys or otp (`sshkeys`, `api-key`, `totp`; not `keyboard`).
fn looks_secret(key: &str) -> bool {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if matches!(c, '-' | '_' | '.' | ' ') || (prev_lower && c.is_uppercase()) {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
    }
    words.push(word);
    const INSIDE: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "ticket",
        "credential",
        "csrf",
    ];
    words.iter().any(|w| {
        INSIDE.iter().any(|s| w.contains(s))
            || ["key", "keys", "otp"].iter().any(|s| w.ends_with(s))
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let d = digest(&SHA256, bytes);
    let mut hex = String::with_capacity(64);
    for b in d.as_ref() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Now, as `2026-12-04T14:30:07.123Z`.
fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    crate::utc::rfc3339(since.as_secs(), since.subsec_millis())
}

#[cfg(unix)]
fn owner_only(o: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    o.mode(0o600);
}

#[cfg(not(unix))]
fn owner_only(_: &mut OpenOptions) {}

/// The mode, when group or others may write.
#[cfg(unix)]
fn loose_mode(meta: &Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    (mode & 0o022 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn loose_mode(_: &Metadata) -> Option<u32> {
    None
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// Makes a new file's directory entry durable (best effort: the file itself is synced per line).
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
            tracing::warn!(
                "cannot sync the directory of the audit log {}: {e}",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A fresh directory under the system's temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "proxmox-mcp-audit-{name}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn entry(i: u64) -> Entry {
        Entry {
            server: "pve".into(),
            tool: "proxmox_guest_start".into(),
            method: "POST".into(),
            path: format!("/nodes/pve1/qemu/{}/status/start", 100 + i),
            args: json!({"vmid": 100 + i}),
            decision: Decision::Sent,
            answer: Some(format!("UPID:pve1:0000{i}:qmstart:")),
            task: None,
        }
    }

    /// A log of `n` lines; returns its path.
    fn log_of(dir: &TempDir, n: u64) -> PathBuf {
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        for i in 1..=n {
            log.record(entry(i)).unwrap();
        }
        path
    }

    fn check(bytes: &[u8]) -> Report {
        verify_reader(bytes).unwrap().0
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn audit_a_chain_of_five_records_verifies() {
        let dir = TempDir::new("five");
        let path = log_of(&dir, 5);
        let report = verify(&path).unwrap();
        assert_eq!(report.lines, 5);
        assert_eq!(report.first_bad, None);
        let lines = lines(&path);
        assert_eq!(report.last_hash, sha256_hex(lines[4].as_bytes()));
        let mut prev = ZERO_HASH.to_string();
        for (i, l) in lines.iter().enumerate() {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["seq"], i as u64 + 1);
            assert_eq!(v["prev"], prev.as_str());
            assert_eq!(v["decision"], "sent");
            assert_eq!(v["server"], "pve");
            assert_eq!(v["tool"], "proxmox_guest_start");
            assert_eq!(v["method"], "POST");
            assert_eq!(v["args"]["vmid"], 101 + i as u64);
            assert!(v["task"].is_null());
            let time = v["time"].as_str().unwrap();
            assert!(time.len() == 24 && time.ends_with('Z'), "{time}");
            prev = sha256_hex(l.as_bytes());
        }
    }

    #[test]
    fn audit_flipping_any_byte_fails_at_that_line() {
        let dir = TempDir::new("flip");
        let path = log_of(&dir, 5);
        let good = std::fs::read(&path).unwrap();
        let mut start = 0;
        for (n, line) in good.split_inclusive(|&b| b == b'\n').enumerate() {
            for i in start..start + line.len() {
                let mut bad = good.clone();
                bad[i] ^= 0x01;
                let report = check(&bad);
                let (at, why) = report
                    .first_bad
                    .unwrap_or_else(|| panic!("byte {i} of line {} flipped unnoticed", n + 1));
                assert_eq!(at, n as u64 + 1, "byte {i}: {why}");
            }
            start += line.len();
        }
        // The same through the file.
        let mut bad = good.clone();
        let in_third = lines(&path)[..2].iter().map(|l| l.len() + 1).sum::<usize>() + 30;
        bad[in_third] ^= 0x20;
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(verify(&path).unwrap().first_bad.unwrap().0, 3);
    }

    #[test]
    fn audit_deleting_reordering_or_inserting_a_line_fails() {
        let dir = TempDir::new("delete");
        let path = log_of(&dir, 5);
        let lines = lines(&path);
        let join = |ls: &[&String]| {
            ls.iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                .into_bytes()
        };
        let l: Vec<&String> = lines.iter().collect();
        let deleted = check(&join(&[l[0], l[1], l[3], l[4]]));
        assert_eq!(
            deleted.first_bad,
            Some((3, "seq jumps from 2 to 4".to_string()))
        );
        let first_gone = check(&join(&[l[1], l[2]]));
        assert_eq!(first_gone.first_bad.unwrap().0, 1);
        let last_cut = check(&join(&l[..4]));
        assert_eq!(last_cut.first_bad, None, "a chain cannot show a cut end");
        let swapped = check(&join(&[l[0], l[2], l[1], l[3], l[4]]));
        assert_eq!(swapped.first_bad.unwrap().0, 2);
        let twice = check(&join(&[l[0], l[1], l[1], l[2]]));
        assert_eq!(twice.first_bad.unwrap().0, 3);
        // A line renumbered to hide a deletion still breaks the chain.
        let renumbered = lines[3].replacen("\"seq\":4", "\"seq\":3", 1);
        let body = &renumbered[..renumbered.rfind(HASH_MEMBER).unwrap()];
        let rehashed = format!(
            "{body}{HASH_MEMBER}{}\"}}",
            sha256_hex(format!("{body}}}").as_bytes())
        );
        let report = check(&join(&[l[0], l[1], &rehashed]));
        assert_eq!(
            report.first_bad,
            Some((
                3,
                "prev does not match the hash of line 2 (edited or deleted line)".to_string()
            ))
        );
        let unfinished = check(&join(&l[..2])[..lines[0].len() + 10]);
        assert_eq!(unfinished.first_bad.unwrap().0, 2);
        let not_json = check(b"{\"seq\":1}\nhello\n");
        assert!(not_json.first_bad.unwrap().0 == 1);
        let mut junk = join(&l[..2]);
        junk.extend_from_slice(b"hello\n");
        assert_eq!(check(&junk).first_bad, Some((3, "not JSON".to_string())));
        assert_eq!(check(b"").first_bad, None);
    }

    #[test]
    fn audit_reopening_continues_the_chain() {
        let dir = TempDir::new("reopen");
        let path = log_of(&dir, 2);
        let log = AuditLog::open(&path).unwrap();
        log.record(entry(3)).unwrap();
        drop(log);
        let lines = lines(&path);
        assert_eq!(lines.len(), 3);
        let third: Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(third["seq"], 3);
        assert_eq!(third["prev"], sha256_hex(lines[1].as_bytes()).as_str());
        assert_eq!(verify(&path).unwrap().first_bad, None);
        // A log that does not verify is refused, naming the way out.
        std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        let err = AuditLog::open(&path).err().unwrap();
        assert!(err.contains("proxmox-mcp audit verify"), "{err}");
        assert!(err.contains("move the file away"), "{err}");
    }

    #[test]
    fn audit_one_process_at_a_time_and_clones_share_the_chain() {
        let dir = TempDir::new("lock");
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        let err = AuditLog::open(&path).err().unwrap();
        assert!(err.contains("in use"), "{err}");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..5 {
                        log.record(entry(t * 10 + i)).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let report = verify(&path).unwrap();
        assert_eq!((report.lines, report.first_bad), (20, None));
    }

    #[cfg(unix)]
    #[test]
    fn audit_the_file_is_created_0600_and_a_loose_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("mode");
        let path = log_of(&dir, 1);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o620)).unwrap();
        let err = AuditLog::open(&path).err().unwrap();
        assert!(err.contains("group- or world-writable"), "{err}");
        // Readable by others is allowed.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        AuditLog::open(&path).unwrap();
    }

    #[test]
    fn audit_a_record_that_cannot_be_written_is_an_error() {
        let dir = TempDir::new("fail");
        // The directory removed under an open log.
        let sub = dir.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        log.record(entry(1)).unwrap();
        std::fs::remove_dir_all(&sub).unwrap();
        let err = log.record(entry(2)).unwrap_err();
        assert!(err.contains("cannot open the audit log"), "{err}");
        // Replaced by another file.
        let path = log_of(&dir, 1);
        let log = AuditLog::open(&path).unwrap();
        std::fs::rename(&path, dir.join("moved")).unwrap();
        std::fs::write(&path, "").unwrap();
        assert!(log.record(entry(2)).unwrap_err().contains("replaced"));
        // Appended to by someone else.
        std::fs::remove_file(&path).unwrap();
        std::fs::rename(dir.join("moved"), &path).unwrap();
        log.record(entry(2)).unwrap();
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{}\n")
            .unwrap();
        assert!(
            log.record(entry(3))
                .unwrap_err()
                .contains("changed outside")
        );
        // Made read-only (root may write it anyway; then there is nothing to see).
        let path = dir.join("ro.jsonl");
        let log = AuditLog::open(&path).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&path, perms).unwrap();
        if OpenOptions::new().append(true).open(&path).is_err() {
            assert!(log.record(entry(1)).is_err());
        }
    }

    #[test]
    fn audit_secret_keys_are_masked() {
        let mut e = entry(1);
        e.args = json!({
            "vmid": 101, "password": "hunter2", "cipassword": "x", "sshkeys": "ssh-ed25519 AAA",
            "Api-Key": "k", "tfa_secret": "s", "totp": "123456", "otp": "654321",
            "ticket": "PVE:x", "CSRFPreventionToken": "c", "keyboard": "de", "description": "d",
            "nested": [{"new-password": 7}], "empty_secret": null
        });
        e.task = Some(json!({"upid": "UPID:x", "status": "OK", "token": "t"}));
        let line = render(&e, 1, ZERO_HASH, "2026-12-04T14:30:07.000Z");
        let v: Value = serde_json::from_str(&line).unwrap();
        for k in [
            "password",
            "cipassword",
            "sshkeys",
            "Api-Key",
            "tfa_secret",
            "totp",
            "otp",
            "ticket",
            "CSRFPreventionToken",
        ] {
            assert_eq!(v["args"][k], MASKED, "{k}");
        }
        assert_eq!(v["args"]["nested"][0]["new-password"], MASKED);
        assert_eq!(v["task"]["token"], MASKED);
        assert_eq!(v["task"]["status"], "OK");
        assert_eq!(v["args"]["vmid"], 101);
        assert_eq!(v["args"]["keyboard"], "de");
        assert_eq!(v["args"]["description"], "d");
        assert!(v["args"]["empty_secret"].is_null());
        for s in ["hunter2", "AAA", "123456", "654321", "PVE:x"] {
            assert!(!line.contains(s), "{s} in {line}");
        }
        assert!(check(format!("{line}\n").as_bytes()).first_bad.is_none());
    }

    #[test]
    fn audit_answers_are_bounded_and_decisions_named() {
        let mut e = entry(1);
        e.answer = Some("é".repeat(MAX_ANSWER + 5));
        e.decision = Decision::RefusedReadOnly;
        let v: Value = serde_json::from_str(&render(&e, 1, ZERO_HASH, "t")).unwrap();
        let answer = v["answer"].as_str().unwrap();
        assert!(answer.ends_with(&format!("... ({} characters in all)", MAX_ANSWER + 5)));
        assert_eq!(answer.chars().filter(|&c| c == 'é').count(), MAX_ANSWER);
        assert_eq!(v["decision"], "refused-read-only");
        let names: Vec<&str> = [
            Decision::RefusedElevation,
            Decision::RefusedReadOnly,
            Decision::RefusedPolicy,
            Decision::RefusedConfirmation,
            Decision::RefusedPreflight,
            Decision::DryRun,
            Decision::Sent,
            Decision::TaskEnded,
        ]
        .iter()
        .map(|d| d.as_str())
        .collect();
        assert_eq!(
            names.join(" "),
            "refused-elevation refused-read-only refused-policy refused-confirmation \
             refused-preflight dry-run sent task-ended"
        );
    }

    #[test]
    fn audit_time_is_rfc3339_utc() {
        assert_eq!(crate::utc::rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            crate::utc::rfc3339(951_825_600, 7),
            "2000-02-29T12:00:00.007Z"
        );
        assert_eq!(
            crate::utc::rfc3339(1_798_761_599, 999),
            "2026-12-31T23:59:59.999Z"
        );
        assert_eq!(
            crate::utc::rfc3339(4_107_542_400, 0),
            "2100-03-01T00:00:00.000Z"
        );
        assert!(now_rfc3339().starts_with("20"));
    }
}
