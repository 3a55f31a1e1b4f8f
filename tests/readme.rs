//! The README's SDK example is this file's code between the markers: it compiles here, runs
//! against fakepve, and `the_readme_shows_this_code` fails when the two copies drift apart.

mod common;

// README-BEGIN
use proxmox_mcp::api::nodes::qemu;
use proxmox_mcp::{Client, Error, TlsMode, WaitOptions};

/// A client for a cluster with a self-signed certificate, pinned by its SHA-256 fingerprint.
pub fn connect() -> Result<Client, Error> {
    Client::builder("pve.example.com")
        .token("root@pam!mcp=00000000-0000-0000-0000-000000000000")?
        .tls(TlsMode::Fingerprint("AB:CD:...".into()))
        .build()
}

/// Lists node pve1's VMs; gives VM 101 4 GiB and puts its first NIC on VLAN 30; starts it and
/// snapshots it.
pub async fn example(client: &Client) -> Result<(), Error> {
    for vm in qemu::get(client, "pve1", &Default::default()).await? {
        println!("{} {:?} {}", vm.vmid, vm.name, vm.status);
    }
    // Read, change, write back, all typed; the digest turns a concurrent edit into
    // Error::Conflict instead of a silent overwrite.
    let config = qemu::config::get(client, "pve1", 101, &Default::default()).await?;
    let mut net0 = config.net[&0].clone();
    net0.tag = Some(30);
    let mut change = qemu::config::PutParams {
        memory: config.memory.map(|mut m| {
            m.current = 4096;
            m
        }),
        digest: Some(config.digest),
        ..Default::default()
    };
    change.net.insert(0, net0);
    qemu::config::put(client, "pve1", 101, &change).await?;
    // A task's id is a Upid; a task that fails is Error::TaskFailed with its log's tail.
    let upid = qemu::status::start::post(client, "pve1", 101, &Default::default()).await?;
    client.wait_task_ok(&upid, WaitOptions::default()).await?;
    // Parameters with a required field have no Default: `new` takes the required ones.
    let snap = qemu::snapshot::PostParams {
        description: Some("before the upgrade".into()),
        ..qemu::snapshot::PostParams::new("pre-upgrade".into())
    };
    let upid = qemu::snapshot::post(client, "pve1", 101, &snap).await?;
    println!(
        "{} of VM {} on {}",
        upid.worker_type(),
        upid.worker_id(),
        upid.node()
    );
    client.wait_task_ok(&upid, WaitOptions::default()).await?;
    Ok(())
}
// README-END

#[tokio::test]
async fn the_readme_example_runs_against_fakepve() {
    let pve = common::FakePve::start().await;
    let client = common::alice(&pve);
    example(&client).await.unwrap();
    let config = qemu::config::get(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    assert_eq!(config.net[&0].tag, Some(30));
    assert_eq!(config.memory.map(|m| m.current), Some(4096));
    let status = qemu::status::current::get(&client, "pve1", 101)
        .await
        .unwrap();
    assert_eq!(status.status, proxmox_mcp::enums::RunStatus::Running);
    let snapshots = qemu::snapshot::get(&client, "pve1", 101).await.unwrap();
    assert!(
        snapshots.iter().any(|s| s.name == "pre-upgrade"),
        "{snapshots:?}"
    );
    // Building the README's client needs no network; its fingerprint is a placeholder.
    assert!(connect().is_err());
}

#[test]
fn the_readme_shows_this_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Using the SDK")
        .nth(1)
        .expect("README has a \"Using the SDK\" section");
    let shown = section
        .split("```rust\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("the section has a rust block");
    let source = std::fs::read_to_string(root.join("tests/readme.rs")).unwrap();
    let code = source
        .split("// README-BEGIN\n")
        .nth(1)
        .and_then(|rest| rest.split("// README-END").next())
        .unwrap();
    assert_eq!(
        shown, code,
        "README.md's SDK example differs from tests/readme.rs: copy the code between the markers"
    );
}
