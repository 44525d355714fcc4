//! From a libpq-style URL to what the pool connects with: the driver's
//! [`Config`], a rustls connector that does what the URL's `sslmode` asks, and
//! the schema the URL's `search_path` names.
//!
//! rust-postgres knows `sslmode=disable|prefer|require` only and no
//! `sslrootcert`, so both are taken out of the URL here and carried out by the
//! certificate verifier given to rustls, with libpq's meanings:
//!
//! | `sslmode` | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` (the default) | when the server offers TLS | no |
//! | `require` | always | no; with `sslrootcert`, as `verify-ca` (as libpq does) |
//! | `verify-ca` | always | signed by a root of `sslrootcert` |
//! | `verify-full` | always | signed by a root of `sslrootcert`, and names the host |
//!
//! `sslrootcert` is a PEM file of CA certificates; without it, or with
//! `sslrootcert=system`, the roots are Mozilla's (webpki-roots, compiled in,
//! so a container without a CA bundle verifies the same). Unix-socket hosts
//! never use TLS, whatever `sslmode` says (libpq ignores it there too).
//! rustls with the `ring` provider: no system OpenSSL.

use std::sync::Arc;

use percent_encoding::percent_decode_str;
use postgres::config::{Config, Host, SslMode};
use postgres::tls::MakeTlsConnect;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, Result};

/// The TLS connector of every pooled connection: tokio-postgres-rustls's,
/// which refuses an empty host name. The driver asks for a connector before
/// every connection, also on a Unix socket, which has no host name and never
/// uses TLS (sslmode is `disable` there, see [`parse`]), so an empty name is
/// replaced by one that parses and is never used.
#[derive(Clone)]
pub(crate) struct Tls(MakeRustlsConnect);

impl<S> MakeTlsConnect<S> for Tls
where
    MakeRustlsConnect: MakeTlsConnect<S>,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, host: &str) -> std::result::Result<Self::TlsConnect, Self::Error> {
        self.0.make_tls_connect(if host.is_empty() { "localhost" } else { host })
    }
}

/// The URL's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    fn parse(s: &str) -> Result<TlsMode> {
        Ok(match s {
            "disable" => TlsMode::Disable,
            "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(Error::validation(
                    "url",
                    format!(
                        "sslmode={other} is not supported (use disable, prefer, require, verify-ca or verify-full)"
                    ),
                ));
            }
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

/// A parsed URL: what to connect to and how.
pub(crate) struct Target {
    pub(crate) config: Config,
    pub(crate) tls: Tls,
    pub(crate) mode: TlsMode,
    /// The first schema of the `search_path` the URL's `options` set, if any.
    pub(crate) search_path: Option<String>,
}

/// The driver's [`Config`] of `url`, whose `sslmode` and `sslrootcert` it
/// does not know, so they are taken out and returned beside it. Errors never
/// quote the URL: it may hold a password.
pub(crate) fn driver_config(url: &str) -> Result<(Config, TlsMode, Option<String>)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = TlsMode::Prefer;
    let mut root_cert: Option<String> = None;
    let mut kept = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let decoded = || percent_decode_str(value).decode_utf8_lossy().into_owned();
        match percent_decode_str(key).decode_utf8_lossy().as_ref() {
            "sslmode" => mode = TlsMode::parse(&decoded())?,
            "sslrootcert" => root_cert = Some(decoded()),
            _ => kept.push(param),
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    // The parser's own message could quote the URL, password included.
    let config: Config = rest.parse().map_err(|_| {
        Error::validation(
            "url",
            "not a valid PostgreSQL URL (expected postgresql://user:password@host:port/database?options)",
        )
    })?;
    Ok((config, mode, root_cert))
}

/// What to connect to and how, from `url`.
pub(crate) fn parse(url: &str) -> Result<Target> {
    let (mut config, mode, root_cert) = driver_config(url)?;
    let unix = config.get_hosts().iter().filter(|h| matches!(h, Host::Unix(_))).count();
    let driver_mode = if unix > 0 && unix == config.get_hosts().len() {
        SslMode::Disable
    } else if unix > 0 && mode != TlsMode::Disable {
        // The driver would try TLS on the socket too, and fail.
        return Err(Error::validation(
            "url",
            "a URL mixing Unix-socket and TCP hosts needs sslmode=disable (sockets never use TLS)",
        ));
    } else {
        match mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    };
    config.ssl_mode(driver_mode);

    let tls = Tls(MakeRustlsConnect::new(client_config(mode, root_cert.as_deref())?));
    let search_path = config.get_options().map(search_path).transpose()?.flatten();
    Ok(Target { config, tls, mode, search_path })
}

fn client_config(mode: TlsMode, root_cert: Option<&str>) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verify_chain =
        matches!(mode, TlsMode::VerifyCa | TlsMode::VerifyFull) || (mode == TlsMode::Require && root_cert.is_some());
    let verifier: Arc<dyn ServerCertVerifier> = if verify_chain {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root_cert)?), provider.clone())
            .build()
            .map_err(|e| Error::validation("sslrootcert", format!("cannot verify with these roots: {e}")))?;
        if mode == TlsMode::VerifyFull { webpki } else { Arc::new(ChainOnly(webpki)) }
    } else {
        Arc::new(Unverified(provider.signature_verification_algorithms))
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The trust anchors: the PEM file `sslrootcert` names, else Mozilla's.
fn roots(root_cert: Option<&str>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        None | Some("system") => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(file) => {
            let certs = CertificateDer::pem_file_iter(file).map_err(|e| pem_error(file, e))?;
            for cert in certs {
                let cert = cert.map_err(|e| pem_error(file, e))?;
                roots.add(cert).map_err(|e| {
                    Error::validation("sslrootcert", format!("{file} holds a certificate that is not a usable CA: {e}"))
                })?;
            }
            if roots.is_empty() {
                return Err(Error::validation("sslrootcert", format!("{file} holds no PEM certificate")));
            }
        }
    }
    Ok(roots)
}

fn pem_error(file: &str, e: rustls::pki_types::pem::Error) -> Error {
    match e {
        rustls::pki_types::pem::Error::Io(io) => Error::Io { path: file.to_owned(), message: io.to_string() },
        other => Error::validation("sslrootcert", format!("{file} is not a PEM certificate file: {other:?}")),
    }
}

/// `prefer` and `require` (without `sslrootcert`): encrypted, but any
/// certificate is accepted, as libpq does. The handshake's signatures are
/// still checked, so the connection is to whoever holds the certificate's key.
#[derive(Debug)]
struct Unverified(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the host name is not
/// checked. rustls checks the name last, after the chain, so its name error
/// means everything else passed.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The store's schema as the server options in the URL set it
/// (`options=-csearch_path%3Dmyschema`, or `-c search_path=...`,
/// `--search_path=...`): the first schema of the last `search_path` given,
/// folded to lower case unless quoted, as PostgreSQL reads it.
fn search_path(options: &str) -> Result<Option<String>> {
    // libpq splits options at whitespace; a backslash keeps the next character.
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut found = None;
    let mut words = words.iter();
    while let Some(w) = words.next() {
        let setting = match w.as_str() {
            "-c" => words.next().map(String::as_str),
            w => w.strip_prefix("--").or_else(|| w.strip_prefix("-c")),
        };
        if let Some((name, value)) = setting.and_then(|s| s.split_once('=')) {
            if name.replace('-', "_").eq_ignore_ascii_case("search_path") {
                found = Some(value.to_owned());
            }
        }
    }
    found.map(|v| first_schema(&v)).transpose()
}

fn first_schema(list: &str) -> Result<String> {
    let list = list.trim_start();
    let name = match list.strip_prefix('"') {
        Some(quoted) => {
            let mut name = String::new();
            let mut chars = quoted.chars().peekable();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        name.push('"');
                    }
                    Some('"') => break,
                    Some(c) => name.push(c),
                    None => return Err(Error::validation("url", "search_path has an unterminated quoted name")),
                }
            }
            name
        }
        None => list.split(',').next().unwrap_or("").trim().to_ascii_lowercase(),
    };
    if name.is_empty() {
        return Err(Error::validation("url", "search_path in the URL's options names no schema"));
    }
    if name == "$user" {
        return Err(Error::validation(
            "url",
            "search_path in the URL's options starts with $user: name the store's schema first \
             (options=-csearch_path%3Dmyschema)",
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod test {
    use super::*;

    fn refused(url: &str) -> Error {
        match parse(url) {
            Err(e) => e,
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_and_mapped() {
        let t = parse("postgresql://u:pw@db.example:6543/app?sslmode=verify-full&application_name=x").unwrap();
        assert_eq!(t.mode, TlsMode::VerifyFull);
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(t.config.get_application_name(), Some("x"));
        let t = parse("postgres://u@h/db").unwrap();
        assert_eq!((t.mode, t.config.get_ssl_mode()), (TlsMode::Prefer, SslMode::Prefer), "libpq's default");
        let t = parse("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);
        // Sockets never use TLS, whatever the URL says.
        let t = parse("postgresql://u@/db?host=/tmp/sock&sslmode=require").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);

        let bad = refused("postgresql://u:s3cret@h/db?sslmode=allow");
        assert_eq!(bad.field(), Some("url"));
        assert!(bad.to_string().contains("verify-full") && !bad.to_string().contains("s3cret"), "{bad}");
        let missing = refused("postgresql://u@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt");
        assert_eq!(missing.code(), "IO", "{missing}");
        assert!(missing.to_string().contains("/nonexistent/ca.crt"), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let url = format!("postgresql://u@h/db?sslmode=verify-full&sslrootcert={}", empty.display());
        assert_eq!(refused(&url).field(), Some("sslrootcert"));
        // Shown without the password, also with TLS options the driver does not know.
        let shown = crate::display_database(std::path::Path::new(
            "postgresql://app:s3cret@db.example/app?sslmode=verify-full&sslrootcert=/etc/ca.pem",
        ));
        assert_eq!(shown, "postgresql://app@db.example:5432/app");
    }

    #[test]
    fn the_schema_comes_from_the_urls_search_path() {
        let schema = |url: &str| parse(url).map(|t| t.search_path);
        assert_eq!(
            schema("postgresql://u@h/db?options=-csearch_path%3Dmyschema").unwrap().as_deref(),
            Some("myschema")
        );
        assert_eq!(
            schema("postgresql://u@h/db?options=-c%20search_path%3DTenant,public").unwrap().as_deref(),
            Some("tenant")
        );
        assert_eq!(
            schema("postgresql://u@h/db?options=--search_path%3D%22My%5C%20Schema%22,public").unwrap().as_deref(),
            Some("My Schema")
        );
        assert_eq!(
            schema("postgresql://u@h/db?options=-cstatement_timeout%3D5s%20-csearch_path%3Da%20-csearch_path%3Db")
                .unwrap()
                .as_deref(),
            Some("b"),
            "the last setting wins, as on the server"
        );
        assert_eq!(schema("postgresql://u@h/db?options=-cstatement_timeout%3D5s").unwrap(), None);
        assert_eq!(schema("postgresql://u@h/db").unwrap(), None);
        assert_eq!(
            schema("postgresql://u@h/db?options=-csearch_path%3D%24user,public").unwrap_err().field(),
            Some("url")
        );
        assert_eq!(schema("postgresql://u@h/db?options=-csearch_path%3D").unwrap_err().field(), Some("url"));
    }
}
