//! Writes the seed corpus, `fuzz/corpus/<target>/`, from scratch:
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds
//! ```
//!
//! Certificates and keys are made here with `vespa-tls-pki` (fresh keys on every run, a test CA
//! that is trusted nowhere); the rest is the guide's examples and the specification's. The
//! corpus is committed, so the fuzzers start from the same place everywhere.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use time::{Duration, OffsetDateTime};
use vespa_tls_authz::GlobDialect;
use vespa_tls_fuzz::{AUTHZ_POLICIES, GlobCase, join_files};
use vespa_tls_pki::{CaParams, CertificateAuthority, KeyType, NodeParams, Validity};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    config_json(&corpus.join("config_json"))?;
    certificates(&corpus)?;
    glob(&corpus.join("glob"))?;
    authz(&corpus.join("authz"))?;
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Failure> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn config_json(dir: &Path) -> Result<(), Failure> {
    write(
        dir,
        "guide-minimal.json",
        br#"{
  "files": {
    "ca-certificates": "/absolute/path/to/ca-certs.pem",
    "certificates": "/absolute/path/to/host-certs.pem",
    "private-key": "/absolute/path/to/private-key.pem"
  }
}"#,
    )?;
    write(dir, "policies.json", AUTHZ_POLICIES.as_bytes())?;
    write(
        dir,
        "everything.json",
        br#"{
  "files": {"ca-certificates": "ca.pem", "certificates": "/h\u00e9.pem", "private-key": null},
  "colour": [],
  "accepted-ciphers": ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "RC4"],
  "accepted-protocols": ["TLSv1.3", "TLSv1.1"],
  "disable-hostname-validation": true
}"#,
    )?;
    write(
        dir,
        "duplicate-key.json",
        br#"{"files": {"ca-certificates": "/a", "certificates": "/b", "private-key": "/c", "certificates": "/d"}}"#,
    )?;
    Ok(())
}

fn certificates(corpus: &Path) -> Result<(), Failure> {
    let start = OffsetDateTime::from_unix_timestamp(1_767_225_600)?; // 2026-01-01
    let validity = Validity::new(start, start + Duration::days(3650));
    let root = CertificateAuthority::new_root(&CaParams::new("fuzz seed root CA", validity))?;
    let intermediate =
        root.issue_intermediate(&CaParams::new("fuzz seed intermediate", validity))?;
    let node = intermediate.issue(
        &NodeParams::new("node1.example.com", validity)
            .with_dns("node1.mycluster.vespa.example.com")
            .with_dns("localhost")
            .with_uri("vespa://myapp/content/node1")
            .with_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    )?;
    let p384 = root.issue(
        &NodeParams::new("p384.example.com", validity)
            .with_key_type(KeyType::EcdsaP384)
            .with_dns("*.us-east-1.monitor.example.com"),
    )?;
    let rsa = root.issue(
        &NodeParams::new("rsa", validity)
            .without_common_name()
            .with_key_type(KeyType::Rsa2048)
            .with_uri("myscheme://my/fancy/?magic"),
    )?;

    // Inputs with working private keys are not committed (project policy): `cargo xtask fuzz`
    // makes P-256, P-384, RSA-2048 and leaf-not-first sets with `vespa-tls ca` for every run.
    // The committed seed is the chain without a key.
    let mut chain = node.cert_pem.clone();
    chain.push_str(&intermediate.cert_pem());
    write(
        &corpus.join("pem_material"),
        "chain-without-key",
        &join_files(root.ca_bundle_pem().as_bytes(), chain.as_bytes(), b""),
    )?;

    let leaves = corpus.join("cert_credentials");
    write(&leaves, "node.der", node.cert_der.as_ref())?;
    write(&leaves, "p384.der", p384.cert_der.as_ref())?;
    write(&leaves, "no-cn.der", rsa.cert_der.as_ref())?;
    write(&leaves, "ca.der", root.cert_der().as_ref())?;
    Ok(())
}

fn glob(dir: &Path) -> Result<(), Failure> {
    use GlobDialect::{Dns, Uri};
    let cases = [
        (Dns, false, "*.bar.baz", "foo.bar.baz"),
        (Dns, false, "*.bar.baz", "zoid.foo.bar.baz"),
        (Dns, false, "f?o", "foo"),
        (Dns, false, "f?o", "f.o"),
        (
            Dns,
            true,
            "*.us-east-*.monitor.example.com",
            "i1.us-east-2.monitor.example.com",
        ),
        (
            Dns,
            true,
            "*a*a*a*a*a*a*b",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        (Dns, false, "?é*ü?", "xéabcüy"),
        (
            Uri,
            false,
            "vespa://myapp/content/*",
            "vespa://myapp/content/node1",
        ),
        (
            Uri,
            false,
            "vespa://myapp/content/*",
            "vespa://myapp/content/node1/myservice",
        ),
        (
            Uri,
            true,
            "myscheme://my/fancy/*?magic",
            "myscheme://my/fancy/?magic",
        ),
        (Uri, false, "", ""),
    ];
    for (i, (dialect, long_text, pattern, text)) in cases.into_iter().enumerate() {
        let case = GlobCase {
            dialect,
            long_text,
            pattern: pattern.to_owned(),
            text: text.to_owned(),
        };
        write(dir, &format!("spec-{i:02}"), &case.to_bytes())?;
    }
    Ok(())
}

fn authz(dir: &Path) -> Result<(), Failure> {
    let peers: [(&str, &str); 6] = [
        (
            "monitoring",
            "cvespa-monitoring.example.com\ndi1.us-east-2.monitor.example.com\n",
        ),
        (
            "monitoring-west",
            "cvespa-monitoring.example.com\ndi1.us-west-1.monitor.example.com\n",
        ),
        (
            "cluster",
            "cnode1\ndnode1.mycluster.vespa.example.com\nuvespa://myapp/content/node1\n",
        ),
        ("fancy", "cfoo\numyscheme://my/fancy/?magic\n"),
        ("unknown-capability", "cx\n"),
        ("empty-san", "d\n"),
    ];
    for (name, lines) in peers {
        write(dir, name, lines.as_bytes())?;
    }
    Ok(())
}
