//! A guest's usage over time (PVE's `rrddata`), summarised per measure as min, mean, max and the
//! last value, so a model reads a few numbers instead of 70 points of 12 fields.

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::input::{self, text};
use super::send::{Call, Outcome};
use super::tools::guest_endpoints;

/// The methods `proxmox_guest_metrics` reads: the VM's, then the container's.
pub fn endpoints() -> Vec<&'static Endpoint> {
    guest_endpoints(HttpMethod::Get, "/rrddata").to_vec()
}

/// What each measure is, for the output schema.
pub const UNITS: &str = "cpu: fraction of the guest's cores (0..1); mem, maxmem, disk, maxdisk: bytes; \
    diskread, diskwrite, netin, netout: bytes per second";

/// `proxmox_guest_metrics`.
pub async fn run(call: &Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let cluster = call.cluster;
    let vmid = input::vmid(&mut args)?;
    let at = cluster
        .guests
        .locate(
            &cluster.client,
            vmid,
            text(&args, "node").as_deref(),
            text(&args, "type").as_deref(),
        )
        .await?;
    let ep = call.tool.endpoints[usize::from(at.kind == "lxc")];
    let timeframe = text(&args, "timeframe").unwrap_or_else(|| "hour".into());
    let cf = text(&args, "cf").unwrap_or_else(|| "AVERAGE".into());
    let mut form = Form::new();
    form.text("timeframe", &timeframe);
    form.text("cf", &cf);
    let id = vmid.to_string();
    let data = cluster
        .client
        .execute(ep, &[at.node.as_str(), id.as_str()], form)
        .await
        .map_err(|e| explain(&e, &cluster.client))?;
    let points: Vec<&Map<String, Value>> = data
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect();
    let mut out = summary(&points);
    out.insert("vmid".into(), json!(vmid));
    out.insert("node".into(), json!(at.node));
    out.insert("timeframe".into(), json!(timeframe));
    out.insert("cf".into(), json!(cf));
    Ok(Value::Object(out))
}

/// Min, mean, max and last of each numeric measure over the points that have it, with the span
/// of time they cover.
fn summary(points: &[&Map<String, Value>]) -> Map<String, Value> {
    let num = |v: &Value| v.as_f64().or_else(|| v.as_str()?.parse().ok());
    let times: Vec<u64> = points
        .iter()
        .filter_map(|p| p.get("time").and_then(num))
        .filter(|t| *t >= 0.0)
        .map(|t| t as u64)
        .collect();
    let mut names: Vec<&String> = points
        .iter()
        .flat_map(|p| p.keys())
        .filter(|k| k.as_str() != "time")
        .collect();
    names.sort();
    names.dedup();
    let mut measures = Map::new();
    for name in names {
        let values: Vec<f64> = points
            .iter()
            .filter_map(|p| p.get(name.as_str()).and_then(num))
            .filter(|v| v.is_finite())
            .collect();
        let Some(&last) = values.last() else {
            continue;
        };
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        measures.insert(
            name.clone(),
            json!({"min": round(min), "mean": round(mean), "max": round(max), "last": round(last)}),
        );
    }
    let mut out = Map::new();
    out.insert("points".into(), json!(points.len()));
    if let (Some(from), Some(to)) = (times.iter().min(), times.iter().max()) {
        out.insert("from".into(), json!(crate::utc::seconds(*from)));
        out.insert("to".into(), json!(crate::utc::seconds(*to)));
    }
    out.insert("measures".into(), Value::Object(measures));
    out
}

/// Four significant decimals for fractions, whole numbers for bytes.
fn round(v: f64) -> Value {
    if v.abs() >= 100.0 {
        json!(v.round() as i64)
    } else {
        json!((v * 10_000.0).round() / 10_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::summary;
    use serde_json::{Value, json};

    #[test]
    fn min_mean_max_last_per_measure_and_the_span() {
        let a = json!({"time": 1_700_000_000, "cpu": 0.1, "mem": 1000.0, "netin": "50"});
        let b = json!({"time": 1_700_000_060, "cpu": 0.3, "mem": 3000.0});
        let c = json!({"time": 1_700_000_120, "cpu": 0.2, "mem": 2000.0, "netin": null});
        let points: Vec<_> = [&a, &b, &c].iter().filter_map(|v| v.as_object()).collect();
        let s = summary(&points);
        assert_eq!(s["points"], 3);
        assert_eq!(s["from"], "2023-11-14T22:13:20Z");
        assert_eq!(s["to"], "2023-11-14T22:15:20Z");
        let m = &s["measures"];
        assert_eq!(
            m["cpu"],
            json!({"min": 0.1, "mean": 0.2, "max": 0.3, "last": 0.2})
        );
        assert_eq!(
            m["mem"],
            json!({"min": 1000, "mean": 2000, "max": 3000, "last": 2000})
        );
        // A measure only some points have is summarised over those; text numbers are read.
        assert_eq!(m["netin"]["max"], 50.0);
        // PVE's `[{}]` for a guest without data is an empty summary, not an error.
        let empty = json!({});
        let s = summary(&[empty.as_object().unwrap_or(&serde_json::Map::new())]);
        assert_eq!(s["measures"], Value::Object(serde_json::Map::new()));
    }
}
