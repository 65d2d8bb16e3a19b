//! `vespa-tls demo`: the whole story on loopback, in a temporary directory, in a few seconds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use vespa_tls_authz::{Capability, CapabilitySet};
use vespa_tls_config::MixedMode;
use vespa_tls_context::{
    PeerRejection, ReloadOptions, ReloadingTlsContext, TlsContext, TlsMetrics, TlsModes,
};
use vespa_tls_material::CertificateFacts;
use vespa_tls_pki::{
    CaParams, CertificateAuthority, NodeParams, Validity, write_node_files, write_public_file,
};
use vespa_tls_transport::{Acceptor, Connector, TlsSource, TransportError};

use crate::cli::{DemoArgs, ProbeArgs, Protocol};
use crate::output::{Verdict, say, say_json};
use crate::probe::{Endpoint, scan_all, scan_table};

const RULES: &str = r#""authorized-peers": [
    {
      "name": "cluster-p2p",
      "description": "Cluster-internal node P2P access",
      "required-credentials": [{ "field": "SAN_DNS", "must-match": "*.mycluster.vespa.example.com" }]
    },
    {
      "name": "monitoring",
      "description": "Backend monitoring service access",
      "capabilities": ["vespa.telemetry"],
      "required-credentials": [
        { "field": "CN", "must-match": "vespa-monitoring.example.com" },
        { "field": "SAN_DNS", "must-match": "*.us-east-*.monitor.example.com" }
      ]
    }
  ],
  "disable-hostname-validation": false"#;

/// Records what happened and whether it was what the demo expected.
struct Story {
    json: bool,
    steps: Vec<Value>,
    failures: Vec<String>,
}

impl Story {
    fn section(&self, title: &str) {
        if !self.json {
            say("");
            say(format!("== {title}"));
        }
    }

    fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            say(format!("   {}", text.as_ref()));
        }
    }

    fn expect(&mut self, step: &str, expected: &str, got: &str) {
        let ok = expected == got;
        if !self.json {
            let mark = if ok { "ok " } else { "UNEXPECTED" };
            say(format!("   [{mark}] {step}: {got}"));
        }
        if !ok {
            self.failures
                .push(format!("{step}: expected {expected}, got {got}"));
        }
        self.steps
            .push(json!({"step": step, "expected": expected, "got": got, "ok": ok}));
    }
}

struct Node {
    config: PathBuf,
    context: Arc<TlsContext>,
}

fn write_node(
    dir: &Path,
    ca: &CertificateAuthority,
    name: &str,
    params: &NodeParams,
) -> anyhow::Result<Node> {
    let issued = ca.issue(params)?;
    let written = write_node_files(&dir.join(name), name, &issued, &ca.ca_bundle_pem())?;
    let mut json = written
        .config_json
        .trim_end()
        .trim_end_matches('}')
        .trim_end()
        .to_owned();
    // The pki writes every default; replace the hostname flag with our rules (which include it).
    json = json
        .trim_end_matches("\"disable-hostname-validation\": false")
        .trim_end()
        .to_owned();
    let json = format!("{json}\n  {RULES}\n}}\n");
    let config = dir.join(name).join("tls.json");
    write_public_file(&config, json.as_bytes())?;
    let (options, _) = vespa_tls_config::parse(&json)
        .with_context(|| format!("{}: demo config", config.display()))?;
    let (context, _) = TlsContext::from_options(
        &options,
        TlsModes::default(),
        Arc::new(TlsMetrics::default()),
    )?;
    Ok(Node {
        config,
        context: Arc::new(context),
    })
}

struct Server {
    address: SocketAddr,
    acceptor: Acceptor,
    last_refusal: Arc<std::sync::Mutex<Option<String>>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(acceptor: Acceptor, port: u16) -> anyhow::Result<Server> {
    // A restarted node takes its old port back; the old listener closes asynchronously.
    let deadline = Instant::now() + Duration::from_secs(5);
    let listener = loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => break listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => return Err(anyhow::anyhow!("127.0.0.1:{port}: cannot listen: {e}")),
        }
    };
    let address = listener.local_addr()?;
    let last_refusal = Arc::new(std::sync::Mutex::new(None));
    let (task_acceptor, refusal) = (acceptor.clone(), Arc::clone(&last_refusal));
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, refusal) = (task_acceptor.clone(), Arc::clone(&refusal));
            tokio::spawn(async move {
                match acceptor.accept_tcp(socket).await {
                    Ok((mut stream, auth)) => {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = stream.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            // A capability-checked "write" command, like a document API.
                            if buf[..n].starts_with(b"PUT") {
                                let required = CapabilitySet::of(&[Capability::ContentDocumentApi]);
                                let reply = match auth.verify_capabilities(
                                    required,
                                    "put",
                                    "/document/v1/demo",
                                ) {
                                    Ok(()) => "OK\n".to_owned(),
                                    Err(denied) => format!("DENIED {denied}\n"),
                                };
                                let _ = stream.write_all(reply.as_bytes()).await;
                                let _ = stream.flush().await;
                                continue;
                            }
                            if stream.write_all(&buf[..n]).await.is_err()
                                || stream.flush().await.is_err()
                            {
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        let text = match e.rustls_error().and_then(PeerRejection::from_rustls) {
                            Some(rejection) => rejection.to_string(),
                            None => e.to_string(),
                        };
                        if let Ok(mut slot) = refusal.lock() {
                            *slot = Some(text);
                        }
                    }
                }
            });
        }
    });
    Ok(Server {
        address,
        acceptor,
        last_refusal,
        task,
    })
}

/// Sends a line and checks the echo: "TLS", "plaintext" or "refused".
async fn talk(connector: &Connector, address: SocketAddr) -> String {
    let Ok((mut stream, auth)) = connector.connect_tcp(address, "localhost").await else {
        return "refused".into();
    };
    let line = b"hello\n";
    if stream.write_all(line).await.is_err() || stream.flush().await.is_err() {
        return "refused".into();
    }
    let mut reply = [0u8; 6];
    match tokio::time::timeout(Duration::from_secs(3), stream.read_exact(&mut reply)).await {
        Ok(Ok(_)) if &reply == line => (if auth.is_tls() { "TLS" } else { "plaintext" }).into(),
        _ => "refused".into(),
    }
}

async fn request(connector: &Connector, address: SocketAddr, line: &[u8]) -> String {
    let Ok((mut stream, _)) = connector.connect_tcp(address, "localhost").await else {
        return "refused".into();
    };
    if stream.write_all(line).await.is_err() || stream.flush().await.is_err() {
        return "refused".into();
    }
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    while !reply.ends_with(b"\n") {
        match tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => reply.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&reply).trim().to_owned()
}

fn tls(node: &Node) -> TlsSource {
    TlsSource::Fixed(Arc::clone(&node.context))
}

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<Verdict> {
    let temp;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            dir.canonicalize()?
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("vespa-tls-demo-")
                .tempdir()?;
            temp.path().to_owned()
        }
    };
    let runtime = crate::probe::runtime()?;
    let mut story = Story {
        json: args.output.json,
        steps: Vec::new(),
        failures: Vec::new(),
    };
    let started = Instant::now();
    runtime.block_on(demo(&dir, &mut story))?;
    if story.json {
        say_json(&json!({
            "ok": story.failures.is_empty(),
            "directory": dir.display().to_string(),
            "seconds": started.elapsed().as_secs_f64(),
            "steps": story.steps,
            "failures": story.failures,
        }));
    } else {
        say("");
        if story.failures.is_empty() {
            say(format!(
                "demo complete in {:.1?}: every step behaved as expected.",
                started.elapsed()
            ));
        } else {
            say(format!(
                "demo finished with {} unexpected results:",
                story.failures.len()
            ));
            for failure in &story.failures {
                say(format!("  {failure}"));
            }
        }
    }
    Ok(Verdict::from_ok(story.failures.is_empty()))
}

async fn demo(dir: &Path, story: &mut Story) -> anyhow::Result<()> {
    story.section("1. A CA and node certificates (what the guide's Appendix A does with openssl)");
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let validity = Validity::new(
        now - time::Duration::hours(1),
        now + time::Duration::days(365),
    );
    let ca = CertificateAuthority::new_root(&CaParams::new("Vespa demo root CA", validity))?;
    write_public_file(&dir.join("ca.pem"), ca.cert_pem().as_bytes())?;
    let node = |name: &str| {
        NodeParams::new(format!("{name}.vespa.local"), validity)
            .with_dns("localhost")
            .with_dns(format!("{name}.mycluster.vespa.example.com"))
            .with_ip(std::net::IpAddr::from([127, 0, 0, 1]))
    };
    let a = write_node(dir, &ca, "node-a", &node("node-a"))?;
    let b = write_node(dir, &ca, "node-b", &node("node-b"))?;
    let monitor = write_node(
        dir,
        &ca,
        "monitor",
        &NodeParams::new("vespa-monitoring.example.com", validity)
            .with_dns("localhost")
            .with_dns("i1.us-east-1.monitor.example.com"),
    )?;
    let intruder = write_node(
        dir,
        &ca,
        "intruder",
        &NodeParams::new("intruder.example.org", validity)
            .with_dns("localhost")
            .with_dns("intruder.example.org"),
    )?;
    story.line(format!("files in {}", dir.display()));
    story.line("node-a, node-b: SAN DNS node-X.mycluster.vespa.example.com (policy cluster-p2p: all capabilities)");
    story.line("monitor: CN vespa-monitoring.example.com, SAN DNS i1.us-east-1.monitor.example.com (policy monitoring: vespa.telemetry)");
    story.line("intruder: signed by the same CA, but no policy matches it");

    story.section("2. Rolling TLS out: node-a serves, node-b calls it, one phase at a time");
    let plaintext = Connector::new(TlsSource::disabled(), MixedMode::TlsClientTlsServer);
    let phase1_client = Connector::new(tls(&b), MixedMode::PlaintextClientMixedServer);
    let tls_client = Connector::new(tls(&b), MixedMode::TlsClientMixedServer);
    let phases: [(&str, Option<MixedMode>, &Connector, &str); 5] = [
        ("phase 0: no TLS anywhere", None, &plaintext, "plaintext"),
        (
            "phase 1: node-a mixed, node-b still plaintext",
            Some(MixedMode::PlaintextClientMixedServer),
            &phase1_client,
            "plaintext",
        ),
        (
            "phase 2: node-b switches to TLS",
            Some(MixedMode::TlsClientMixedServer),
            &tls_client,
            "TLS",
        ),
        (
            "phase 2: a phase-1 client still works",
            Some(MixedMode::TlsClientMixedServer),
            &phase1_client,
            "plaintext",
        ),
        (
            "phase 3: node-a TLS only",
            Some(MixedMode::TlsClientTlsServer),
            &tls_client,
            "TLS",
        ),
    ];
    let mut port = 0;
    for (step, server_mode, client, expected) in phases {
        let source = if server_mode.is_some() {
            tls(&a)
        } else {
            TlsSource::disabled()
        };
        let server = start(
            Acceptor::new(source, server_mode.unwrap_or(MixedMode::TlsClientTlsServer)),
            port,
        )
        .await?;
        port = server.address.port();
        let got = talk(client, server.address).await;
        story.expect(step, expected, &got);
    }
    let server = start(Acceptor::new(tls(&a), MixedMode::TlsClientTlsServer), port).await?;
    let got = talk(&plaintext, server.address).await;
    story.expect("phase 3: a plaintext client is refused", "refused", &got);
    let counters = server.acceptor.metrics().snapshot().server;
    story.line(format!(
        "node-a counters: tls_connections {}, insecure_connections {}, failed_tls_handshakes {}",
        counters.tls_connections, counters.insecure_connections, counters.failed_tls_handshakes
    ));

    story.section("3. Authorization: who may talk to node-a, and with which capabilities");
    let intruder_client = Connector::new(tls(&intruder), MixedMode::TlsClientTlsServer);
    let got = talk(&intruder_client, server.address).await;
    story.expect(
        "the intruder's certificate chains to our CA but is refused",
        "refused",
        &got,
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    if let Some(reason) = server.last_refusal.lock().ok().and_then(|r| r.clone()) {
        story.line(format!("node-a says: {reason}"));
    }
    let monitor_client = Connector::new(tls(&monitor), MixedMode::TlsClientTlsServer);
    let got = talk(&monitor_client, server.address).await;
    story.expect("the us-east monitor connects", "TLS", &got);
    let reply = request(&monitor_client, server.address, b"PUT /document/v1/demo\n").await;
    let denied = if reply.starts_with("DENIED Permission denied") {
        "denied"
    } else {
        "allowed"
    };
    story.expect(
        "the monitor may not use the document API (vespa.telemetry only)",
        "denied",
        denied,
    );
    story.line(reply.trim_start_matches("DENIED "));
    let reply = request(&tls_client, server.address, b"PUT /document/v1/demo\n").await;
    story.expect(
        "node-b may (cluster-p2p grants all capabilities)",
        "OK",
        &reply,
    );
    drop(server);

    story.section(
        "4. Rotating node-a's certificate live (new files, then an atomic rename of the config)",
    );
    let reloading = Arc::new(ReloadingTlsContext::from_file(
        &a.config,
        TlsModes::default(),
        ReloadOptions {
            debounce: Duration::from_millis(100),
            ..ReloadOptions::default()
        },
    )?);
    let server = start(
        Acceptor::new(
            TlsSource::Reloading(Arc::clone(&reloading)),
            MixedMode::TlsClientTlsServer,
        ),
        port,
    )
    .await?;
    let old = served_fingerprint(&tls_client, server.address).await?;
    let renewed = ca.issue(&node("node-a"))?;
    let written = write_node_files(
        &dir.join("node-a-2"),
        "node-a",
        &renewed,
        &ca.ca_bundle_pem(),
    )?;
    let new_config = std::fs::read_to_string(&a.config)?.replace(
        &path_text(&dir.join("node-a"))?,
        &path_text(&dir.join("node-a-2"))?,
    );
    let staging = a.config.with_extension("json.new");
    write_public_file(&staging, new_config.as_bytes())?;
    let renamed = Instant::now();
    std::fs::rename(&staging, &a.config)?;
    let expected = CertificateFacts::from_der(&renewed.cert_der)
        .map(|f| f.sha256_fingerprint)
        .unwrap_or_default();
    let mut now_served = old.clone();
    while now_served != expected && renamed.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        now_served = served_fingerprint(&tls_client, server.address).await?;
    }
    story.line(format!("before: sha256 {old}"));
    story.line(format!(
        "after:  sha256 {now_served} ({} ms after the rename)",
        renamed.elapsed().as_millis()
    ));
    story.expect(
        "new connections get the new certificate",
        "new",
        if now_served == expected { "new" } else { "old" },
    );
    let _ = written;

    story.section("5. The phase-3 safety check: scan for endpoints that still accept plaintext");
    let straggler = start(Acceptor::new(tls(&b), MixedMode::TlsClientMixedServer), 0).await?;
    let endpoints = [
        Endpoint {
            target: format!("127.0.0.1:{}", server.address.port()),
            host: "localhost".into(),
            port: server.address.port(),
        },
        Endpoint {
            target: format!("127.0.0.1:{}", straggler.address.port()),
            host: "localhost".into(),
            port: straggler.address.port(),
        },
    ];
    let probe_args = ProbeArgs {
        config: None,
        protocol: Protocol::Echo,
        timeout: 3.0,
        allow_plaintext: false,
        allow_unknown: false,
        warn_days: 30,
    };
    let reports = scan_all(
        &b.context,
        &endpoints,
        Protocol::Echo,
        Duration::from_secs(3),
        4,
    )
    .await;
    let now = time::OffsetDateTime::now_utc();
    for line in scan_table(&reports, &probe_args, now) {
        story.line(line);
    }
    let verdict = |i: usize| {
        if reports[i].problems(&probe_args, now).is_empty() {
            "ok"
        } else {
            "fails"
        }
    };
    story.expect("node-a (TLS only) passes", "ok", verdict(0));
    story.expect(
        "node-b's server, left in mixed mode, is caught",
        "fails",
        verdict(1),
    );
    Ok(())
}

fn path_text(path: &Path) -> anyhow::Result<String> {
    match path.to_str() {
        Some(s) => Ok(s.to_owned()),
        None => bail!("{}: the demo needs a UTF-8 path", path.display()),
    }
}

async fn served_fingerprint(connector: &Connector, address: SocketAddr) -> anyhow::Result<String> {
    let (stream, _) = connector
        .connect_tcp(address, "localhost")
        .await
        .map_err(|e: TransportError| anyhow::anyhow!("{e}"))?;
    let leaf = stream
        .peer_certificates()
        .and_then(|c| c.first())
        .context("no server certificate")?;
    Ok(CertificateFacts::from_der(leaf)
        .map(|f| f.sha256_fingerprint)
        .unwrap_or_default())
}
