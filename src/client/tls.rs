//! TLS modes: system roots, a CA file, a pinned certificate fingerprint, or (asked for by name)
//! no verification.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::Error;

/// How the client checks PVE's certificate.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// The system's trusted roots and the host name (the default).
    #[default]
    Strict,
    /// Only the CA certificates in this PEM file (PVE's `/etc/pve/pve-root-ca.pem`), and the
    /// host name.
    CaFile(PathBuf),
    /// The system's roots plus the CA certificates in this PEM file, if any, and the host name.
    /// When verification fails, the error shows the presented certificate's SHA-256 fingerprint
    /// and how to pin it: a self-signed certificate is never accepted silently.
    Verify(Option<PathBuf>),
    /// Exactly the certificate with this SHA-256 fingerprint (`AB:CD:...`, as PVE shows it), as
    /// Proxmox's own tools do; the host name is not checked.
    Fingerprint(String),
    /// No verification at all. Anyone on the path can read and change the traffic.
    Insecure,
}

/// Parses `AB:CD:...` or plain hex into the 32 bytes of a SHA-256 digest.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], Error> {
    let hex: String = s
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    let bad = || Error::Config {
        message: format!(
            "`{s}` is not a SHA-256 fingerprint: expected 32 hex bytes such as AB:CD:...:EF \
             (PVE shows it under Node → System → Certificates)"
        ),
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

fn show(fp: &[u8]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Records the SHA-256 of the certificate the server presents and, with a pin, accepts exactly
/// that certificate; handshake signatures are still verified by rustls.
struct PinnedCert {
    /// The fingerprint to accept; `None` accepts any certificate (only to read its fingerprint).
    pin: Option<[u8; 32]>,
    /// The fingerprint presented in the last handshake.
    seen: Mutex<Option<[u8; 32]>>,
    provider: Arc<CryptoProvider>,
}

impl PinnedCert {
    fn new(pin: Option<[u8; 32]>, provider: Arc<CryptoProvider>) -> Self {
        PinnedCert {
            pin,
            seen: Mutex::new(None),
            provider,
        }
    }
}

impl fmt::Debug for PinnedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedCert")
            .field("pin", &self.pin.as_ref().map(|p| show(p)))
            .finish()
    }
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, end_entity.as_ref());
        let mut presented = [0u8; 32];
        presented.copy_from_slice(digest.as_ref());
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(presented);
        match self.pin {
            Some(pin) if pin != presented => Err(rustls::Error::General(format!(
                "the server presents the certificate {}, but the pinned fingerprint is {}",
                show(&presented),
                show(&pin)
            ))),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Verifies as `inner` does; a failure names the presented certificate's fingerprint and how to
/// pin it.
#[derive(Debug)]
struct HintOnFailure {
    inner: rustls_platform_verifier::Verifier,
}

impl ServerCertVerifier for HintOnFailure {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| {
                let digest =
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, end_entity.as_ref());
                let fp = show(digest.as_ref());
                rustls::Error::General(format!(
                    "certificate not trusted ({e}); the server presents a certificate with \
                     SHA-256 fingerprint {fp}: if the PVE host shows the same (`pvenode cert \
                     info`), pin it with PROXMOX_FINGERPRINT={fp}, or trust PVE's CA with \
                     PROXMOX_SSL_CA_CERT=/etc/pve/pve-root-ca.pem"
                ))
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn config_error(message: String) -> Error {
    Error::Config { message }
}

/// A rustls client configuration with this verifier.
fn with_verifier(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<rustls::ClientConfig, Error> {
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Applies `mode` to a reqwest client builder.
pub(crate) fn apply(
    builder: reqwest::ClientBuilder,
    mode: &TlsMode,
) -> Result<reqwest::ClientBuilder, Error> {
    Ok(match mode {
        TlsMode::Strict => builder,
        TlsMode::CaFile(path) => {
            let pem = std::fs::read(path).map_err(|e| Error::Config {
                message: format!("cannot read CA file {}: {e}", path.display()),
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Config {
                message: format!(
                    "CA file {} holds no usable PEM certificate: {e}",
                    path.display()
                ),
            })?;
            if certs.is_empty() {
                return Err(Error::Config {
                    message: format!("CA file {} holds no PEM certificate", path.display()),
                });
            }
            builder.tls_certs_only(certs)
        }
        TlsMode::Fingerprint(fp) => {
            let fingerprint = parse_fingerprint(fp)?;
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let pinned = Arc::new(PinnedCert::new(Some(fingerprint), provider.clone()));
            builder.tls_backend_preconfigured(with_verifier(provider, pinned)?)
        }
        TlsMode::Verify(ca) => {
            use rustls::pki_types::pem::PemObject;
            let extra: Vec<CertificateDer<'static>> = match ca {
                Some(path) => CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<_, _>>())
                    .map_err(|e| {
                        config_error(format!("cannot read CA file {}: {e}", path.display()))
                    })?,
                None => Vec::new(),
            };
            if ca.is_some() && extra.is_empty() {
                return Err(config_error(format!(
                    "CA file {} holds no PEM certificate",
                    ca.as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                )));
            }
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let inner =
                rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                    .map_err(|e| config_error(format!("TLS setup: {e}")))?;
            let verifier = Arc::new(HintOnFailure { inner });
            builder.tls_backend_preconfigured(with_verifier(provider, verifier)?)
        }
        TlsMode::Insecure => {
            tracing::warn!(
                "TLS verification is OFF (insecure mode): anyone on the network path can read \
                 and change this traffic, credentials included; pin the certificate fingerprint \
                 instead"
            );
            builder.tls_danger_accept_invalid_certs(true)
        }
    })
}

/// The SHA-256 fingerprint (`AB:CD:...`) of the certificate `host:port` presents, read without
/// trusting it, as `PROXMOX_FINGERPRINT` wants it. Only the TLS handshake happens: nothing is sent
/// over the connection. `timeout` bounds the connection and the handshake.
pub async fn presented_fingerprint(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<String, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let recorder = Arc::new(PinnedCert::new(None, provider.clone()));
    let config = with_verifier(provider, recorder.clone())?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| config_error(format!("`{host}` is not a host name or an IP address")))?;
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| Error::Connect {
                message: format!(
                    "cannot connect to {host}:{port}: {}",
                    super::response::tidy_cause(&e.to_string())
                ),
            })?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| Error::Tls {
                message: format!("handshake with {host}:{port} failed: {e}"),
            })
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| Error::Timeout { after: timeout })??;
    let seen = *recorder.seen.lock().unwrap_or_else(|e| e.into_inner());
    seen.map(|fp| show(&fp)).ok_or_else(|| Error::Tls {
        message: format!("handshake with {host}:{port}: no certificate presented"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_both_forms() {
        let colon = (0..32)
            .map(|i| format!("{i:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let plain = colon.replace(':', "").to_lowercase();
        assert_eq!(
            parse_fingerprint(&colon).unwrap(),
            parse_fingerprint(&plain).unwrap()
        );
        assert_eq!(parse_fingerprint(&colon).unwrap()[31], 31);
        assert!(parse_fingerprint("AB:CD").is_err());
        assert!(parse_fingerprint(&"ZZ".repeat(32)).is_err());
        // Multi-byte characters of the right byte length: an error, not a panic.
        assert!(parse_fingerprint(&format!("é{}", "A".repeat(62))).is_err());
        assert!(parse_fingerprint(&"ü".repeat(32)).is_err());
    }
}
