//! Secrets PVE returns are replaced before an answer reaches a tool result: a thin layer over
//! the library's [`proxmox_mcp::redact`], which knows each method's secret fields from the
//! catalog and adds a name-based net for what the schema does not declare.

use proxmox_mcp::catalog::Endpoint;
use serde_json::Value;

/// `data` with the values of secret-looking keys replaced, for answers whose method is not known
/// (or that were reshaped, such as a guest configuration built from its pending list).
pub fn redact(data: Value) -> Value {
    proxmox_mcp::redact::redact(None, data)
}

/// `data`, the answer of `ep`, with the fields `ep` declares secret and the values of
/// secret-looking keys replaced.
pub fn redact_for(ep: &Endpoint, data: Value) -> Value {
    proxmox_mcp::redact::redact(Some(ep), data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxmox_mcp::apidoc::HttpMethod;
    use proxmox_mcp::catalog::find;
    use proxmox_mcp::redact::REDACTED;
    use serde_json::json;

    #[test]
    fn replaces_secrets_only() {
        let v = redact(json!({"ticket": "PVE:root@pam:X", "username": "root@pam",
                              "list": [{"full-tokenid": "a@pve!x", "value": "s3cret"}],
                              "cfg": {"value": "keep"}}));
        assert_eq!(v["ticket"], REDACTED);
        assert_eq!(v["username"], "root@pam");
        assert_eq!(v["list"][0]["value"], REDACTED);
        assert_eq!(v["cfg"]["value"], "keep");
    }

    #[test]
    fn declared_fields_need_the_endpoint() {
        let ep = find(HttpMethod::Get, "/cluster/sdn/dns/{dns}").unwrap();
        let answer = json!({"dns": "pdns", "key": "PDNS-KEY", "url": "http://dns"});
        assert_eq!(redact(answer.clone())["key"], "PDNS-KEY");
        let v = redact_for(ep, answer);
        assert_eq!(v["key"], REDACTED);
        assert_eq!(v["url"], "http://dns");
    }
}
