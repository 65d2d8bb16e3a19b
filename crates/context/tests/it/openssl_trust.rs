//! Trust decided as Vespa's OpenSSL side decides it: for every case, built with openssl, our
//! handshake decision equals `openssl verify -purpose sslclient` (our server judging a client)
//! and `-purpose sslserver` (our client judging a server).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed step should stop the test"
)]

use std::path::{Path, PathBuf};

use crate::common::handshake;
use vespa_tls_config::Files;
use vespa_tls_context::{PeerRejection, PeerRole, TlsContext};
use vespa_tls_testkit::{Openssl, Policy, TestConfig};

const EXTENSIONS: &str = "\
[root_ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
[ca_without_keycertsign]
basicConstraints=critical,CA:TRUE
keyUsage=critical,digitalSignature,cRLSign
[ca_constrained]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign
nameConstraints=critical,permitted;DNS:example.com
[ca_server_purpose_only]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
extendedKeyUsage=serverAuth
[node_server_purpose_only]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost
[leaf]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost
[leaf_key_encipherment]
basicConstraints=CA:FALSE
keyUsage=critical,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost
[leaf_example_san]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:node.example.com
[leaf_cn_only]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
[node_that_signs]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyCertSign
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost
";

/// `openssl ca`'s minimal setup, for certificates with explicit start and end dates.
const CA_CONFIG: &str = "\
[ca]
default_ca=d
[d]
database=db/index.txt
serial=db/serial
new_certs_dir=db
default_md=sha256
policy=p
unique_subject=no
[p]
commonName=supplied
";

struct Workdir {
    dir: PathBuf,
    openssl: Openssl,
    _temp: tempfile::TempDir,
}

impl Workdir {
    fn new(openssl: Openssl) -> Workdir {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_owned();
        std::fs::write(dir.join("ext.cnf"), EXTENSIONS).unwrap();
        std::fs::write(dir.join("ca.cnf"), CA_CONFIG).unwrap();
        std::fs::create_dir(dir.join("db")).unwrap();
        std::fs::write(dir.join("db/index.txt"), "").unwrap();
        std::fs::write(dir.join("db/serial"), "01\n").unwrap();
        let mut config = std::fs::read_to_string(openssl.default_config()).unwrap_or_default();
        config.push('\n');
        config.push_str(EXTENSIONS);
        std::fs::write(dir.join("req.cnf"), config).unwrap();
        Workdir {
            dir,
            openssl,
            _temp: temp,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    #[track_caller]
    fn openssl(&self, args: &[&str]) {
        self.openssl.run(&self.dir, args);
    }

    /// A P-256 key (PKCS#8, unencrypted) and a CSR with subject CN=`cn`, in one run.
    fn key_and_csr(&self, name: &str, cn: &str) {
        let (key, csr, subject) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("/CN={cn}"),
        );
        self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-subj",
            &subject,
            "-out",
            &csr,
        ]);
    }

    /// A self-signed v3 certificate with the extensions of `section`.
    fn self_signed(&self, name: &str, cn: &str, section: &str) {
        self.key_and_csr(name, cn);
        let (key, pem, subject) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("/CN={cn}"),
        );
        self.openssl(&[
            "req",
            "-x509",
            "-key",
            &key,
            "-subj",
            &subject,
            "-days",
            "30",
            "-config",
            "req.cnf",
            "-extensions",
            section,
            "-out",
            &pem,
        ]);
    }

    /// A self-signed v1 certificate (no extensions at all).
    fn self_signed_v1(&self, name: &str, cn: &str) {
        self.key_and_csr(name, cn);
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        self.openssl(&[
            "x509", "-req", "-in", &csr, "-signkey", &key, "-days", "30", "-out", &pem,
        ]);
    }

    /// A self-signed CA valid only from `start` to `end` (`YYYYMMDDHHMMSSZ`).
    fn self_signed_dated(&self, name: &str, cn: &str, start: &str, end: &str) {
        self.key_and_csr(name, cn);
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        self.openssl(&[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-selfsign",
            "-keyfile",
            &key,
            "-in",
            &csr,
            "-startdate",
            start,
            "-enddate",
            end,
            "-extfile",
            "ext.cnf",
            "-extensions",
            "root_ca",
            "-notext",
            "-out",
            &pem,
        ]);
    }

    /// `name` signed by `issuer` with the extensions of `section`.
    fn issue(&self, name: &str, cn: &str, issuer: &str, section: &str) {
        self.key_and_csr(name, cn);
        let (csr, pem) = (format!("{name}.csr"), format!("{name}.pem"));
        let (ca, ca_key) = (format!("{issuer}.pem"), format!("{issuer}.key"));
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "20",
            "-extfile",
            "ext.cnf",
            "-extensions",
            section,
            "-out",
            &pem,
        ]);
    }

    fn concat(&self, out: &str, parts: &[&str]) {
        let mut text = String::new();
        for part in parts {
            text.push_str(&std::fs::read_to_string(self.path(&format!("{part}.pem"))).unwrap());
        }
        std::fs::write(self.path(out), text).unwrap();
    }
}

/// One case: the CA bundle the verifying side trusts, and what the peer presents.
struct Case {
    name: &'static str,
    /// Builds the material; returns (bundle file, chain leaf-first files, peer key name).
    build: fn(&Workdir) -> Peer,
    /// What openssl (and so we) should decide: (as a client, as a server).
    expected: (bool, bool),
}

struct Peer {
    bundle: &'static str,
    chain: &'static [&'static str],
    key: &'static str,
}

/// The most common case: the bundle is `root`, the peer presents `leaf` alone.
const ROOT_AND_LEAF: Peer = Peer {
    bundle: "root",
    chain: &["leaf"],
    key: "leaf",
};

const CASES: &[Case] = &[
    Case {
        name: "a CA and a leaf it issued",
        build: |w| {
            w.self_signed("root", "Root CA", "root_ca");
            w.issue("leaf", "node.example.com", "root", "leaf");
            ROOT_AND_LEAF
        },
        expected: (true, true),
    },
    Case {
        name: "a non-CA self-signed anchor signing another leaf",
        build: |w| {
            w.self_signed("node", "node-a", "node_that_signs");
            w.issue("leaf", "node-b", "node", "leaf");
            Peer {
                bundle: "node",
                chain: &["leaf"],
                key: "leaf",
            }
        },
        expected: (false, false),
    },
    Case {
        name: "that anchor pinned for itself",
        build: |w| {
            w.self_signed("node", "node-a", "node_that_signs");
            Peer {
                bundle: "node",
                chain: &["node"],
                key: "node",
            }
        },
        expected: (true, true),
    },
    Case {
        name: "an expired root",
        build: |w| {
            w.self_signed_dated("root", "Expired Root", "20200101000000Z", "20210101000000Z");
            w.issue("leaf", "node.example.com", "root", "leaf");
            ROOT_AND_LEAF
        },
        expected: (false, false),
    },
    Case {
        name: "a root not yet valid",
        build: |w| {
            w.self_signed_dated("root", "Future Root", "20900101000000Z", "20910101000000Z");
            w.issue("leaf", "node.example.com", "root", "leaf");
            ROOT_AND_LEAF
        },
        expected: (false, false),
    },
    Case {
        name: "a root without keyCertSign",
        build: |w| {
            w.self_signed("root", "Root CA", "ca_without_keycertsign");
            w.issue("leaf", "node.example.com", "root", "leaf");
            ROOT_AND_LEAF
        },
        expected: (false, false),
    },
    Case {
        name: "an intermediate without keyCertSign",
        build: |w| {
            w.self_signed("root", "Root CA", "root_ca");
            w.issue("inter", "Intermediate CA", "root", "ca_without_keycertsign");
            w.issue("leaf", "node.example.com", "inter", "leaf");
            Peer {
                bundle: "root",
                chain: &["leaf", "inter"],
                key: "leaf",
            }
        },
        expected: (false, false),
    },
    Case {
        name: "a good intermediate",
        build: |w| {
            w.self_signed("root", "Root CA", "root_ca");
            w.issue("inter", "Intermediate CA", "root", "root_ca");
            w.issue("leaf", "node.example.com", "inter", "leaf");
            Peer {
                bundle: "root",
                chain: &["leaf", "inter"],
                key: "leaf",
            }
        },
        expected: (true, true),
    },
    Case {
        name: "a leaf without digitalSignature (keyEncipherment only)",
        build: |w| {
            w.self_signed("root", "Root CA", "root_ca");
            w.issue("leaf", "node.example.com", "root", "leaf_key_encipherment");
            ROOT_AND_LEAF
        },
        // sslclient needs digitalSignature or keyAgreement; sslserver also takes
        // keyEncipherment.
        expected: (false, true),
    },
    Case {
        name: "a name-constrained CA with a CN-only leaf outside the constraint",
        build: |w| {
            w.self_signed("root", "Constrained CA", "ca_constrained");
            w.issue("leaf", "node.other.com", "root", "leaf_cn_only");
            ROOT_AND_LEAF
        },
        expected: (false, false),
    },
    Case {
        name: "a name-constrained CA with a CN-only leaf inside the constraint",
        build: |w| {
            w.self_signed("root", "Constrained CA", "ca_constrained");
            w.issue("leaf", "node.example.com", "root", "leaf_cn_only");
            ROOT_AND_LEAF
        },
        expected: (true, true),
    },
    Case {
        name: "a name-constrained CA with a CN-only leaf whose first CN is outside",
        build: |w| {
            w.self_signed("root", "Constrained CA", "ca_constrained");
            w.issue(
                "leaf",
                "evil.other.com/CN=node.example.com",
                "root",
                "leaf_cn_only",
            );
            ROOT_AND_LEAF
        },
        expected: (false, false),
    },
    Case {
        name: "a root whose extendedKeyUsage is serverAuth only",
        build: |w| {
            w.self_signed("root", "Server Purpose Root", "ca_server_purpose_only");
            w.issue("leaf", "node.example.com", "root", "leaf");
            ROOT_AND_LEAF
        },
        expected: (false, true),
    },
    Case {
        name: "a pinned self-signed node whose extendedKeyUsage is serverAuth only",
        build: |w| {
            w.self_signed("node", "node-a", "node_server_purpose_only");
            Peer {
                bundle: "node",
                chain: &["node"],
                key: "node",
            }
        },
        expected: (false, true),
    },
    Case {
        name: "a v1 root",
        build: |w| {
            w.self_signed_v1("root", "V1 Root");
            w.issue("leaf", "node.example.com", "root", "leaf");
            ROOT_AND_LEAF
        },
        expected: (true, true),
    },
];

/// A context for `files` without hostname validation: the chain decision alone is compared,
/// as `openssl verify` checks no host name.
fn context(files: &Files) -> TlsContext {
    TestConfig::new(files)
        .disable_hostname_validation(true)
        .context()
}

/// What `openssl verify -purpose` says about the peer's chain.
fn openssl_accepts(w: &Workdir, peer: &Peer, purpose: &str) -> bool {
    let bundle = format!("{}.pem", peer.bundle);
    let leaf = format!("{}.pem", peer.chain[0]);
    let mut args = vec!["verify", "-CAfile", &bundle, "-purpose", purpose];
    if peer.chain.len() > 1 {
        w.concat("untrusted.pem", &peer.chain[1..]);
        args.extend(["-untrusted", "untrusted.pem"]);
    }
    args.push(&leaf);
    w.openssl.succeeds(&w.dir, args)
}

fn files(dir: &Path, bundle: &str, chain: &str, key: &str) -> Files {
    Files {
        ca_certificates: dir.join(bundle),
        certificates: dir.join(chain),
        private_key: dir.join(key),
    }
}

#[test]
fn our_decision_equals_openssl_verify_for_every_case() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let mut report = Vec::new();
    // The side we do not test, the same in every case: a node of its own CA, which the peer
    // trusts fully.
    let other_side = Workdir::new(openssl);
    other_side.self_signed("other_ca", "Other CA", "root_ca");
    other_side.issue("other", "other.example.com", "other_ca", "leaf");
    let other = files(&other_side.dir, "other_ca.pem", "other.pem", "other.key");
    for case in CASES {
        let w = Workdir::new(openssl);
        let peer = (case.build)(&w);
        w.concat("peer_chain.pem", peer.chain);
        let peer_files = || Files {
            ca_certificates: other.ca_certificates.clone(),
            certificates: w.path("peer_chain.pem"),
            private_key: w.path(&format!("{}.key", peer.key)),
        };
        let bundle = format!("{}.pem", peer.bundle);

        // Our server judges the peer as a client; the peer trusts our server.
        let server = context(&Files {
            ca_certificates: w.path(&bundle),
            ..other.clone()
        });
        let client = context(&peer_files());
        let outcome = handshake(&client, &server, "localhost");
        let server_accepts = outcome.server_error.is_none() && !outcome.server.is_handshaking();
        if let Some(e) = &outcome.server_error {
            assert!(
                matches!(e, rustls::Error::InvalidCertificate(_)),
                "{}: the server refused for another reason: {e:?}",
                case.name
            );
        }

        // Our client judges the peer as a server; the peer trusts our client.
        let client = context(&Files {
            ca_certificates: w.path(&bundle),
            ..other.clone()
        });
        let server = context(&peer_files());
        let outcome = handshake(&client, &server, "localhost");
        let client_accepts = outcome.client_error.is_none() && !outcome.client.is_handshaking();
        if let Some(e) = &outcome.client_error {
            assert!(
                matches!(e, rustls::Error::InvalidCertificate(_)),
                "{}: the client refused for another reason: {e:?}",
                case.name
            );
        }

        let openssl = (
            openssl_accepts(&w, &peer, "sslclient"),
            openssl_accepts(&w, &peer, "sslserver"),
        );
        report.push(format!(
            "{:<70} openssl {:?} ours {:?}",
            case.name,
            openssl,
            (server_accepts, client_accepts)
        ));
        assert_eq!(
            openssl, case.expected,
            "{}: the case is not built as meant",
            case.name
        );
        assert_eq!(
            (server_accepts, client_accepts),
            openssl,
            "{}: (as a client, as a server) differs from openssl verify",
            case.name
        );
    }
    println!("{}", report.join("\n"));
}

/// Beyond OpenSSL: a CN that the chain's DNS name constraints do not vouch for is treated as
/// absent. The chain itself is fine (openssl verify accepts it: with a DNS SAN, OpenSSL leaves
/// the CN alone), so a CN rule cannot match, while a SAN rule still does.
#[test]
fn a_cn_the_name_constraints_do_not_vouch_for_is_absent() {
    let Some(openssl) = Openssl::or_skip() else {
        return;
    };
    let w = Workdir::new(openssl);
    w.self_signed("root", "Constrained CA", "ca_constrained");
    w.issue("leaf", "evil.other.com", "root", "leaf_example_san");
    let peer = ROOT_AND_LEAF;
    assert!(
        openssl_accepts(&w, &peer, "sslclient"),
        "the chain is valid"
    );
    w.self_signed("other_ca", "Other CA", "root_ca");
    w.issue("other", "other.example.com", "other_ca", "leaf");
    let server_files = Files {
        ca_certificates: w.path("root.pem"),
        ..files(&w.dir, "other_ca.pem", "other.pem", "other.key")
    };
    let client = context(&files(&w.dir, "other_ca.pem", "leaf.pem", "leaf.key"));
    for (policy, authorized) in [
        (Policy::new("by-cn").cn("evil.other.com"), false),
        (Policy::new("by-any-cn").cn("*.other.com"), false),
        (Policy::new("by-san").san_dns("node.example.com"), true),
    ] {
        let row = format!("{policy:?}");
        let server = TestConfig::new(&server_files)
            .authorized_peers([policy])
            .context();
        let outcome = handshake(&client, &server, "localhost");
        assert_eq!(
            outcome.server_error.is_none(),
            authorized,
            "{row}: {outcome:?}"
        );
        if !authorized {
            let error = outcome.server_error.expect("refused");
            let rejection = PeerRejection::from_rustls(&error).expect("our rejection");
            assert!(
                matches!(rejection, PeerRejection::NotAuthorized { .. }),
                "{row}: {rejection}"
            );
        }
        let chain = vespa_tls_testkit::read_certificates(&w.path("leaf.pem")).unwrap();
        let peer = server
            .verify_peer(
                &chain,
                PeerRole::Client,
                None,
                rustls::pki_types::UnixTime::now(),
            )
            .map(|p| p.credentials.common_name);
        if authorized {
            assert_eq!(peer.unwrap(), None, "{row}: the CN is treated as absent");
        }
    }
}
