//! `scan --from-model-inspect`: a cluster's ports as `vespa-model-inspect` lists them, each
//! probed with the protocol its tags call for; and what a close or an alert after the handshake
//! is reported as.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt as _;
use vespa_tls_config::{Files, MixedMode};
use vespa_tls_testkit::{Openssl, SServer, Served, Server, TestConfig, openssl_peer_args};
use vespa_tls_transport::{Acceptor, TlsSource};

use super::cli::{Pki, code, json, pki, run, run_env, s, serve, stderr, stdout, write};

/// The node files `pki()` made (CA in DIR/ca, node1 under it).
fn node_files(pki: &Pki) -> Files {
    let node = pki.dir.path().join("ca/node1");
    Files {
        ca_certificates: node.join("ca-certificates.pem"),
        certificates: node.join("node1.pem"),
        private_key: node.join("node1.key"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// One service as `vespa-model-inspect service TYPE` prints it (configutil's ModelInspect:
/// `NAME @ HOST : CLUSTERTYPE`, the config id, then `    tcp/HOST:PORT (TAGS)` per port).
fn service(
    name: &str,
    host: &str,
    cluster_type: &str,
    config_id: &str,
    ports: &[(u16, &str)],
) -> String {
    let mut text = format!("{name} @ {host} : {cluster_type}\n{config_id}\n");
    for (port, tags) in ports {
        text.push_str(&format!("    tcp/{host}:{port} ({tags})\n"));
    }
    text
}

/// What one endpoint must be judged: (protocol, ok, after the handshake, client certificate
/// required, accepts plaintext).
type Judgement = (&'static str, bool, &'static str, &'static str, &'static str);

const FRT_TLS: Judgement = ("frt", true, "reply", "yes", "no");
const FRT_MIXED: Judgement = ("frt", false, "reply", "yes", "yes");
const HTTP_ON_ECHO: Judgement = ("http", true, "other", "yes", "no");
const TLS_ONLY: Judgement = ("tls", true, "silent", "yes", "not probed");
/// The testkit's sink speaks first (one `!`): bytes nobody asked for, no refusal.
const TLS_SINK: Judgement = ("tls", true, "other", "yes", "not probed");

#[test]
fn scan_from_model_inspect_probes_each_port_as_its_tags_say() {
    let pki = pki();
    let config = s(&pki.config);
    let files = node_files(&pki);
    let frt = [
        serve(&[("VESPA_TLS_CONFIG_FILE", config)], "frt"),
        serve(&[("VESPA_TLS_CONFIG_FILE", config)], "frt"),
    ];
    let mixed = serve(
        &[
            ("VESPA_TLS_CONFIG_FILE", config),
            ("VESPA_TLS_INSECURE_MIXED_MODE", "tls_client_mixed_server"),
        ],
        "frt",
    );
    let echo_process = serve(&[("VESPA_TLS_CONFIG_FILE", config)], "echo");
    let port = |address: &str| -> u16 {
        address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    };
    // A real TLS-only peer with no protocol of ours: openssl s_server, when installed.
    let openssl = Openssl::or_skip().map(|_| {
        SServer::start(
            &files,
            &files.ca_certificates,
            None,
            Duration::from_secs(20),
        )
        .expect("openssl s_server listens")
    });

    // The bulk on loopback in this process: TLS-only echo servers where HTTP ports go, TLS-only
    // sinks (no protocol at all) for the other ports.
    let runtime = runtime();
    let context = Arc::new(TestConfig::new(&files).context());
    let acceptor = Acceptor::new(TlsSource::Fixed(context), MixedMode::TlsClientTlsServer);
    let start = |echo: bool| {
        runtime.block_on(async {
            let builder = if echo {
                Server::echo(acceptor.clone())
            } else {
                Server::sink(acceptor.clone())
            };
            builder.start().await.expect("loopback server")
        })
    };
    let mut expected: HashMap<u16, Judgement> = HashMap::new();
    let mut servers = Vec::new();
    let mut text = String::new();
    text.push_str(&service(
        "configserver",
        "127.0.0.1",
        "admin",
        "admin/configservers/configserver.0",
        &[
            (port(&frt[0].address), "CONFIG RPC"),
            (port(&echo_process.address), "CONFIG HTTP"),
        ],
    ));
    expected.insert(port(&frt[0].address), FRT_TLS);
    expected.insert(port(&echo_process.address), HTTP_ON_ECHO);
    text.push_str(&service(
        "slobrok",
        "127.0.0.1",
        "slobrok",
        "admin/slobrok.0",
        &[(port(&frt[1].address), "STATUS ADMIN RPC")],
    ));
    expected.insert(port(&frt[1].address), FRT_TLS);
    text.push_str(&service(
        "searchnode",
        "127.0.0.1",
        "search",
        "music/search/cluster.music/0",
        &[(port(&mixed.address), "STATUS ADMIN RTC RPC")],
    ));
    expected.insert(port(&mixed.address), FRT_MIXED);
    let logserver_port = match &openssl {
        Some(server) => {
            expected.insert(server.address.port(), TLS_ONLY);
            server.address.port()
        }
        None => {
            let sink = start(false);
            let p = sink.address.port();
            expected.insert(p, TLS_SINK);
            servers.push(sink);
            p
        }
    };
    // An UNUSED port is listed but not probed (nothing would answer).
    text.push_str(&service(
        "logserver",
        "127.0.0.1",
        "admin",
        "admin/logserver",
        &[(1, "UNUSED"), (logserver_port, "LOGTP")],
    ));
    let mut node = 0;
    while expected.len() < 200 {
        let echo = start(true);
        let mut ports = vec![(echo.address.port(), "STATE EXTERNAL QUERY HTTP")];
        expected.insert(echo.address.port(), HTTP_ON_ECHO);
        servers.push(echo);
        if expected.len() < 200 {
            let sink = start(false);
            ports.push((sink.address.port(), "RMIREGISTRY RMI"));
            expected.insert(sink.address.port(), TLS_SINK);
            servers.push(sink);
        }
        text.push_str(&service(
            "qrserver",
            "127.0.0.1",
            "",
            &format!("container/container.{node}"),
            &ports,
        ));
        node += 1;
    }
    // A host name is probed at every address it resolves to.
    let localhost_port = port(&frt[0].address);
    text.push_str(&service(
        "container-clustercontroller",
        "localhost",
        "admin",
        "admin/cluster-controllers/0",
        &[(localhost_port, "STATUS ADMIN RPC")],
    ));
    let localhost: Vec<SocketAddr> = ("localhost", localhost_port)
        .to_socket_addrs()
        .expect("localhost resolves")
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let listing = write(dir.path(), "model-inspect.txt", &text);

    let out = run(&[
        "scan",
        "--from-model-inspect",
        s(&listing),
        "--config",
        config,
        "--timeout",
        "5",
        "--jsonl",
    ]);
    assert_eq!(code(&out), 1, "the mixed-mode port fails: {}", stderr(&out));
    let results: Vec<Value> = stdout(&out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(results.len(), 200 + localhost.len(), "{}", stderr(&out));
    let progress = stderr(&out);
    assert!(
        progress.contains(&format!(
            "scanning 201 endpoints ({} addresses), 32 at a time\n",
            200 + localhost.len()
        )),
        "{progress}"
    );
    assert!(
        progress.contains(&format!("scanned {0}/{0}\n", 200 + localhost.len())),
        "{progress}"
    );
    let mut judged = 0;
    for result in &results {
        if result["host"] == "localhost" {
            continue;
        }
        let p = result["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("port");
        let (protocol, ok, after, cert, plain) = expected[&p];
        let got = (
            result["protocol"].as_str().unwrap_or_default(),
            result["ok"].as_bool().unwrap_or_default(),
            result["tls"]["after_handshake"]
                .as_str()
                .unwrap_or_default(),
            result["requires_client_certificate"]["answer"]
                .as_str()
                .unwrap_or_default(),
            result["accepts_plaintext"]["answer"]
                .as_str()
                .unwrap_or_default(),
        );
        assert_eq!(got, (protocol, ok, after, cert, plain), "{result}");
        assert_eq!(result["address"], format!("127.0.0.1:{p}"));
        judged += 1;
    }
    assert_eq!(judged, 200);
    // Every address of localhost has its own result; the loopback one is the served one.
    let mut addresses: Vec<String> = results
        .iter()
        .filter(|r| r["host"] == "localhost")
        .map(|r| r["address"].as_str().unwrap_or_default().to_owned())
        .collect();
    addresses.sort();
    let mut want: Vec<String> = localhost.iter().map(ToString::to_string).collect();
    want.sort();
    want.dedup();
    assert_eq!(addresses, want);
    let served = results
        .iter()
        .find(|r| r["host"] == "localhost" && r["address"] == format!("127.0.0.1:{localhost_port}"))
        .expect("localhost's IPv4 address is probed");
    assert_eq!(served["ok"], true, "{served}");
    assert_eq!(served["service"], "container-clustercontroller");
    drop(servers);
}

#[test]
fn a_close_after_the_handshake_is_not_a_refused_certificate_but_an_alert_is() {
    let pki = pki();
    let config = s(&pki.config);
    let files = node_files(&pki);
    // Vespa's FRT server closes a connection whose first bytes are not an FRT packet: an HTTP
    // probe of an FRT port sees the handshake succeed and then a close.
    let frt = serve(&[("VESPA_TLS_CONFIG_FILE", config)], "frt");
    let out = run(&[
        "connect",
        &frt.address,
        "--config",
        config,
        "--protocol",
        "http",
        "--json",
    ]);
    let report = json(&out);
    assert_eq!(report["tls"]["ok"], true, "{report}");
    assert_eq!(report["tls"]["after_handshake"], "closed", "{report}");
    assert!(
        !report.to_string().contains("refused our certificate"),
        "{report}"
    );
    assert!(
        report["problems"][0]
            .as_str()
            .is_some_and(|p| p.starts_with("unknown whether the server accepts our certificate")),
        "{report}"
    );
    assert_eq!(code(&out), 1, "unknown is a failure unless --allow-unknown");

    // A server that takes the handshake and closes at once, without an alert.
    let runtime = runtime();
    let context = Arc::new(TestConfig::new(&files).context());
    let acceptor = Acceptor::new(TlsSource::Fixed(context), MixedMode::TlsClientTlsServer);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let closer = listener.local_addr().expect("address");
    runtime.spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // Handshake, then drop: a close with no reply and no alert.
                let _ = acceptor.accept_tcp(socket).await;
            });
        }
    });
    let out = run(&[
        "scan",
        &format!("{closer}"),
        "--config",
        config,
        "--protocol",
        "tls",
        "--allow-unknown",
    ]);
    let table = stdout(&out);
    assert_eq!(code(&out), 0, "{table}");
    assert!(!table.contains("refused"), "{table}");
    assert!(table.contains("ISSUER"), "{table}");
    assert!(
        table.contains("CN=Vespa TLS root CA"),
        "the issuer column: {table}"
    );

    // A server that does not trust our CA sends a TLS alert: that is a refusal, named.
    let other_ca = pki.dir.path().join("other-ca");
    let out = run(&["ca", "init", "--dir", s(&other_ca)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let strict = Files {
        ca_certificates: other_ca.join("ca.pem"),
        ..files.clone()
    };
    let strict_config = write(
        pki.dir.path(),
        "strict.json",
        &TestConfig::new(&strict).to_json(),
    );
    let refusing = serve(&[("VESPA_TLS_CONFIG_FILE", s(&strict_config))], "frt");
    let out = run(&["connect", &refusing.address, "--config", config, "--json"]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["tls"]["ok"], false, "{report}");
    let error = report["tls"]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("the server refused our certificate: it sent the TLS alert"),
        "{report}"
    );
    // And from a real peer: openssl s_server trusting another CA, failing the handshake on a
    // client certificate it cannot verify (without -verify_return_error it would go on; without
    // -rev it would stop at the end of its empty stdin).
    if Openssl::or_skip().is_some() {
        let mut command = std::process::Command::new("openssl");
        command
            .args([
                "s_server",
                "-rev",
                "-accept",
                "127.0.0.1:0",
                "-Verify",
                "1",
                "-verify_return_error",
            ])
            .args(openssl_peer_args(&files, &strict.ca_certificates));
        let server = Served::spawn("openssl s_server", &mut command).expect("openssl starts");
        let accept = server
            .wait_for_line("ACCEPT line", Duration::from_secs(20), |l| {
                l.starts_with("ACCEPT")
            })
            .expect("openssl s_server listens");
        let port = accept.rsplit(':').next().unwrap_or_default();
        let out = run(&[
            "connect",
            &format!("127.0.0.1:{port}"),
            "--config",
            config,
            "--protocol",
            "tls",
            "--json",
        ]);
        let report = json(&out);
        let error = report["tls"]["error"].as_str().unwrap_or_default();
        assert!(
            error
                .starts_with("the server refused our certificate: it sent the TLS alert UnknownCA"),
            "{report}"
        );
        assert_eq!(code(&out), 1);
    }
}

/// No more than `--concurrency` probes at once: a set of tarpits (accept, never answer) counts
/// the connections open at the same time. Every dial ends at `--timeout`, so the run takes
/// 12 × 2 × timeout / 3; half a second keeps it short and is still a whole dial's worth of
/// room for the tarpit to see a closed connection late (the `most` bound allows one per probe).
#[test]
fn scan_concurrency_is_bounded() {
    let pki = pki();
    let runtime = runtime();
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    let mut lines = String::new();
    for _ in 0..12 {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        lines.push_str(&format!(
            "{} tls\n",
            listener.local_addr().expect("address")
        ));
        let (open, most, total) = (Arc::clone(&open), Arc::clone(&most), Arc::clone(&total));
        runtime.spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                total.fetch_add(1, Ordering::SeqCst);
                let open = Arc::clone(&open);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let targets = write(dir.path(), "targets", &lines);
    let out = run_env(
        &[
            "scan",
            "--targets",
            s(&targets),
            "--config",
            s(&pki.config),
            "--concurrency",
            "3",
            "--timeout",
            "0.25",
            "--json",
        ],
        &[],
    );
    assert_eq!(code(&out), 1, "no tarpit completes a handshake");
    let report = json(&out);
    assert_eq!(report["probes"], 12);
    // Two TLS dials per TLS-only probe (with and without our certificate), none in plaintext.
    assert_eq!(total.load(Ordering::SeqCst), 24);
    // A probe's previous connection may not be seen closed yet when its next one arrives.
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 6, "{most} connections at once with --concurrency 3");
}

/// A listing read from stdin with lines that are not vespa-model-inspect output: each is an
/// error naming `stdin:LINE`, the other ports are still probed, and the scan cannot say yes.
#[test]
fn malformed_model_inspect_lines_are_named_and_the_rest_is_probed() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let pki = pki();
    let config = s(&pki.config);
    let frt = serve(&[("VESPA_TLS_CONFIG_FILE", config)], "frt");
    let port = frt.address.rsplit(':').next().expect("port");
    let listing = format!(
        "slobrok @ 127.0.0.1 : slobrok\n\
         admin/slobrok.0\n    \
         tcp/127.0.0.1:{port} (STATUS ADMIN RPC)\n    \
         tcp/127.0.0.1:notaport (RPC)\n\
         Usage: vespa-model-inspect [-h] [-v] [-c host] [-p port] [-t tag]\n"
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_vespa-tls"));
    vespa_tls_testkit::clear_tls_env(&mut command)
        .args([
            "scan",
            "--from-model-inspect",
            "-",
            "--config",
            config,
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("vespa-tls runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(listing.as_bytes())
        .expect("write the listing");
    let out = child.wait_with_output().expect("vespa-tls exits");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["probes"], 1, "{report}");
    assert_eq!(report["failing"], 0, "{report}");
    assert_eq!(report["results"][0]["ok"], true, "{report}");
    assert_eq!(report["results"][0]["service"], "slobrok", "{report}");
    let skipped: Vec<&str> = report["skipped_lines"]
        .as_array()
        .expect("skipped lines")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(skipped.len(), 2, "{report}");
    assert!(skipped[0].starts_with("stdin:4: "), "{skipped:?}");
    assert!(
        skipped[1].starts_with("stdin:5: not a line of vespa-model-inspect output: \"Usage:"),
        "{skipped:?}"
    );
    assert!(
        stderr(&out).contains("vespa-tls: error: stdin:4: "),
        "{}",
        stderr(&out)
    );
    // `vespa-model-inspect services` lists types only: nothing to probe, and the error says
    // what to run instead.
    let dir = tempfile::tempdir().expect("temp dir");
    let types = write(
        dir.path(),
        "services.txt",
        "container\nsearchnode\nslobrok\n",
    );
    let out = run(&[
        "scan",
        "--from-model-inspect",
        s(&types),
        "--config",
        config,
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(
            "no tcp/HOST:PORT lines; give the output of `vespa-model-inspect service TYPE`"
        ),
        "{}",
        stderr(&out)
    );
}
