//! Waiting for tasks: many writes return a UPID at once and finish later.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Client;
use crate::apidoc::HttpMethod;
use crate::catalog::{self, Endpoint};
use crate::params::Form;
use crate::{Error, Upid};

/// The shortest pause between two status polls, whatever `max_poll` says.
pub const MIN_POLL: Duration = Duration::from_millis(50);
/// Status polls in a row that may fail with a passing error (timeout, lost connection, 5xx of
/// a proxying node) before the wait gives up.
const TRANSIENT_RETRIES: u32 = 5;

/// How to wait for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Give up after this long (the task goes on in PVE). Default 5 minutes.
    pub timeout: Duration,
    /// Longest pause between status polls. The first polls come quicker. Default 2 s; never
    /// below 50 ms (`MIN_POLL`).
    pub max_poll: Duration,
    /// Log lines to return when the task failed. Default 20.
    pub log_lines: usize,
    /// Read the log's new lines on each poll, so [`TaskPoll::last_line`] and
    /// [`TaskPoll::percent`] say how far the task got (one more request per poll). Default off.
    pub follow_log: bool,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            max_poll: Duration::from_secs(2),
            log_lines: 20,
            follow_log: false,
        }
    }
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutcome {
    /// The task.
    pub upid: Upid,
    /// The node it ran on.
    pub node: String,
    /// PVE's exit status: `OK`, `WARNINGS: n`, or the error text.
    pub exit_status: String,
    /// True for `OK` and `WARNINGS: n`.
    pub success: bool,
    /// The last lines of the task log when the task failed; empty on success.
    pub log_tail: Vec<String>,
}

impl TaskOutcome {
    /// `Ok(self)` when the task succeeded (`OK` or `WARNINGS: n`), otherwise
    /// [`Error::TaskFailed`] with the exit status and the log tail, so that `?` stops at a
    /// failed task.
    pub fn into_result(self) -> Result<TaskOutcome, Error> {
        if self.success {
            Ok(self)
        } else {
            Err(Error::TaskFailed {
                upid: self.upid.to_string(),
                exit_status: self.exit_status,
                log_tail: self.log_tail,
            })
        }
    }
}

/// One status poll of a running task, as [`Client::wait_task_observed`] reports it.
#[derive(Debug, Clone)]
pub struct TaskPoll {
    /// Polls that found the task running so far (1, 2, ...).
    pub polls: u64,
    /// Time since the wait began.
    pub elapsed: Duration,
    /// PVE's status object (`status: running`, `type`, `id`, `user`, ...).
    pub status: Value,
    /// The log's latest line, with [`WaitOptions::follow_log`].
    pub last_line: Option<String>,
    /// The latest percentage the log gave (`INFO:  45% (14.4 GiB of 32.0 GiB)`, `transferred
    /// 1.0 GiB of 32.0 GiB (3.12%)`), with [`WaitOptions::follow_log`].
    pub percent: Option<f64>,
}

/// The percentage a task log line reports: the last number directly followed by `%`, from 0
/// to 100.
fn percent_in(line: &str) -> Option<f64> {
    let bytes = line.as_bytes();
    let mut found = None;
    for (i, _) in line.match_indices('%') {
        let digits = bytes[..i]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .count();
        if digits == 0 {
            continue;
        }
        if let Ok(p) = line[i - digits..i].trim_start_matches('.').parse::<f64>()
            && (0.0..=100.0).contains(&p)
        {
            found = Some(p);
        }
    }
    found
}

fn endpoint(template: &str) -> &'static Endpoint {
    catalog::ENDPOINTS
        .iter()
        .find(|e| e.method == HttpMethod::Get && e.path == template)
        .expect("the schema has the task endpoints")
}

/// True for errors after which polling again may succeed.
fn transient(e: &Error) -> bool {
    match e {
        Error::Timeout { .. } | Error::Connect { .. } | Error::ConnectionLost { .. } => true,
        // 5xx other than PVE's own error answers: proxy and node-to-node trouble (595, 596...).
        Error::Server { status, .. } => *status >= 502,
        _ => false,
    }
}

impl Client {
    /// Waits until the task `upid` stops, polling its status, at most `opts.timeout`. A task that
    /// fails is an `Ok` outcome with `success == false` and the tail of its log. Passing errors
    /// while polling are retried; other errors come as [`Error::TaskWaitFailed`], which keeps the
    /// UPID. Dropping the future stops waiting (not the task).
    pub async fn wait_task(&self, upid: &Upid, opts: WaitOptions) -> Result<TaskOutcome, Error> {
        self.wait_task_observed(upid, opts, |_| {}).await
    }

    /// [`Client::wait_task`], with a failed task as an error: [`Error::TaskFailed`] carries the
    /// exit status and the tail of the task log. `Ok` means the task succeeded (perhaps with
    /// warnings).
    pub async fn wait_task_ok(&self, upid: &Upid, opts: WaitOptions) -> Result<TaskOutcome, Error> {
        self.wait_task(upid, opts).await?.into_result()
    }

    /// [`Client::wait_task`], calling `observe` after each status poll that finds the task still
    /// running (for progress reports).
    pub async fn wait_task_observed(
        &self,
        task: &Upid,
        opts: WaitOptions,
        mut observe: impl FnMut(&TaskPoll) + Send,
    ) -> Result<TaskOutcome, Error> {
        let (upid, node) = (task.as_str(), task.node().to_string());
        let status_ep = endpoint("/nodes/{node}/tasks/{upid}/status");
        let started = Instant::now();
        let max_poll = opts.max_poll.max(MIN_POLL);
        let mut pause = Duration::from_millis(100).min(max_poll);
        let mut failures = 0;
        let mut polls = 0;
        // With `follow_log`: the next log line to read, the latest line and percentage.
        let mut next_line = 0u64;
        let mut last_line: Option<String> = None;
        let mut percent: Option<f64> = None;
        let lost = |error: Error| Error::TaskWaitFailed {
            upid: upid.to_string(),
            error: Box::new(error),
        };
        loop {
            match self.execute(status_ep, &[&node, upid], Form::new()).await {
                Ok(status) if status.get("status").and_then(Value::as_str) == Some("stopped") => {
                    let exit_status = status
                        .get("exitstatus")
                        .and_then(crate::lenient::string_of)
                        .unwrap_or_else(|| "unknown".to_string());
                    let success = exit_status == "OK" || exit_status.starts_with("WARNINGS");
                    let log_tail = if success {
                        Vec::new()
                    } else {
                        self.log_tail(&node, upid, opts.log_lines)
                            .await
                            .unwrap_or_else(|e| {
                                vec![format!("(the task log could not be read: {e})")]
                            })
                    };
                    return Ok(TaskOutcome {
                        upid: task.clone(),
                        node,
                        exit_status,
                        success,
                        log_tail,
                    });
                }
                Ok(status) => {
                    failures = 0;
                    polls += 1;
                    if opts.follow_log {
                        // The log is only for reporting: a failed read leaves the last one.
                        if let Ok((lines, next)) = self.log_since(&node, upid, next_line).await {
                            next_line = next;
                            for line in lines {
                                if let Some(p) = percent_in(&line) {
                                    percent = Some(p);
                                }
                                last_line = Some(line);
                            }
                        }
                    }
                    observe(&TaskPoll {
                        polls,
                        elapsed: started.elapsed(),
                        status,
                        last_line: last_line.clone(),
                        percent,
                    });
                }
                Err(e) if transient(&e) && failures < TRANSIENT_RETRIES => {
                    tracing::debug!(upid, error = %e, "task status poll failed; trying again");
                    failures += 1;
                }
                Err(e) => return Err(lost(e)),
            }
            let waited = started.elapsed();
            if waited >= opts.timeout {
                return Err(Error::TaskTimeout {
                    upid: upid.to_string(),
                    waited,
                });
            }
            tokio::time::sleep(pause.min(opts.timeout - waited).max(MIN_POLL)).await;
            pause = (pause * 2).min(max_poll);
        }
    }

    /// The log lines from line `start` on (at most 500), and the number of the line to read
    /// next: past the end when PVE says how many there are, so a fast log is not read in full.
    async fn log_since(
        &self,
        node: &str,
        upid: &str,
        start: u64,
    ) -> Result<(Vec<String>, u64), Error> {
        const LIMIT: u64 = 500;
        let log_ep = endpoint("/nodes/{node}/tasks/{upid}/log");
        let mut form = Form::new();
        form.text("start", &start.to_string());
        form.text("limit", &LIMIT.to_string());
        let env = self
            .execute_envelope(log_ep, &[node, upid], super::Payload::Form(&form))
            .await?;
        let lines = texts(&env.data);
        let mut next = start + lines.len() as u64;
        // Far behind: jump to the last line, whose percentage is the one that counts.
        if let Some(total) = env.total
            && total > next
        {
            next = total - 1;
        }
        Ok((lines, next))
    }

    /// The last `lines` lines of a task log.
    async fn log_tail(&self, node: &str, upid: &str, lines: usize) -> Result<Vec<String>, Error> {
        if lines == 0 {
            return Ok(Vec::new());
        }
        let log_ep = endpoint("/nodes/{node}/tasks/{upid}/log");
        let values = [node, upid];
        let mut probe = Form::new();
        probe.text("start", "0");
        probe.text("limit", "1");
        let first: super::response::Envelope = self
            .execute_envelope(log_ep, &values, super::Payload::Form(&probe))
            .await?;
        let start = first
            .total
            .map(|t| t.saturating_sub(lines as u64))
            .unwrap_or(0);
        let mut form = Form::new();
        form.text("start", &start.to_string());
        form.text(
            "limit",
            &if first.total.is_some() {
                lines
            } else {
                100_000
            }
            .to_string(),
        );
        let log = self
            .execute_envelope(log_ep, &values, super::Payload::Form(&form))
            .await?
            .data;
        let mut out = texts(&log);
        if out.len() > lines {
            out.drain(..out.len() - lines);
        }
        Ok(out)
    }
}

/// The text of each line of a task log answer (`[{"n": 1, "t": "..."}, ...]`).
fn texts(log: &Value) -> Vec<String> {
    log.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l.get("t").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{TaskOutcome, percent_in};
    use crate::Error;

    #[test]
    fn percentages_of_pves_task_logs() {
        assert_eq!(
            percent_in("INFO:  45% (14.4 GiB of 32.0 GiB) in 1m 2s, read: 240.0 MiB/s"),
            Some(45.0)
        );
        assert_eq!(
            percent_in("drive-scsi0: transferred 1.0 GiB of 32.0 GiB (3.12%) in 5s"),
            Some(3.12)
        );
        assert_eq!(
            percent_in("progress 100% (read 34359738368 bytes)"),
            Some(100.0)
        );
        assert_eq!(
            percent_in("INFO: starting new backup job: vzdump 100"),
            None
        );
        assert_eq!(percent_in("100%% nonsense %"), Some(100.0));
        assert_eq!(percent_in("250% is not a percentage of work"), None);
    }

    #[test]
    fn a_failed_outcome_is_an_error_naming_exit_status_and_log() {
        let upid = "UPID:pve1:0000C530:0001B4E8:6745F0A1:qmstart:100:root@pam:";
        let outcome = |success: bool, exit: &str, log: &[&str]| TaskOutcome {
            upid: upid.parse().unwrap(),
            node: "pve1".to_string(),
            exit_status: exit.to_string(),
            success,
            log_tail: log.iter().map(|l| l.to_string()).collect(),
        };
        let ok = outcome(true, "WARNINGS: 1", &[]);
        assert_eq!(ok.clone().into_result().unwrap(), ok);
        let log: Vec<String> = (1..=8).map(|i| format!("line {i}")).collect();
        let log: Vec<&str> = log.iter().map(String::as_str).collect();
        let e = outcome(false, "start failed: boom", &log)
            .into_result()
            .unwrap_err();
        match &e {
            Error::TaskFailed {
                exit_status,
                log_tail,
                ..
            } => {
                assert_eq!(exit_status, "start failed: boom");
                assert_eq!(log_tail.len(), 8, "the error keeps every line");
            }
            other => panic!("expected TaskFailed, got {other:?}"),
        }
        let text = e.to_string();
        assert_eq!(
            text,
            format!(
                "task {upid} failed: start failed: boom; last log lines: line 4 | line 5 | \
                 line 6 | line 7 | line 8"
            )
        );
        assert!(!text.contains('\n'));
    }
}
