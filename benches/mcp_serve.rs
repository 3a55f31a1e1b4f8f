//! Performance of `proxmox-mcp serve` against fakepve on loopback: cold start, the size of
//! tools/list, `proxmox_guest_list` latency next to the same request sent directly, the PVE requests
//! one call makes, and the server's peak RSS. Prints a table; see docs/PERFORMANCE.md.
//!
//! ```text
//! cargo bench --bench mcp_serve
//! ```
//!
//! Needs the fakepve venv (`.ci/setup-venv.sh`), like the integration tests.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/mcp.rs"]
mod mcp;

use std::time::{Duration, Instant};

use common::{FakePve, StartOptions};
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::params::Form;
use rmcp::model::{CallToolRequestParams, ClientRequest, PingRequest};
use serde_json::{Value, json};

/// Server starts timed for the cold start.
const COLD_STARTS: usize = 20;
/// Timed calls of `proxmox_guest_list` and of the direct request.
const CALLS: usize = 200;
/// Calls whose PVE requests are counted.
const COUNTED_CALLS: usize = 50;
/// Untimed direct and SDK requests before the timed ones (connection set-up, caches).
const WARMUP: usize = 10;
/// Guests of the large cluster.
const MANY: u64 = 10_000;
/// Timed calls against the large cluster.
const MANY_CALLS: usize = 20;

/// A `proxmox-mcp serve` child and the rmcp client connected to it.
struct Server {
    mcp: mcp::Mcp,
    pid: u32,
}

/// Spawns `proxmox-mcp serve` with exactly `vars` and waits for the initialize result.
async fn start(vars: &[(String, String)]) -> Server {
    let mcp = mcp::Mcp::start(vars, &[]).await;
    Server { pid: mcp.pid, mcp }
}

impl Server {
    /// Calls `name` and returns the size of the result as compact JSON; a protocol error or a tool
    /// error panics.
    async fn call(&self, name: &str, args: Value) -> usize {
        let args = args.as_object().cloned().unwrap_or_default();
        let r = self
            .mcp
            .client
            .call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(args))
            .await
            .unwrap_or_else(|e| {
                panic!("{name}: protocol error {e}; stderr: {}", self.mcp.stderr())
            });
        assert_ne!(r.is_error, Some(true), "{name} failed: {:?}", r.content);
        serde_json::to_string(&r).map_or(0, |s| s.len())
    }

    /// CPU time the server has used so far, all its threads (`/proc/<pid>/task/*/schedstat`).
    fn cpu_time(&self) -> Duration {
        let dir = format!("/proc/{}/task", self.pid);
        let tasks = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {dir}: {e}"));
        let ns: u64 = tasks
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Duration::from_nanos(ns)
    }

    /// An MCP `ping` round trip (stdio and JSON-RPC only, no PVE request).
    async fn ping(&self) {
        self.mcp
            .client
            .send_request(ClientRequest::PingRequest(PingRequest::default()))
            .await
            .expect("ping");
    }

    /// A line of `/proc/<pid>/status` (`VmHWM`, `VmRSS`) in KiB.
    fn status_kib(&self, key: &str) -> u64 {
        let path = format!("/proc/{}/status", self.pid);
        let status =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {path}"))
    }
}

/// Milliseconds.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile `p` (0..=100) of `samples`, in milliseconds.
fn percentile(samples: &[Duration], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    ms(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A guests file of [`MANY`] guests (VMs and every fifth a container), in fakepve's format.
fn many_guests_file() -> std::path::PathBuf {
    let guests: Vec<Value> = (0..MANY)
        .map(|i| {
            let vmid = 1000 + i;
            let lxc = i % 5 == 4;
            let name = format!("guest-{vmid}");
            let mut g = json!({
                "vmid": vmid, "name": name, "node": "pve1",
                "status": if i % 3 == 0 { "running" } else { "stopped" },
                "config": if lxc {
                    json!({"hostname": name, "cores": 1, "memory": 512, "tags": "bench"})
                } else {
                    json!({"name": name, "cores": 2, "memory": "2048", "tags": "bench;vm"})
                },
            });
            if lxc {
                g["type"] = json!("lxc");
            }
            g
        })
        .collect();
    let path = std::env::temp_dir().join(format!("proxmox-mcp-bench-guests-{MANY}.json"));
    std::fs::write(&path, json!({ "guests": guests }).to_string()).expect("write guests file");
    path
}

/// `proxmox_guest_list` and a guest lookup against 10,000 guests: result size, latency next to
/// the raw request, PVE requests, CPU, and the server's peak RSS.
async fn many_guests(row: &mut impl FnMut(&str, String)) {
    let pve = FakePve::start_with(StartOptions {
        guests: Some(many_guests_file()),
        ..StartOptions::default()
    })
    .await;
    let server = start(&mcp::env(&pve)).await;
    let idle_hwm = server.status_kib("VmHWM");
    let http = pve.reqwest_client();
    let url = pve.api_url("/cluster/resources?type=vm");
    let auth = pve.alice().token_header();
    let mut raw_bytes = 0;
    let mut raw = Vec::with_capacity(MANY_CALLS);
    let mut list = Vec::with_capacity(MANY_CALLS);
    let mut list_bytes = 0;
    let mut total = Value::Null;
    let mut cpu_in_lists = Duration::ZERO;
    let mut list_requests = 0;
    for _ in 0..MANY_CALLS {
        let t = Instant::now();
        let resp = http
            .get(&url)
            .header("Authorization", &auth)
            .send()
            .await
            .expect("direct request");
        let bytes = resp.bytes().await.expect("body");
        let body: Value = serde_json::from_slice(&bytes).expect("JSON");
        raw.push(t.elapsed());
        raw_bytes = bytes.len();
        assert_eq!(body["data"].as_array().map(Vec::len), Some(MANY as usize));
        let before = pve.requests().await.len();
        let cpu = server.cpu_time();
        let t = Instant::now();
        let r = server
            .mcp
            .client
            .call_tool(CallToolRequestParams::new("proxmox_guest_list"))
            .await
            .expect("guest_list");
        list.push(t.elapsed());
        cpu_in_lists += server.cpu_time() - cpu;
        list_requests += pve.requests().await.len() - before;
        assert_ne!(r.is_error, Some(true), "{:?}", r.content);
        list_bytes = serde_json::to_string(&r).map_or(0, |s| s.len());
        total = r
            .structured_content
            .as_ref()
            .map_or(Value::Null, |v| v["total"].clone());
    }
    row(
        &format!("{MANY} guests: raw GET /cluster/resources, parsed (n={MANY_CALLS})"),
        format!("p50 {:.2} ms, {raw_bytes} bytes", percentile(&raw, 50.0)),
    );
    row(
        &format!("{MANY} guests: guest_list via MCP, default limit (n={MANY_CALLS})"),
        format!(
            "p50 {:.2} ms, {list_bytes} bytes of result, total {total}",
            percentile(&list, 50.0)
        ),
    );
    row(
        &format!("{MANY} guests: guest_list p50 / raw p50"),
        format!("{:.2}x", percentile(&list, 50.0) / percentile(&raw, 50.0)),
    );
    row(
        &format!("{MANY} guests: PVE requests per guest_list"),
        format!("{:.2}", list_requests as f64 / MANY_CALLS as f64),
    );
    row(
        &format!("{MANY} guests: server CPU per guest_list"),
        format!("{:.2} ms", ms(cpu_in_lists / MANY_CALLS as u32)),
    );
    // The other bounded shapes: a page of 1000 with three fields, and a name filter.
    let mut shapes = Vec::new();
    for args in [
        json!({"limit": 1000, "fields": ["vmid", "name", "status"]}),
        json!({"name": "guest-1234", "type": "qemu"}),
    ] {
        let args_text = args.to_string();
        let r = server
            .mcp
            .client
            .call_tool(
                CallToolRequestParams::new("proxmox_guest_list")
                    .with_arguments(args.as_object().cloned().unwrap_or_default()),
            )
            .await
            .expect("guest_list");
        assert_ne!(r.is_error, Some(true), "{:?}", r.content);
        let bytes = serde_json::to_string(&r).map_or(0, |s| s.len());
        shapes.push(format!("{args_text}: {bytes} bytes"));
    }
    row(
        &format!("{MANY} guests: guest_list shapes"),
        shapes.join("; "),
    );
    // The lookup of one guest by VMID (the list read once more, then its status).
    let mut lookups = Vec::with_capacity(MANY_CALLS);
    for i in 0..MANY_CALLS as u64 {
        // The list read for a lookup is reused for 5 s: the first lookup reads it, the others
        // make only the status request.
        let t = Instant::now();
        let r = server
            .mcp
            .client
            .call_tool(
                CallToolRequestParams::new("proxmox_guest_status").with_arguments(
                    json!({"vmid": 1000 + i * 487})
                        .as_object()
                        .cloned()
                        .unwrap(),
                ),
            )
            .await
            .expect("guest_status");
        lookups.push(t.elapsed());
        assert_ne!(r.is_error, Some(true), "{:?}", r.content);
    }
    row(
        &format!("{MANY} guests: guest_status by VMID (n={MANY_CALLS})"),
        format!(
            "p50 {:.2} ms, max {:.2} ms",
            percentile(&lookups, 50.0),
            percentile(&lookups, 100.0)
        ),
    );
    row(
        &format!("{MANY} guests: server peak RSS (VmHWM)"),
        format!(
            "{:.1} MiB (idle before the calls {:.1} MiB, VmRSS now {:.1} MiB)",
            server.status_kib("VmHWM") as f64 / 1024.0,
            idle_hwm as f64 / 1024.0,
            server.status_kib("VmRSS") as f64 / 1024.0
        ),
    );
    let _ = server.mcp.client.cancel().await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let started = Instant::now();
    // `MCP_BENCH=many`: only the 10,000-guest part.
    if std::env::var("MCP_BENCH").is_ok_and(|v| v == "many") {
        let mut rows: Vec<(String, String)> = Vec::new();
        many_guests(&mut |k: &str, v: String| rows.push((k.to_string(), v))).await;
        for (k, v) in &rows {
            println!("{k:<60}  {v}");
        }
        return;
    }
    let pve = FakePve::start().await;
    let vars = mcp::env(&pve);
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: String| rows.push((k.to_string(), v));
    let p50_p95 = |s: &[Duration]| {
        format!(
            "p50 {:.2} ms, p95 {:.2} ms",
            percentile(s, 50.0),
            percentile(s, 95.0)
        )
    };

    // 1. Cold start: spawn -> initialize result, then shut the client down (the child is killed).
    let mut cold = Vec::with_capacity(COLD_STARTS);
    pve.clear_requests().await;
    for _ in 0..COLD_STARTS {
        let t = Instant::now();
        let s = start(&vars).await;
        cold.push(t.elapsed());
        let _ = s.mcp.client.cancel().await;
    }
    let startup_requests = pve.requests().await.len();
    row(
        &format!("cold start, spawn -> initialize (n={COLD_STARTS})"),
        format!(
            "median {:.2} ms, p95 {:.2} ms",
            percentile(&cold, 50.0),
            percentile(&cold, 95.0)
        ),
    );
    row(
        "PVE requests during those starts",
        startup_requests.to_string(),
    );

    // The demo: spawn -> initialize (certificate and token generated, HTTPS listener up), then the
    // first guest list through it (the first TLS handshake included).
    let mut demo = Vec::with_capacity(COLD_STARTS / 2);
    let mut demo_first = Vec::with_capacity(COLD_STARTS / 2);
    for _ in 0..COLD_STARTS / 2 {
        let t = Instant::now();
        let mcp = mcp::Mcp::start(&[], &["--demo"]).await;
        demo.push(t.elapsed());
        let s = Server { pid: mcp.pid, mcp };
        let t = Instant::now();
        s.call("proxmox_guest_list", json!({})).await;
        demo_first.push(t.elapsed());
        let _ = s.mcp.client.cancel().await;
    }
    row(
        &format!("demo start, spawn -> initialize (n={})", COLD_STARTS / 2),
        format!(
            "median {:.2} ms, p95 {:.2} ms",
            percentile(&demo, 50.0),
            percentile(&demo, 95.0)
        ),
    );
    row(
        "demo, first proxmox_guest_list",
        format!("median {:.2} ms", percentile(&demo_first, 50.0)),
    );

    // The server measured from here on.
    let server = start(&vars).await;

    // 2. tools/list of the default server.
    let tools = server
        .mcp
        .client
        .list_all_tools()
        .await
        .expect("tools/list");
    let bytes = serde_json::to_string(&json!({ "tools": tools }))
        .unwrap()
        .len();
    row(
        "tools/list, compact JSON (default toolsets)",
        format!("{bytes} bytes, {} tools", tools.len()),
    );

    // 3. proxmox_guest_list over MCP: the first call opens the server's connection to PVE.
    let t = Instant::now();
    let result_bytes = server.call("proxmox_guest_list", json!({})).await;
    let first = t.elapsed();
    row(
        "guest_list via MCP, first call",
        format!("{:.2} ms ({result_bytes} bytes of result)", ms(first)),
    );

    // 4. The same request directly over keep-alive HTTPS (one reqwest client, body parsed as
    // JSON), and through the SDK's own `Client` (what the server uses) in this process.
    let http = pve.reqwest_client();
    let url = pve.api_url("/cluster/resources?type=vm");
    let auth = pve.alice().token_header();
    let direct_get = || async {
        let resp = http
            .get(&url)
            .header("Authorization", &auth)
            .send()
            .await
            .expect("direct request");
        assert!(resp.status().is_success(), "{}", resp.status());
        let body: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("JSON");
        assert!(body["data"].is_array(), "{body}");
    };
    let sdk = common::alice(&pve);
    let sdk_get = || async {
        let mut form = Form::new();
        form.text("type", "vm");
        let data = sdk
            .request(HttpMethod::Get, "/cluster/resources", form)
            .await
            .expect("SDK request");
        assert!(data.is_array(), "{data}");
    };
    for _ in 0..WARMUP {
        direct_get().await;
        sdk_get().await;
    }

    // The timed loop, the three interleaved so that they share the machine's conditions. The
    // server is idle outside its own calls, so its CPU time over the loop is that of its calls.
    let mut via_mcp = Vec::with_capacity(CALLS);
    let mut direct = Vec::with_capacity(CALLS);
    let mut via_sdk = Vec::with_capacity(CALLS);
    let cpu_before = server.cpu_time();
    for _ in 0..CALLS {
        let t = Instant::now();
        server.call("proxmox_guest_list", json!({})).await;
        via_mcp.push(t.elapsed());
        let t = Instant::now();
        direct_get().await;
        direct.push(t.elapsed());
        let t = Instant::now();
        sdk_get().await;
        via_sdk.push(t.elapsed());
    }
    let cpu_per_call = (server.cpu_time() - cpu_before) / CALLS as u32;
    row(
        &format!("guest_list via MCP (n={CALLS})"),
        p50_p95(&via_mcp),
    );
    row(
        &format!("same request direct, keep-alive HTTPS (n={CALLS})"),
        p50_p95(&direct),
    );
    row(
        "MCP p50 / direct p50",
        format!(
            "{:.2}x",
            percentile(&via_mcp, 50.0) / percentile(&direct, 50.0)
        ),
    );
    row(
        &format!("same request via the SDK Client, in process (n={CALLS})"),
        p50_p95(&via_sdk),
    );
    row(
        "server CPU time per guest_list call (all threads)",
        format!("{:.3} ms", ms(cpu_per_call)),
    );

    // The MCP round trip alone, for comparison: `ping` over the same stdio pipes.
    let mut pings = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        server.ping().await;
        pings.push(t.elapsed());
    }
    row(
        &format!("MCP ping round trip, no PVE request (n={CALLS})"),
        p50_p95(&pings),
    );

    // PVE requests per call, from fakepve's log.
    pve.clear_requests().await;
    for _ in 0..COUNTED_CALLS {
        server.call("proxmox_guest_list", json!({})).await;
    }
    let requests = pve.requests().await;
    let mut paths: Vec<String> = requests
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or("?"),
                r["path"].as_str().unwrap_or("?")
            )
        })
        .collect();
    paths.sort();
    paths.dedup();
    row(
        &format!("PVE requests per guest_list call ({COUNTED_CALLS} calls)"),
        format!(
            "{:.2} ({} in all: {})",
            requests.len() as f64 / COUNTED_CALLS as f64,
            requests.len(),
            paths.join(", ")
        ),
    );

    // 5. Peak RSS of the server after all its calls.
    let hwm = server.status_kib("VmHWM");
    let rss = server.status_kib("VmRSS");
    row(
        "server peak RSS (VmHWM) after the calls",
        format!(
            "{:.1} MiB (VmRSS now {:.1} MiB)",
            hwm as f64 / 1024.0,
            rss as f64 / 1024.0
        ),
    );
    let _ = server.mcp.client.cancel().await;

    // 6. A cluster of 10,000 guests, with a fresh server.
    many_guests(&mut row).await;

    row(
        "bench wall time",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );

    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    println!();
    println!("proxmox-mcp serve against fakepve on {}", pve.host());
    println!("{:-<w$}", "", w = width + 40);
    for (k, v) in &rows {
        println!("{k:<width$}  {v}");
    }
}
