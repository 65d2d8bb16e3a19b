//! A throw-away PKI in a temp dir: a CA, a server and a client for localhost, and fixtures.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};
use vespa_tls_config::{Files, TransportSecurityOptions};
use vespa_tls_pki::{
    CaParams, CertificateAuthority, ExtendedKeyUsages, IssuedCertificate, KeyType, NodeFiles,
    NodeParams, Validity, write_node_files, write_public_file, write_secret_file,
};

use crate::convert::{
    self, EncryptedBy, ed25519_self_signed, legacy_encrypted_sec1, pkcs8_to_pkcs1, pkcs8_to_sec1,
};
use crate::error::{ConvertProblem, TestkitError};

/// The DNS name every test certificate carries (VESPA-BEHAVIOUR §7).
pub const LOCALHOST_DNS: &str = "localhost";
/// The IP address every test certificate carries (VESPA-BEHAVIOUR §7).
pub const LOCALHOST_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A CA with a server and a client certificate for localhost, written in a temp dir that is
/// deleted when this value is dropped.
///
/// ```
/// let pki = vespa_tls_testkit::TestPki::new()?;
/// let files = &pki.server().written.files;
/// assert!(files.private_key.starts_with(pki.dir()));
/// assert!(pki.server().written.config_path.exists());
/// # Ok::<(), vespa_tls_testkit::TestkitError>(())
/// ```
#[derive(Debug)]
pub struct TestPki {
    dir: TempDir,
    now: OffsetDateTime,
    key_type: KeyType,
    ca: CertificateAuthority,
    /// The CA that issues nodes: `ca` itself, or an intermediate under it.
    issuer: Option<CertificateAuthority>,
    server: Node,
    client: Node,
}

/// Options for [`TestPki`].
#[derive(Debug, Clone, Default)]
pub struct TestPkiBuilder {
    now: Option<OffsetDateTime>,
    key_type: KeyType,
    intermediate: bool,
}

/// One issued certificate and the files written for it.
#[derive(Debug, Clone)]
pub struct Node {
    /// The certificate, its key and chain, in memory.
    pub issued: IssuedCertificate,
    /// The three files and a config file naming them, all absolute paths.
    pub written: NodeFiles,
}

/// One node's material in memory, ready for a rustls config (no files involved).
#[derive(Debug)]
pub struct InMemoryNode {
    /// The certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
    /// The trust anchors: what `ca-certificates` holds.
    pub ca_certificates: Vec<CertificateDer<'static>>,
}

impl Node {
    /// The three credential files.
    pub fn files(&self) -> &Files {
        &self.written.files
    }

    /// The TLS config file naming them.
    pub fn config_path(&self) -> &Path {
        &self.written.config_path
    }
}

impl TestPkiBuilder {
    /// The instant certificates are valid around (default: the clock when built). Certificates
    /// are valid from `now - 1 hour` to `now + 365 days`.
    pub fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = Some(now);
        self
    }

    /// The key type of the CA and the nodes (default ECDSA P-256).
    pub fn key_type(mut self, key_type: KeyType) -> Self {
        self.key_type = key_type;
        self
    }

    /// Whether nodes are issued by an intermediate CA (default: directly by the root). With an
    /// intermediate, each `certificates` file holds the leaf, then the intermediate.
    pub fn intermediate(mut self, yes: bool) -> Self {
        self.intermediate = yes;
        self
    }

    /// Makes the CA and the two nodes and writes their files.
    pub fn build(self) -> Result<TestPki, TestkitError> {
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        // Certificates keep whole seconds; so does `now`, so day counts come out exact.
        let now = now.replace_nanosecond(0).unwrap_or(now);
        let dir = tempfile::Builder::new()
            .prefix("vespa-tls-testkit-")
            .tempdir()
            .map_err(|error| TestkitError::Io {
                path: std::env::temp_dir(),
                action: "create temp dir",
                error,
            })?;
        let validity = default_validity(now);
        let ca = CertificateAuthority::new_root(
            &CaParams::new("vespa-tls test root CA", validity)
                .with_organization("vespa-tls testkit")
                .with_key_type(self.key_type),
        )?;
        let issuer = if self.intermediate {
            Some(
                ca.issue_intermediate(
                    &CaParams::new("vespa-tls test intermediate CA", validity)
                        .with_key_type(self.key_type),
                )?,
            )
        } else {
            None
        };
        let issuing = issuer.as_ref().unwrap_or(&ca);
        let server = issue_into(
            &ca,
            issuing,
            dir.path(),
            "server",
            &localhost_params("server.localhost", validity, self.key_type),
        )?;
        let client = issue_into(
            &ca,
            issuing,
            dir.path(),
            "client",
            &localhost_params("client.localhost", validity, self.key_type),
        )?;
        Ok(TestPki {
            dir,
            now,
            key_type: self.key_type,
            ca,
            issuer,
            server,
            client,
        })
    }
}

impl TestPki {
    /// A P-256 CA, server and client, valid around the current time.
    pub fn new() -> Result<TestPki, TestkitError> {
        TestPki::builder().build()
    }

    /// Options.
    pub fn builder() -> TestPkiBuilder {
        TestPkiBuilder::default()
    }

    /// The temp dir holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The instant the certificates are valid around (whole seconds).
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The root CA (its certificate is the `ca-certificates` file).
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// The CA that issues nodes: the intermediate if there is one, else the root.
    pub fn issuer(&self) -> &CertificateAuthority {
        self.issuer.as_ref().unwrap_or(&self.ca)
    }

    /// The server node (`CN=server.localhost`, `DNS:localhost`, `IP:127.0.0.1`, both EKUs).
    pub fn server(&self) -> &Node {
        &self.server
    }

    /// The client node (`CN=client.localhost`, `DNS:localhost`, `IP:127.0.0.1`, both EKUs).
    pub fn client(&self) -> &Node {
        &self.client
    }

    /// The default window: `now - 1 hour` to `now + 365 days`.
    pub fn validity(&self) -> Validity {
        default_validity(self.now)
    }

    /// Parameters for a localhost node with this PKI's key type and validity.
    pub fn localhost_params(&self, common_name: &str) -> NodeParams {
        localhost_params(common_name, self.validity(), self.key_type)
    }

    /// Issues another node and writes its files into `dir()/name/`.
    pub fn issue(&self, name: &str, params: &NodeParams) -> Result<Node, TestkitError> {
        issue_into(
            &self.ca,
            self.issuer(),
            &self.dir.path().join(name),
            name,
            params,
        )
    }

    /// Writes a negative (or unusual) fixture into `dir()/fixture-<name>/` and returns its files.
    pub fn fixture(&self, fixture: Fixture) -> Result<FixtureFiles, TestkitError> {
        let dir = self.dir.path().join(format!("fixture-{}", fixture.name()));
        let validity = self.validity();
        let params = |cn: &str| self.localhost_params(cn);
        let bundle = self.ca.ca_bundle_pem();
        let mut encrypted_by = None;
        let written = match fixture {
            Fixture::Expired => {
                let start = self.now - Duration::days(30);
                let p = params("expired")
                    .with_validity(Validity::new(start, self.now - Duration::days(1)));
                self.write(&dir, &self.issuer().issue(&p)?, &bundle)?
            }
            Fixture::NotYetValid => {
                let p = params("not-yet-valid")
                    .with_validity(Validity::days_from(self.now + Duration::days(1), 30));
                self.write(&dir, &self.issuer().issue(&p)?, &bundle)?
            }
            Fixture::SignedByAnotherCa => {
                let other = CertificateAuthority::new_root(&CaParams::new("another CA", validity))?;
                self.write(&dir, &other.issue(&params("stranger"))?, &bundle)?
            }
            Fixture::ServerAuthOnly => {
                let p = params("server-only")
                    .with_extended_key_usages(ExtendedKeyUsages::ServerAuthOnly);
                self.write(&dir, &self.issuer().issue(&p)?, &bundle)?
            }
            Fixture::EncryptedPkcs8Key => {
                let node = self.issuer().issue(&params("encrypted"))?;
                let written = self.write(&dir, &node, &bundle)?;
                let (pem, by) = convert::encrypt_pkcs8(&node.key_pem, &dir)?;
                encrypted_by = Some(by);
                write_secret_file(&written.files.private_key, pem.as_bytes())?;
                written
            }
            Fixture::EncryptedLegacyKey => {
                let node = self.issuer().issue(&params("legacy-encrypted"))?;
                let written = self.write(&dir, &node, &bundle)?;
                write_secret_file(
                    &written.files.private_key,
                    legacy_encrypted_sec1()?.as_bytes(),
                )?;
                written
            }
            Fixture::Pkcs1Key => {
                let node = self
                    .issuer()
                    .issue(&params("pkcs1").with_key_type(KeyType::Rsa2048))?;
                let written = self.write(&dir, &node, &bundle)?;
                write_secret_file(
                    &written.files.private_key,
                    pkcs8_to_pkcs1(&node.key_pem)?.expose().as_bytes(),
                )?;
                written
            }
            Fixture::Sec1Key => {
                let key_type = match self.key_type {
                    KeyType::Rsa2048 => KeyType::EcdsaP256,
                    ec => ec,
                };
                let node = self
                    .issuer()
                    .issue(&params("sec1").with_key_type(key_type))?;
                let written = self.write(&dir, &node, &bundle)?;
                write_secret_file(
                    &written.files.private_key,
                    pkcs8_to_sec1(&node.key_pem, key_type)?.expose().as_bytes(),
                )?;
                written
            }
            Fixture::Ed25519Key => {
                let node = self.issuer().issue(&params("ed25519"))?;
                let written = self.write(&dir, &node, &bundle)?;
                let (cert_pem, key_pem) = ed25519_self_signed("ed25519.localhost")?;
                write_public_file(&written.files.certificates, cert_pem.as_bytes())?;
                write_secret_file(&written.files.private_key, key_pem.expose().as_bytes())?;
                written
            }
            Fixture::LeafNotFirst => {
                let node = self.issuer().issue(&params("leaf-not-first"))?;
                let written = self.write(&dir, &node, &bundle)?;
                // The issuing CA's certificate first, then the leaf.
                let text = format!("{}{}", self.issuer().cert_pem(), node.cert_pem);
                write_public_file(&written.files.certificates, text.as_bytes())?;
                written
            }
            Fixture::KeyDoesNotMatch => {
                let node = self.issuer().issue(&params("mismatch"))?;
                let other = self.issuer().issue(&params("mismatch"))?;
                let written = self.write(&dir, &node, &bundle)?;
                write_secret_file(
                    &written.files.private_key,
                    other.key_pem.expose().as_bytes(),
                )?;
                written
            }
            Fixture::EmptyCaFile => {
                self.variant(&dir, |f| write_public_file(&f.ca_certificates, b""))?
            }
            Fixture::EmptyCertificateFile => {
                self.variant(&dir, |f| write_public_file(&f.certificates, b""))?
            }
            Fixture::EmptyKeyFile => {
                self.variant(&dir, |f| write_secret_file(&f.private_key, b""))?
            }
            Fixture::NotPemCaFile => self.variant(&dir, |f| {
                write_public_file(&f.ca_certificates, b"this is not a PEM file\n")
            })?,
            Fixture::KeyInCaFile => {
                let node = self.issuer().issue(&params("key-in-ca"))?;
                let written = self.write(&dir, &node, &bundle)?;
                let text = format!("{bundle}{}", node.key_pem.expose());
                write_secret_file(&written.files.ca_certificates, text.as_bytes())?;
                written
            }
            Fixture::KeyInCertificateFile => {
                let node = self.issuer().issue(&params("key-in-cert"))?;
                let written = self.write(&dir, &node, &bundle)?;
                let text = format!("{}{}", node.certificates_pem(), node.key_pem.expose());
                write_secret_file(&written.files.certificates, text.as_bytes())?;
                written
            }
            Fixture::CertificateInKeyFile => {
                let node = self.issuer().issue(&params("cert-in-key"))?;
                let written = self.write(&dir, &node, &bundle)?;
                let text = format!("{}{}", node.key_pem.expose(), node.cert_pem);
                write_secret_file(&written.files.private_key, text.as_bytes())?;
                written
            }
        };
        Ok(FixtureFiles {
            fixture,
            config_path: written.config_path,
            files: written.files,
            encrypted_by,
        })
    }

    /// The server's material in memory, for building TLS configs without files.
    pub fn server_in_memory(&self) -> Result<InMemoryNode, TestkitError> {
        self.in_memory(&self.server.issued)
    }

    /// The client's material in memory.
    pub fn client_in_memory(&self) -> Result<InMemoryNode, TestkitError> {
        self.in_memory(&self.client.issued)
    }

    /// Any issued certificate's material in memory, trusting this PKI's root.
    pub fn in_memory(&self, issued: &IssuedCertificate) -> Result<InMemoryNode, TestkitError> {
        let mut chain = vec![issued.cert_der.clone()];
        chain.extend(issued.chain.iter().cloned());
        Ok(InMemoryNode {
            chain,
            key: issued.private_key_der()?,
            ca_certificates: vec![self.ca.root_der().clone()],
        })
    }

    fn write(
        &self,
        dir: &Path,
        node: &IssuedCertificate,
        bundle: &str,
    ) -> Result<NodeFiles, TestkitError> {
        Ok(write_node_files(dir, "node", node, bundle)?)
    }

    /// A good node whose files are then changed by `change`.
    fn variant(
        &self,
        dir: &Path,
        change: impl FnOnce(&Files) -> Result<(), vespa_tls_pki::PkiError>,
    ) -> Result<NodeFiles, TestkitError> {
        let node = self.issuer().issue(&self.localhost_params("variant"))?;
        let written = self.write(dir, &node, &self.ca.ca_bundle_pem())?;
        change(&written.files)?;
        Ok(written)
    }
}

/// A fixture: material that some rule of VESPA-BEHAVIOUR §2b or §6 is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fixture {
    /// The leaf expired a day before [`TestPki::now`].
    Expired,
    /// The leaf becomes valid a day after [`TestPki::now`].
    NotYetValid,
    /// The leaf was issued by a CA that is not in `ca-certificates`.
    SignedByAnotherCa,
    /// The leaf has `serverAuth` only (Vespa nodes are clients too).
    ServerAuthOnly,
    /// The key file holds an `ENCRYPTED PRIVATE KEY` block (PKCS#8 v2, aes-256-cbc).
    EncryptedPkcs8Key,
    /// The key file holds a legacy OpenSSL-encrypted `EC PRIVATE KEY` (`Proc-Type: 4,ENCRYPTED`).
    EncryptedLegacyKey,
    /// A valid RSA key in PKCS#1 form (`RSA PRIVATE KEY`): accepted.
    Pkcs1Key,
    /// A valid EC key in SEC1 form (`EC PRIVATE KEY`): accepted.
    Sec1Key,
    /// An Ed25519 key with a self-signed certificate for it.
    Ed25519Key,
    /// The `certificates` file holds the issuing CA's certificate first, then the leaf.
    LeafNotFirst,
    /// The key belongs to another certificate.
    KeyDoesNotMatch,
    /// `ca-certificates` is an empty file.
    EmptyCaFile,
    /// `certificates` is an empty file.
    EmptyCertificateFile,
    /// `private-key` is an empty file.
    EmptyKeyFile,
    /// `ca-certificates` holds text with no PEM block.
    NotPemCaFile,
    /// `ca-certificates` holds the CA certificate and a private key.
    KeyInCaFile,
    /// `certificates` holds the chain and the private key.
    KeyInCertificateFile,
    /// `private-key` holds the key and a certificate.
    CertificateInKeyFile,
}

impl Fixture {
    /// Every fixture.
    pub const ALL: [Fixture; 18] = [
        Fixture::Expired,
        Fixture::NotYetValid,
        Fixture::SignedByAnotherCa,
        Fixture::ServerAuthOnly,
        Fixture::EncryptedPkcs8Key,
        Fixture::EncryptedLegacyKey,
        Fixture::Pkcs1Key,
        Fixture::Sec1Key,
        Fixture::Ed25519Key,
        Fixture::LeafNotFirst,
        Fixture::KeyDoesNotMatch,
        Fixture::EmptyCaFile,
        Fixture::EmptyCertificateFile,
        Fixture::EmptyKeyFile,
        Fixture::NotPemCaFile,
        Fixture::KeyInCaFile,
        Fixture::KeyInCertificateFile,
        Fixture::CertificateInKeyFile,
    ];

    /// A kebab-case name, used for the fixture's directory.
    pub fn name(self) -> &'static str {
        match self {
            Fixture::Expired => "expired",
            Fixture::NotYetValid => "not-yet-valid",
            Fixture::SignedByAnotherCa => "signed-by-another-ca",
            Fixture::ServerAuthOnly => "server-auth-only",
            Fixture::EncryptedPkcs8Key => "encrypted-pkcs8-key",
            Fixture::EncryptedLegacyKey => "encrypted-legacy-key",
            Fixture::Pkcs1Key => "pkcs1-key",
            Fixture::Sec1Key => "sec1-key",
            Fixture::Ed25519Key => "ed25519-key",
            Fixture::LeafNotFirst => "leaf-not-first",
            Fixture::KeyDoesNotMatch => "key-does-not-match",
            Fixture::EmptyCaFile => "empty-ca-file",
            Fixture::EmptyCertificateFile => "empty-certificate-file",
            Fixture::EmptyKeyFile => "empty-key-file",
            Fixture::NotPemCaFile => "not-pem-ca-file",
            Fixture::KeyInCaFile => "key-in-ca-file",
            Fixture::KeyInCertificateFile => "key-in-certificate-file",
            Fixture::CertificateInKeyFile => "certificate-in-key-file",
        }
    }
}

/// The files of one fixture.
#[derive(Debug, Clone)]
pub struct FixtureFiles {
    /// Which fixture.
    pub fixture: Fixture,
    /// The three credential files (absolute paths).
    pub files: Files,
    /// A TLS config file naming them.
    pub config_path: PathBuf,
    /// For [`Fixture::EncryptedPkcs8Key`]: whether openssl made the key or this crate did.
    pub encrypted_by: Option<EncryptedBy>,
}

/// A TCP listener on `127.0.0.1` with a port chosen by the kernel.
pub fn bind_loopback() -> Result<TcpListener, TestkitError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|error| TestkitError::Io {
        path: PathBuf::from("127.0.0.1:0"),
        action: "bind",
        error,
    })
}

/// A config JSON for the given files with every default (hostname validation on).
pub fn config_json(files: &Files) -> String {
    TransportSecurityOptions::with_files(files.clone()).to_json()
}

/// Reads the certificates in a PEM file (for assertions in tests).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TestkitError> {
    let bytes = fs::read(path).map_err(|error| TestkitError::Io {
        path: path.to_owned(),
        action: "read",
        error,
    })?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TestkitError::Convert {
            what: "read certificates",
            problem: ConvertProblem::Pem(e),
        })
}

fn default_validity(now: OffsetDateTime) -> Validity {
    Validity::new(now - Duration::hours(1), now + Duration::days(365))
}

fn localhost_params(common_name: &str, validity: Validity, key_type: KeyType) -> NodeParams {
    NodeParams::new(common_name, validity)
        .with_dns(LOCALHOST_DNS)
        .with_ip(LOCALHOST_IP)
        .with_key_type(key_type)
}

fn issue_into(
    root: &CertificateAuthority,
    issuer: &CertificateAuthority,
    dir: &Path,
    name: &str,
    params: &NodeParams,
) -> Result<Node, TestkitError> {
    let issued = issuer.issue(params)?;
    let written = write_node_files(dir, name, &issued, &root.ca_bundle_pem())?;
    Ok(Node { issued, written })
}
