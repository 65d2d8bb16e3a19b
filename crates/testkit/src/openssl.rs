//! The `openssl` command line as a test peer: whether it is installed, running it in a
//! directory, and the seed guide's Appendix A recipe (a CA and a host certificate made by
//! hand).
//!
//! A test that needs openssl starts with [`Openssl::or_skip`], which prints why the test is
//! skipped when openssl is missing, so a skip is never mistaken for a pass:
//!
//! ```
//! use vespa_tls_testkit::{HostKey, Openssl};
//! let Some(openssl) = Openssl::or_skip() else { return };
//! let dir = tempfile::tempdir().unwrap();
//! let files = openssl.appendix_a(dir.path(), HostKey::EcP256);
//! assert!(files.certificates.exists());
//! ```

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use vespa_tls_config::Files;

/// What a test prints when it is skipped because openssl is missing.
pub const SKIPPED: &str = "skipped: openssl not found";

/// The `openssl` binary on `PATH`, known to run.
///
/// A value exists only when `openssl version` succeeded, so every method can assume openssl
/// is there; a command that fails panics with its arguments and openssl's stderr.
#[derive(Debug, Clone, Copy)]
pub struct Openssl {
    _found: (),
}

/// The host key of the Appendix A recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKey {
    /// `openssl ecparam -name prime256v1 -genkey -noout`: a SEC1 P-256 key, as the guide does.
    EcP256,
    /// `openssl genrsa 2048`: a PKCS#8 RSA key.
    Rsa2048,
}

/// The CA of the Appendix A recipe: `root-ca.pem` and `root-ca.key` in the recipe's dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendixCa {
    /// `root-ca.pem`: the self-signed CA certificate.
    pub certificate: PathBuf,
    /// `root-ca.key`: its SEC1 P-256 key.
    pub private_key: PathBuf,
}

/// The guide's extension file for host certificates, with one DNS name.
const HOST_EXTENSIONS: &str = "[host_cert_extensions]\n\
    basicConstraints       = critical, CA:FALSE\n\
    keyUsage               = critical, digitalSignature, keyAgreement, keyEncipherment\n\
    extendedKeyUsage       = serverAuth, clientAuth\n\
    subjectKeyIdentifier   = hash\n\
    authorityKeyIdentifier = keyid,issuer\n\
    subjectAltName         = @host_sans\n\
    [host_sans]\n\
    DNS.1 = myhost.example.com\n";

impl Openssl {
    /// Whether openssl is installed (`openssl version` runs and succeeds); asked once per
    /// process.
    pub fn available() -> bool {
        static FOUND: OnceLock<bool> = OnceLock::new();
        *FOUND.get_or_init(|| {
            Command::new("openssl")
                .arg("version")
                .output()
                .is_ok_and(|out| out.status.success())
        })
    }

    /// openssl, or `None` when it is not installed. Prints nothing: for callers with a
    /// fallback of their own.
    pub fn find() -> Option<Openssl> {
        Openssl::available().then_some(Openssl { _found: () })
    }

    /// openssl, or `None` after printing [`SKIPPED`] when it is not installed: the first line of
    /// a test (or of a cross-check) that needs it.
    #[expect(
        clippy::print_stdout,
        reason = "a skipped test says why, in the test output"
    )]
    pub fn or_skip() -> Option<Openssl> {
        let found = Openssl::find();
        if found.is_none() {
            println!("{SKIPPED}");
        }
        found
    }

    /// Runs `openssl <args>` in `dir` and returns its stdout; panics with the arguments, the
    /// exit status and openssl's output when it fails.
    #[track_caller]
    pub fn run<I, S>(&self, dir: &Path, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (shown, out) = self.output(dir, args);
        assert!(
            out.status.success(),
            "openssl {shown} (in {}): {}\n{}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `openssl <args>` in `dir` and says whether it succeeded: for commands whose answer
    /// is their exit status, such as `openssl verify`. Panics only if openssl cannot start.
    #[track_caller]
    pub fn succeeds<I, S>(&self, dir: &Path, args: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.output(dir, args).1.status.success()
    }

    /// The seed guide's Appendix A CA, written to `dir`: a P-256 key (`ecparam -genkey`) and a
    /// self-signed certificate (`req -new -x509`), valid ten years.
    #[track_caller]
    pub fn appendix_a_ca(&self, dir: &Path) -> AppendixCa {
        self.ec_p256_key(dir, "root-ca.key");
        self.run(
            dir,
            [
                "req",
                "-new",
                "-x509",
                "-nodes",
                "-key",
                "root-ca.key",
                "-out",
                "root-ca.pem",
                "-subj",
                "/C=US/L=California/O=ACME/OU=ACME test root CA",
                "-sha256",
                "-days",
                "3650",
            ],
        );
        AppendixCa {
            certificate: dir.join("root-ca.pem"),
            private_key: dir.join("root-ca.key"),
        }
    }

    /// The whole Appendix A recipe in `dir`: the CA of [`Openssl::appendix_a_ca`], a host key,
    /// a CSR, and the host certificate signed with the guide's extension file (serverAuth and
    /// clientAuth, `DNS:myhost.example.com`, no CN). Returns Vespa's three files:
    /// `root-ca.pem`, `host.pem`, `host.key`.
    #[track_caller]
    pub fn appendix_a(&self, dir: &Path, host_key: HostKey) -> Files {
        let ca = self.appendix_a_ca(dir);
        self.appendix_a_host_csr(dir, host_key);
        self.appendix_a_sign(dir, "host.csr", "host.pem");
        Files {
            ca_certificates: ca.certificate,
            certificates: dir.join("host.pem"),
            private_key: dir.join("host.key"),
        }
    }

    /// The guide's signing step in `dir`, where [`Openssl::appendix_a_ca`] made the CA: the
    /// request `csr` signed into the host certificate `out` (both relative to `dir`) with the
    /// guide's extension file (written as `cert-exts.cnf`).
    #[track_caller]
    pub fn appendix_a_sign(&self, dir: &Path, csr: &str, out: &str) {
        let extensions = dir.join("cert-exts.cnf");
        if let Err(e) = std::fs::write(&extensions, HOST_EXTENSIONS) {
            panic!("{}: cannot write: {e}", extensions.display());
        }
        self.run(
            dir,
            [
                "x509",
                "-req",
                "-in",
                csr,
                "-CA",
                "root-ca.pem",
                "-CAkey",
                "root-ca.key",
                "-CAcreateserial",
                "-out",
                out,
                "-extfile",
                "cert-exts.cnf",
                "-extensions",
                "host_cert_extensions",
                "-days",
                "3650",
                "-sha256",
            ],
        );
    }

    /// The arguments of an `openssl s_client` connection to `127.0.0.1:PORT` for the name
    /// `localhost`, trusting the CA bundle `ca` and presenting `identity` (certificate chain,
    /// private key) when given; the caller adds its own options and runs `openssl` with them.
    pub fn s_client_args(port: u16, ca: &Path, identity: Option<(&Path, &Path)>) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            "-CAfile",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.push(ca.into());
        if let Some((certificates, private_key)) = identity {
            args.extend([
                "-cert".into(),
                certificates.into(),
                "-key".into(),
                private_key.into(),
            ]);
        }
        args
    }

    /// The path of openssl's default config file (`openssl version -d`), for tests that extend
    /// it with sections of their own.
    pub fn default_config(&self) -> PathBuf {
        let dir = std::env::temp_dir();
        let text = self.run(&dir, ["version", "-d"]);
        text.split('"')
            .nth(1)
            .map_or_else(|| PathBuf::from("/usr/lib/ssl"), PathBuf::from)
            .join("openssl.cnf")
    }

    /// The guide's host key and certificate signing request commands, verbatim, in `dir`:
    /// `host.key` and `host.csr` (returned).
    #[track_caller]
    pub fn appendix_a_host_csr(&self, dir: &Path, host_key: HostKey) -> PathBuf {
        match host_key {
            HostKey::EcP256 => self.ec_p256_key(dir, "host.key"),
            HostKey::Rsa2048 => {
                self.run(dir, ["genrsa", "-out", "host.key", "2048"]);
            }
        }
        self.run(
            dir,
            [
                "req",
                "-new",
                "-key",
                "host.key",
                "-out",
                "host.csr",
                "-subj",
                "/C=US/L=California/OU=ACME/O=My Vespa App",
                "-sha256",
            ],
        );
        dir.join("host.csr")
    }

    /// A SEC1 P-256 key as the guide makes them (`ecparam -genkey -noout`).
    #[track_caller]
    fn ec_p256_key(&self, dir: &Path, out: &str) {
        self.run(
            dir,
            [
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                out,
            ],
        );
    }

    #[track_caller]
    fn output<I, S>(&self, dir: &Path, args: I) -> (String, Output)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<S> = args.into_iter().collect();
        let shown = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        let out = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("openssl {shown}: cannot start: {e}"));
        (shown, out)
    }
}
