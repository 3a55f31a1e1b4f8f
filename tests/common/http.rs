//! `proxmox-mcp serve --http` as a child process for the tests and benches: started as alice
//! against a fakepve with a bearer token, with its stderr collected and rmcp's Streamable HTTP
//! client connected to it.

#![allow(dead_code)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::FakePve;
use crate::mcp;

/// The bearer token the servers of these tests are started with.
pub const TOKEN: &str = "test-bearer-7c1e5a9d2b4f4e0f8a3c6d1e9b2a7f40";

/// How long the server may take to print its URL.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `serve --http` and what it wrote to stderr.
pub struct HttpServer {
    pub child: Child,
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    stderr: Arc<Mutex<String>>,
}

impl HttpServer {
    /// Starts `serve --http 127.0.0.1:0 ARGS` for `pve` as alice, with the token and `extra`
    /// variables, and waits for the URL it prints.
    pub async fn start(pve: &FakePve, extra: &[(&str, &str)], args: &[&str]) -> HttpServer {
        let mut vars = mcp::env(pve);
        vars.push(("PROXMOX_MCP_HTTP_TOKEN".into(), TOKEN.into()));
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut all = vec!["serve", "--http", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut child = spawn(&vars, &all);
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let buf = stderr.clone();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("serving MCP on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.trim().to_string());
                }
                let mut b = buf.lock().unwrap();
                b.push_str(&line);
                b.push('\n');
            }
        });
        let url = match tokio::time::timeout(START_TIMEOUT, rx).await {
            Ok(Ok(url)) => url,
            _ => panic!(
                "serve --http did not print its URL within {START_TIMEOUT:?}; stderr: {}",
                stderr.lock().unwrap()
            ),
        };
        HttpServer { child, url, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// A POST of `body` to the endpoint with the headers MCP wants, plus `headers`.
    pub async fn post(&self, body: String, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = plain_client()
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("POST to the MCP endpoint")
    }

    /// An MCP client connected with `token`.
    pub async fn client(&self, token: &str) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone())
            .auth_header(token.to_string());
        let transport = StreamableHttpClientTransport::from_config(config);
        ().serve(transport).await.unwrap_or_else(|e| {
            panic!(
                "MCP initialize over HTTP failed: {e}; stderr: {}",
                self.stderr()
            )
        })
    }
}

pub fn spawn(vars: &[(String, String)], args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .args(args)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn proxmox-mcp")
}

pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}
