//! The side-by-side comparison behind `cargo xtask bench --compare`.
//!
//! One run, one machine, the same certificates (ECDSA P-256, then RSA-2048) and the same
//! tokio-rustls load generator for every server: `vespa-tls serve` (TLS-only and mixed), bare
//! tokio-rustls (`bare-server`), `openssl s_server` and haproxy, with repeat peers (one client
//! certificate) and first-contact peers (a new client certificate on every connection). Then a
//! bulk stream through `vespa-tls serve` with TLS and without and through bare tokio-rustls,
//! memory per idle TLS connection, a reconnect storm (many clients at the same moment),
//! `openssl speed` on the AEADs and the cost of authorizing a peer. Prints the Markdown tables
//! (or, with `--json`, one JSON document on stdout and the progress on stderr); with
//! `--docs DIR` also replaces the generated section of `DIR/BENCHMARKS.md` and draws
//! `DIR/benchmarks-handshakes.svg`. Loopback only; every loop is bounded in time and count.

mod http2;
mod load;
mod peers;
mod report;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::runtime::Runtime;
use vespa_tls_benches::chart::{ChartRow, handshake_chart};
use vespa_tls_benches::cpu::{pid_cpu_time, pid_peak_rss_bytes, pid_rss_bytes, process_cpu_time};
use vespa_tls_pki::{CaParams, CertificateAuthority, KeyType, NodeParams, Validity};

use crate::load::{ClientMaterial, Offer, Target};
use crate::peers::{NodePaths, Peer, Tools};
use crate::report::{
    AeadSpeed, ChainVerification, Environment, IdleResult, Kind, Results, Row, Sample, StormResult,
    StreamResult,
};

const USAGE: &str = "\
usage: compare --vespa-tls PATH --bare-server PATH [--axum-listener PATH] [options]

  --axum-listener PATH  the HTTP/2 server on our listener; without it the HTTP/2 rows are
                     skipped

  --seconds S        measurement time per server and repeat (default 5)
  --repeats N        measurements per server, medians reported (default 3)
  --connections N    concurrent client connections (default 8)
  --stream-mib N     bulk stream size in MiB (default 1024; 0 skips it)
  --idle N           idle TLS connections for the memory figure (default 1000; 0 skips it)
  --storm N          clients of the reconnect storm (default 2000; 0 skips it)
  --json             print the results as one JSON document on stdout (progress on stderr)
  --docs DIR         replace the generated section of DIR/BENCHMARKS.md, write the chart there
                     and replace the performance summary in DIR/../README.md
  --command TEXT     the command recorded in the docs (default `cargo xtask bench --compare`)
  --only PART        run one part (handshakes, stream, idle, storm or http2), for profiling;
                     with --docs only `http2`, which replaces only the HTTP/2 section
";

const WARMUP: Duration = Duration::from_millis(500);
const CLIENT_CN: &str = "client.localhost";
/// The client certificates carry `DNS:localhost`; the name the bare server and s_server check.
const CLIENT_DNS: &str = "localhost";
/// The fewest certificates the first-contact client has: more than a `vespa-tls` snapshot's
/// verified-chain cache keeps (1024).
const FIRST_CONTACT_CERTIFICATES: usize = 1500;
/// Handshakes per second no server reaches on a first-contact row on this machine's cores; the
/// first-contact client gets enough certificates for this rate over all repeats, so no server
/// is shown one of them twice (each row records whether that held).
fn first_contact_rate_bound(key_type: KeyType) -> f64 {
    let per_core = match key_type {
        KeyType::Rsa2048 => 1000.0,
        _ => 2000.0,
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    per_core * cores as f64
}
/// Whether progress goes to stderr because stdout carries the JSON document.
static JSON: AtomicBool = AtomicBool::new(false);

struct Options {
    vespa_tls: PathBuf,
    bare_server: PathBuf,
    axum_listener: Option<PathBuf>,
    seconds: f64,
    repeats: usize,
    connections: usize,
    stream_mib: u64,
    idle: usize,
    storm: usize,
    json: bool,
    docs: Option<PathBuf>,
    command: String,
    only: Option<String>,
}

impl Options {
    fn runs(&self, part: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == part)
    }
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        vespa_tls: PathBuf::new(),
        bare_server: PathBuf::new(),
        axum_listener: None,
        seconds: 5.0,
        repeats: 3,
        connections: 8,
        stream_mib: 1024,
        idle: 1000,
        storm: 2000,
        json: false,
        docs: None,
        command: "cargo xtask bench --compare".into(),
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
            text.parse()
                .map_err(|_| format!("{flag}: not a number: {text:?}"))
        }
        match arg.as_str() {
            "--vespa-tls" => options.vespa_tls = value()?.into(),
            "--bare-server" => options.bare_server = value()?.into(),
            "--axum-listener" => options.axum_listener = Some(value()?.into()),
            "--seconds" => options.seconds = number(&arg, &value()?)?,
            "--repeats" => options.repeats = number(&arg, &value()?)?,
            "--connections" => options.connections = number(&arg, &value()?)?,
            "--stream-mib" => options.stream_mib = number(&arg, &value()?)?,
            "--idle" => options.idle = number(&arg, &value()?)?,
            "--storm" => options.storm = number(&arg, &value()?)?,
            "--json" => options.json = true,
            "--docs" => options.docs = Some(value()?.into()),
            "--command" => options.command = value()?,
            "--only" => options.only = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.vespa_tls.as_os_str().is_empty() || options.bare_server.as_os_str().is_empty() {
        return Err("--vespa-tls and --bare-server are required".into());
    }
    if !(options.seconds > 0.0 && options.seconds <= 60.0) {
        return Err("--seconds must be in (0, 60]".into());
    }
    if !(1..=10).contains(&options.repeats) || !(1..=256).contains(&options.connections) {
        return Err("--repeats must be 1..=10 and --connections 1..=256".into());
    }
    match options.only.as_deref() {
        None => {}
        Some("handshakes" | "stream" | "idle" | "storm") if options.docs.is_none() => {}
        Some("http2") => {}
        Some(_) if options.docs.is_some() => return Err("--only cannot go with --docs".into()),
        Some(other) => return Err(format!("--only: unknown part {other:?}")),
    }
    if options.stream_mib > 8192 || options.idle > 10_000 || options.storm > 10_000 {
        return Err("--stream-mib must be ≤ 8192, --idle and --storm ≤ 10000".into());
    }
    Ok(options)
}

/// Progress and the Markdown tables: stdout, or stderr when stdout carries the JSON.
fn say(text: &str) {
    if JSON.load(Ordering::Relaxed) {
        complain(text);
    } else {
        print_stdout(text);
    }
}

#[expect(clippy::print_stdout, reason = "the comparison reports on stdout")]
fn print_stdout(text: &str) {
    println!("{text}");
}

#[expect(clippy::print_stderr, reason = "errors go to stderr")]
fn complain(text: &str) {
    eprintln!("{text}");
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(problem) if problem.is_empty() => {
            say(USAGE);
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            complain(&format!("compare: {problem}\n\n{USAGE}"));
            return ExitCode::from(2);
        }
    };
    JSON.store(options.json, Ordering::Relaxed);
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            complain(&format!("compare: error: {problem}"));
            ExitCode::FAILURE
        }
    }
}

/// One certificate type's files and client material.
struct Pki {
    section: &'static str,
    server: NodePaths,
    client: NodePaths,
    client_material: ClientMaterial,
    /// Certificates for the client's key and names, each with its own serial.
    first_contact: Vec<rustls_pki_types::CertificateDer<'static>>,
    intruder_material: ClientMaterial,
    /// The `vespa-tls serve` config: the server's files and a policy requiring the client's CN.
    vespa_config: PathBuf,
}

/// Certificates enough for the first-contact client to show each server a new one on every
/// connection of every repeat and warm-up, at [`first_contact_rate_bound`].
fn first_contact_certificates(options: &Options, key_type: KeyType) -> usize {
    let rate = first_contact_rate_bound(key_type);
    // Each repeat: a warm-up and a measurement alone, a measurement together with the pair.
    let seconds = options.repeats as f64 * (2.0 * options.seconds + WARMUP.as_secs_f64());
    // A bound of a few tens of thousands; the float is finite and positive.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small positive count"
    )]
    let needed = (seconds * rate).ceil() as usize;
    needed.max(FIRST_CONTACT_CERTIFICATES)
}

/// The PKI of one certificate type, with `first_contact` certificates for the client's key.
fn make_pki(
    dir: &Path,
    key_type: KeyType,
    section: &'static str,
    first_contact: usize,
) -> Result<Pki, String> {
    let start = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let validity = Validity::days_from(start, 30);
    let error = |e: vespa_tls_pki::PkiError| e.to_string();
    let ca = CertificateAuthority::new_root(
        &CaParams::new("vespa-tls bench CA", validity).with_key_type(key_type),
    )
    .map_err(error)?;
    let localhost = std::net::IpAddr::from([127, 0, 0, 1]);
    let issue = |name: &str, params: &NodeParams| -> Result<(NodePaths, ClientMaterial), String> {
        let issued = ca.issue(params).map_err(error)?;
        let written = vespa_tls_pki::write_node_files(dir, name, &issued, &ca.ca_bundle_pem())
            .map_err(error)?;
        let paths = NodePaths {
            ca: written.files.ca_certificates.clone(),
            cert: written.files.certificates.clone(),
            key: written.files.private_key.clone(),
        };
        let material = ClientMaterial {
            chain: vec![issued.cert_der.clone()],
            key: issued.private_key_der().map_err(error)?,
            roots: vec![ca.root_der().clone()],
        };
        Ok((paths, material))
    };
    let (server, _) = issue(
        "server",
        &NodeParams::new("server.localhost", validity)
            .with_dns(CLIENT_DNS)
            .with_ip(localhost)
            .with_key_type(key_type),
    )?;
    let client_params = NodeParams::new(CLIENT_CN, validity)
        .with_dns(CLIENT_DNS)
        .with_ip(localhost)
        .with_key_type(key_type);
    let (client, client_material) = issue("client", &client_params)?;
    let client_key = vespa_tls_pki::SecretPem::new(
        std::fs::read_to_string(&client.key)
            .map_err(|e| format!("{}: {e}", client.key.display()))?,
    );
    // Tens of thousands of signatures (RSA ones take a millisecond each): on every core.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let first_contact = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|core| {
                let share = first_contact / cores + usize::from(core < first_contact % cores);
                let (ca, client_params, client_key) = (&ca, &client_params, &client_key);
                scope.spawn(move || {
                    (0..share)
                        .map(|_| {
                            ca.issue_for_key(client_params, client_key)
                                .map(|issued| issued.cert_der)
                                .map_err(error)
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .map_err(|_| "issuing a certificate panicked".to_owned())?
            })
            .collect::<Result<Vec<Vec<_>>, String>>()
    })?
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    let (_, intruder_material) = issue(
        "intruder",
        &NodeParams::new("intruder.localhost", validity)
            .with_dns("intruder.localhost")
            .with_key_type(key_type),
    )?;
    let config = serde_json::json!({
        "files": {
            "ca-certificates": server.ca,
            "certificates": server.cert,
            "private-key": server.key,
        },
        "authorized-peers": [{
            "name": "bench-client",
            "required-credentials": [{ "field": "CN", "must-match": CLIENT_CN }],
            "description": "the comparison's load generator",
        }],
    });
    let vespa_config = dir.join("server-authorized.json");
    std::fs::write(&vespa_config, config.to_string())
        .map_err(|e| format!("{}: {e}", vespa_config.display()))?;
    Ok(Pki {
        section,
        server,
        client,
        client_material,
        first_contact,
        intruder_material,
        vespa_config,
    })
}

/// A server under test with the client settings it is driven with.
struct Scenario<'a> {
    kind: Kind,
    peer: &'a Peer,
    target: Target,
    /// The intruder's target, for the name check (`None` for the plaintext control).
    intruder: Option<Target>,
    /// A second process whose CPU is shown but not counted (haproxy's backend).
    backend: Option<&'a Peer>,
    /// The first-contact client's count of certificates presented (first-contact rows only).
    presented: Option<Arc<load::Presented>>,
}

fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace dir")?
        .to_owned();
    let env = Environment::probe(&workspace);
    say(&format!(
        "compare: {} ({} cores), load average {}, {}",
        env.cpu, env.cores, env.load_at_start, env.date
    ));
    let tools = Tools {
        vespa_tls: options.vespa_tls.clone(),
        bare_server: options.bare_server.clone(),
        axum_listener: options
            .axum_listener
            .clone()
            .ok_or_else(|| "no --axum-listener given".to_owned()),
        openssl: peers::which("openssl"),
        haproxy: peers::which("haproxy"),
    };
    let mut skipped = Vec::new();
    if let Err(reason) = &tools.openssl {
        skipped.push(format!("openssl s_server and openssl speed: {reason}"));
    }
    if let Err(reason) = &tools.haproxy {
        skipped.push(format!("haproxy: {reason}"));
    }
    if let Err(reason) = &tools.axum_listener
        && options.runs("http2")
    {
        skipped.push(format!("the HTTP/2 rows: {reason}"));
    }
    for reason in &skipped {
        say(&format!("compare: skipping {reason}"));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("client runtime: {e}"))?;
    let temp = tempfile::Builder::new()
        .prefix("vespa-tls-compare-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let openssl_conf = peers::write_openssl_conf(temp.path())?;

    let mut rows = Vec::new();
    let mut stream = None;
    let mut idle = Vec::new();
    let mut storm = Vec::new();
    let mut http2 = None;
    let mut chain_verification = Vec::new();
    for (key_type, section, dir) in [
        (KeyType::EcdsaP256, "ECDSA P-256", "ecdsa"),
        (KeyType::Rsa2048, "RSA-2048", "rsa"),
    ] {
        let only_http2 = options.only.as_deref() == Some("http2");
        if only_http2 && key_type != KeyType::EcdsaP256 {
            continue;
        }
        let dir = temp.path().join(dir);
        // The storm's clients are distinct nodes: one certificate each (ECDSA only).
        let first_contact = match key_type {
            KeyType::EcdsaP256 if options.runs("storm") => {
                FIRST_CONTACT_CERTIFICATES.max(options.storm + 1)
            }
            _ if only_http2 => 0,
            _ => FIRST_CONTACT_CERTIFICATES,
        };
        let first_contact = if options.runs("handshakes") {
            first_contact.max(first_contact_certificates(options, key_type))
        } else {
            first_contact
        };
        let pki = make_pki(&dir, key_type, section, first_contact)?;
        if options.runs("handshakes") {
            chain_verification.push(ChainVerification {
                section,
                us: chain_verification_us(&pki)?,
            });
            rows.extend(compare_servers(
                &runtime,
                options,
                &tools,
                &pki,
                &dir,
                &openssl_conf,
            )?);
        }
        if key_type == KeyType::EcdsaP256 {
            if options.stream_mib > 0 && options.runs("stream") {
                stream = Some(bulk_stream(&runtime, options, &tools, &pki)?);
            }
            if options.idle > 0 && options.runs("idle") {
                idle = idle_memory(&runtime, options, &tools, &pki)?;
            }
            if options.storm > 0 && options.runs("storm") {
                storm = reconnect_storm(&runtime, options, &tools, &pki, &dir, &openssl_conf)?;
            }
            if let Ok(program) = &tools.axum_listener
                && options.runs("http2")
            {
                http2 = Some(compare_http2(&runtime, options, &tools, program, &pki)?);
            }
        }
    }
    let aead = match &tools.openssl {
        Ok(openssl) if options.only.is_none() => aead_speeds(openssl),
        _ => Vec::new(),
    };
    let authorize_ns = Some(authorize_seed_ns()?);
    let results = Results {
        env,
        command: options.command.clone(),
        seconds: options.seconds,
        repeats: options.repeats,
        connections: options.connections,
        rows,
        skipped,
        stream,
        idle,
        storm,
        aead,
        authorize_ns,
        chain_verification,
        http2,
    };
    const CHART: &str = "benchmarks-handshakes.svg";
    let only_http2 = options.only.as_deref() == Some("http2");
    let section = results.markdown(CHART);
    if !only_http2 {
        say(&format!("\n{section}"));
    }
    let http2_section = results.http2_markdown();
    if let Some(http2_section) = &http2_section {
        say(&format!("\n{http2_section}"));
    }
    if options.json {
        print_stdout(&results.json().to_string());
    }
    if let (Some(docs), Some(http2_section)) = (&options.docs, &http2_section) {
        let path = docs.join("BENCHMARKS.md");
        report::update_http2_docs(&path, http2_section)?;
        say(&format!(
            "compare: wrote the HTTP/2 section of {}",
            path.display()
        ));
    }
    if let Some(docs) = options.docs.as_ref().filter(|_| !only_http2) {
        let chart_rows: Vec<ChartRow> = results
            .rows
            .iter()
            .filter(|r| r.kind != Kind::HaproxyRelay)
            .map(|r| ChartRow {
                section: r.section.to_owned(),
                label: format!(
                    "{} ({})",
                    r.kind.label(),
                    r.negotiated.group.as_deref().unwrap_or("?")
                ),
                ours: r.kind.ours(),
                handshakes_per_second: r.rate(),
                server_cpu_us: r.server_cpu(),
            })
            .collect();
        let title = format!(
            "Full mTLS handshakes, TLS 1.3, {} connections, one tokio-rustls client — {}, {}",
            options.connections, results.env.cpu, results.env.date
        );
        let svg_path = docs.join(CHART);
        std::fs::write(&svg_path, handshake_chart(&title, &chart_rows))
            .map_err(|e| format!("{}: {e}", svg_path.display()))?;
        report::update_docs(&docs.join("BENCHMARKS.md"), &section)?;
        let readme = docs.join("../README.md");
        report::update_readme(&readme, &results.readme_summary())?;
        say(&format!(
            "compare: wrote {}, {} and the performance summary in {}",
            docs.join("BENCHMARKS.md").display(),
            svg_path.display(),
            readme.display()
        ));
    }
    say(&format!("compare: done in {:.0?}", started.elapsed()));
    Ok(())
}

/// The HTTP/2 rows: the axum app on our listener and on bare tokio-rustls, measured in turn,
/// `repeats` times each.
fn compare_http2(
    runtime: &Runtime,
    options: &Options,
    tools: &Tools,
    axum_listener: &Path,
    pki: &Pki,
) -> Result<report::Http2Result, String> {
    say(&format!("\n== {}: HTTP/2 servers", pki.section));
    let ours = peers::axum_listener(
        axum_listener,
        "axum on vespa-tls http::Listener",
        &pki.vespa_config,
    )?;
    let bare =
        peers::bare_http_server(tools, "axum on bare tokio-rustls", &pki.server, CLIENT_DNS)?;
    let config = http2::h2_config(&*load::client_config(&pki.client_material, Offer::Default)?);
    let seconds = Duration::from_secs_f64(options.seconds);
    let mut result = report::Http2Result {
        section: pki.section,
        connections: options.connections,
        streams: http2::STREAMS,
        ours: Vec::new(),
        bare: Vec::new(),
    };
    for repeat in 0..options.repeats {
        // Each server goes first in every other repeat, so neither always runs on a machine
        // the other has just warmed (or heated).
        let mut order = [(true, &ours), (false, &bare)];
        if repeat % 2 == 1 {
            order.reverse();
        }
        for (is_ours, peer) in order {
            let sample = http2::measure(
                runtime,
                peer.address,
                peer.pid,
                &config,
                options.connections,
                WARMUP,
                seconds,
            )
            .map_err(|e| format!("HTTP/2: {e}\n{}", peer.stderr_tail()))?;
            say(&format!(
                "  {} #{}: {:.0} requests/s, {:.1} µs server CPU/request, {} errors",
                if is_ours { "ours" } else { "bare" },
                repeat + 1,
                sample.rate(),
                sample.server_cpu_us_per_request(),
                sample.errors
            ));
            if is_ours {
                result.ours.push(sample);
            } else {
                result.bare.push(sample);
            }
        }
    }
    Ok(result)
}

/// Starts every server for one certificate type, checks them, and measures them round-robin
/// (every other repeat in reverse).
fn compare_servers(
    runtime: &Runtime,
    options: &Options,
    tools: &Tools,
    pki: &Pki,
    dir: &Path,
    openssl_conf: &Path,
) -> Result<Vec<Row>, String> {
    say(&format!("\n== {}: starting servers", pki.section));
    let ours_tls = peers::vespa_tls_serve(
        tools,
        "vespa-tls serve (TLS-only)",
        Some(&pki.vespa_config),
        false,
    )?;
    let ours_mixed = peers::vespa_tls_serve(
        tools,
        "vespa-tls serve (mixed)",
        Some(&pki.vespa_config),
        true,
    )?;
    let bare = peers::bare_server(tools, "bare tokio-rustls", &pki.server, CLIENT_DNS)?;
    let backend = peers::vespa_tls_serve(tools, "plaintext echo backend", None, false)?;
    let s_server = match &tools.openssl {
        Ok(openssl) => Some(peers::s_server(
            openssl,
            &pki.server,
            CLIENT_DNS,
            openssl_conf,
        )?),
        Err(_) => None,
    };
    let haproxy = match &tools.haproxy {
        Ok(haproxy) => Some(peers::haproxy(
            haproxy,
            &pki.server,
            CLIENT_CN,
            backend.address,
            openssl_conf,
            dir,
        )?),
        Err(_) => None,
    };

    let default = load::client_config(&pki.client_material, Offer::Default)?;
    let x25519 = load::client_config(&pki.client_material, Offer::X25519Only)?;
    let x25519_aes128 = load::client_config(&pki.client_material, Offer::X25519Aes128First)?;
    // Ours and bare tokio-rustls each get their own count through the same certificates, so
    // each server sees every certificate at most once as long as its count stays within them.
    let first_contact =
        || load::first_contact_config(&pki.client_material, &pki.first_contact, Offer::X25519Only);
    let (ours_first_contact, ours_presented) = first_contact()?;
    let (bare_first_contact, bare_presented) = first_contact()?;
    let (bare_first_contact_aes128, bare_presented_aes128) = load::first_contact_config(
        &pki.client_material,
        &pki.first_contact,
        Offer::X25519Aes128First,
    )?;
    let intruder = load::client_config(&pki.intruder_material, Offer::Default)?;
    let tls = |address, config: &Arc<rustls::ClientConfig>| Target {
        address,
        tls: Some(Arc::clone(config)),
    };
    // Each pair compared in the targets runs back to back (ours, then bare tokio-rustls with the
    // same client), so the host's drift between rows weighs as little as it can on their ratio.
    let mut scenarios = vec![
        Scenario {
            kind: Kind::OursTls,
            peer: &ours_tls,
            target: tls(ours_tls.address, &default),
            intruder: Some(tls(ours_tls.address, &intruder)),
            backend: None,
            presented: None,
        },
        Scenario {
            kind: Kind::Bare,
            peer: &bare,
            target: tls(bare.address, &default),
            intruder: Some(tls(bare.address, &intruder)),
            backend: None,
            presented: None,
        },
        Scenario {
            kind: Kind::OursMixed,
            peer: &ours_mixed,
            target: tls(ours_mixed.address, &default),
            intruder: Some(tls(ours_mixed.address, &intruder)),
            backend: None,
            presented: None,
        },
        Scenario {
            kind: Kind::OursTlsX25519,
            peer: &ours_tls,
            target: tls(ours_tls.address, &x25519),
            intruder: None,
            backend: None,
            presented: None,
        },
        Scenario {
            kind: Kind::BareX25519,
            peer: &bare,
            target: tls(bare.address, &x25519),
            intruder: None,
            backend: None,
            presented: None,
        },
        Scenario {
            kind: Kind::BareX25519Aes128,
            peer: &bare,
            target: tls(bare.address, &x25519_aes128),
            intruder: None,
            backend: None,
            presented: None,
        },
        Scenario {
            kind: Kind::OursFirstContact,
            peer: &ours_tls,
            target: tls(ours_tls.address, &ours_first_contact),
            intruder: None,
            backend: None,
            presented: Some(ours_presented),
        },
        Scenario {
            kind: Kind::BareFirstContact,
            peer: &bare,
            target: tls(bare.address, &bare_first_contact),
            intruder: None,
            backend: None,
            presented: Some(bare_presented),
        },
        Scenario {
            kind: Kind::BareFirstContactAes128,
            peer: &bare,
            target: tls(bare.address, &bare_first_contact_aes128),
            intruder: None,
            backend: None,
            presented: Some(bare_presented_aes128),
        },
    ];
    if let Some(s_server) = &s_server {
        scenarios.push(Scenario {
            kind: Kind::OpenSsl,
            peer: s_server,
            target: tls(s_server.address, &default),
            intruder: Some(tls(s_server.address, &intruder)),
            backend: None,
            presented: None,
        });
    }
    if let Some(haproxy) = &haproxy {
        scenarios.push(Scenario {
            kind: Kind::Haproxy,
            peer: haproxy,
            target: tls(haproxy.address, &default),
            intruder: Some(tls(haproxy.address, &intruder)),
            backend: Some(&backend),
            presented: None,
        });
        if let Some(relay) = haproxy.second_address {
            scenarios.push(Scenario {
                kind: Kind::HaproxyRelay,
                peer: haproxy,
                target: Target {
                    address: relay,
                    tls: None,
                },
                intruder: None,
                backend: Some(&backend),
                presented: None,
            });
        }
    }

    // Checks first: each server answers, refuses a wrong name, sends no tickets.
    let mut rows = Vec::new();
    for scenario in &scenarios {
        let negotiated = runtime
            .block_on(load::round(&scenario.target))
            .map_err(|e| {
                format!(
                    "{} ({}): the first handshake failed: {e}\n{}",
                    scenario.kind.label(),
                    pki.section,
                    scenario.peer.stderr_tail()
                )
            })?;
        let refuses_wrong_name = scenario
            .intruder
            .as_ref()
            .map(|intruder| runtime.block_on(load::round(intruder)).is_err());
        // The server must still serve after refusing.
        runtime
            .block_on(load::round(&scenario.target))
            .map_err(|e| format!("{}: failed after a refusal: {e}", scenario.kind.label()))?;
        let wire = match (&tools.openssl, scenario.intruder.is_some()) {
            (Ok(openssl), true) => Some(peers::s_client_check(
                openssl,
                scenario.target.address,
                &pki.client,
            )?),
            _ => None,
        };
        say(&format!(
            "{:<45} key exchange {:<15} suite {:<26} refuses other names: {:<5} tickets: {:<4} certificates sent: {}",
            scenario.kind.label(),
            negotiated.group.as_deref().unwrap_or("(none)"),
            negotiated.suite.as_deref().unwrap_or("(none)"),
            refuses_wrong_name.map_or("–".into(), |r| r.to_string()),
            wire.map_or("–".into(), |w| w.new_session_tickets.to_string()),
            wire.map_or("–".into(), |w| w.certificates_sent.to_string()),
        ));
        rows.push(Row {
            section: pki.section,
            kind: scenario.kind,
            negotiated,
            samples: Vec::new(),
            refuses_wrong_name,
            wire,
            first_error: None,
            first_contact_certificates: None,
            together: Vec::new(),
        });
    }

    let duration = Duration::from_secs_f64(options.seconds);
    for repeat in 1..=options.repeats {
        // Every other repeat runs the rows in reverse, so the rows compared with each other
        // (ours and bare tokio-rustls, repeat peers and first contact) each follow the other
        // as often: bare tokio-rustls' repeat and first-contact rows, identical work, came out
        // up to a tenth apart in one run when one always followed the same rows.
        let mut order: Vec<_> = scenarios.iter().zip(rows.iter_mut()).collect();
        if repeat % 2 == 0 {
            order.reverse();
        }
        for (scenario, row) in order {
            let _ = load::run(runtime, &scenario.target, options.connections, WARMUP);
            let server_before = pid_cpu_time(scenario.peer.pid);
            let backend_before = scenario.backend.and_then(|b| pid_cpu_time(b.pid));
            let client_before = process_cpu_time();
            let result = load::run(runtime, &scenario.target, options.connections, duration);
            let per_round = |before, after| cpu_us_per_round(before, after, result.rounds);
            let sample = Sample {
                handshakes_per_second: result.rounds as f64 / result.elapsed.as_secs_f64(),
                server_cpu_us: per_round(server_before, pid_cpu_time(scenario.peer.pid)),
                client_cpu_us: per_round(client_before, process_cpu_time()),
                backend_cpu_us: scenario
                    .backend
                    .map(|b| per_round(backend_before, pid_cpu_time(b.pid))),
                errors: result.errors,
            };
            say(&format!(
                "[{}/{}] {} / {:<45} {:>7.0} handshakes/s  server {:>6.0} µs  client {:>6.0} µs  errors {}",
                repeat,
                options.repeats,
                pki.section,
                scenario.kind.label(),
                sample.handshakes_per_second,
                sample.server_cpu_us,
                sample.client_cpu_us,
                sample.errors
            ));
            if row.first_error.is_none() {
                row.first_error = result.first_error;
            }
            if row.negotiated.group.is_none() {
                row.negotiated = result.negotiated;
            }
            row.samples.push(sample);
        }
    }
    // The targeted pairs once more, both servers loaded at the same time with half the
    // connections each: the two figures of a round then saw the same host, however fast its
    // speed moves (rows measured one after the other can be a tenth apart for that alone).
    let half = (options.connections / 2).max(1);
    let position = |kind| scenarios.iter().position(|s| s.kind == kind);
    let pairs: Vec<_> = report::TARGETS
        .iter()
        .filter_map(|&(ours, bare, _, _)| Some((position(ours)?, position(bare)?)))
        .collect();
    for repeat in 1..=options.repeats {
        for &(a, b) in &pairs {
            let pids = [scenarios[a].peer.pid, scenarios[b].peer.pid];
            let before = pids.map(pid_cpu_time);
            let targets = [scenarios[a].target.clone(), scenarios[b].target.clone()];
            let results = load::run_together(runtime, &targets, half, duration);
            let after = pids.map(pid_cpu_time);
            // A round with failed handshakes has no figure: its CPU went partly to failures.
            let figure = |i: usize| match results.get(i) {
                Some(result) if result.errors == 0 => {
                    cpu_us_per_round(before[i], after[i], result.rounds)
                }
                _ => f64::NAN,
            };
            let figures = [figure(0), figure(1)];
            rows[a].together.push(figures[0]);
            rows[b].together.push(figures[1]);
            let errors: u64 = results.iter().map(|r| r.errors).sum();
            say(&format!(
                "[{}/{}] {} / together: {} {:.0} µs, {} {:.0} µs ({:.2}×), errors {errors}",
                repeat,
                options.repeats,
                pki.section,
                scenarios[a].kind.label(),
                figures[0],
                scenarios[b].kind.label(),
                figures[1],
                figures[0] / figures[1],
            ));
        }
    }
    for (scenario, row) in scenarios.iter().zip(rows.iter_mut()) {
        row.first_contact_certificates = scenario
            .presented
            .as_ref()
            .map(|p| (p.count(), p.distinct()));
    }
    Ok(rows)
}

/// A process's CPU time between two readings, in µs per completed round; NaN when a reading
/// is missing or no round completed.
fn cpu_us_per_round(before: Option<Duration>, after: Option<Duration>, rounds: u64) -> f64 {
    match (before, after) {
        (Some(before), Some(after)) if rounds > 0 => {
            after.saturating_sub(before).as_secs_f64() * 1e6 / rounds as f64
        }
        _ => f64::NAN,
    }
}

/// The bulk transfer through `vespa-tls serve --protocol echo` with TLS, through bare
/// tokio-rustls, and through `vespa-tls serve` in plaintext, in turn.
fn bulk_stream(
    runtime: &Runtime,
    options: &Options,
    tools: &Tools,
    pki: &Pki,
) -> Result<StreamResult, String> {
    let bytes = options.stream_mib << 20;
    let tls_server = peers::vespa_tls_serve(
        tools,
        "vespa-tls serve (stream, TLS)",
        Some(&pki.vespa_config),
        false,
    )?;
    let plain_server =
        peers::vespa_tls_serve(tools, "vespa-tls serve (stream, plaintext)", None, false)?;
    let bare_server =
        peers::bare_server(tools, "bare tokio-rustls (stream)", &pki.server, CLIENT_DNS)?;
    // A client listing AES-128 first: bare tokio-rustls follows the client's order and ours
    // takes AES-128 by its own, so both streams run the same cipher.
    let config = load::client_config(&pki.client_material, Offer::X25519Aes128First)?;
    let tls = Target {
        address: tls_server.address,
        tls: Some(Arc::clone(&config)),
    };
    let bare = Target {
        address: bare_server.address,
        tls: Some(config),
    };
    let plain = Target {
        address: plain_server.address,
        tls: None,
    };
    let suite = runtime.block_on(load::round(&tls))?.suite;
    let bare_suite = runtime.block_on(load::round(&bare))?.suite;
    // Both named when they differ, so the row never hides a comparison of two ciphers.
    let suite = if suite == bare_suite {
        suite
    } else {
        Some(format!(
            "{} (bare tokio-rustls: {})",
            suite.as_deref().unwrap_or("?"),
            bare_suite.as_deref().unwrap_or("?")
        ))
    };
    say(&format!(
        "stream: TLS server pid {}, plaintext server pid {}, client pid {}",
        tls_server.pid,
        plain_server.pid,
        std::process::id()
    ));
    // Generous: a 2-core VM moves well over 100 MB/s even with TLS both ways.
    let limit = Duration::from_secs(30 + bytes / (50 << 20));
    let mut result = StreamResult {
        bytes,
        suite,
        ..StreamResult::default()
    };
    let mb_s = |elapsed: Duration| bytes as f64 / elapsed.as_secs_f64() / 1e6;
    for repeat in 1..=options.repeats {
        // Ours and bare tokio-rustls back to back, the first of the two alternating, so that
        // the host's drift within a repeat favours neither.
        let (t, b) = if repeat % 2 == 1 {
            let t = mb_s(load::stream_echo(runtime, &tls, bytes, limit)?);
            (t, mb_s(load::stream_echo(runtime, &bare, bytes, limit)?))
        } else {
            let b = mb_s(load::stream_echo(runtime, &bare, bytes, limit)?);
            (mb_s(load::stream_echo(runtime, &tls, bytes, limit)?), b)
        };
        let p = mb_s(load::stream_echo(runtime, &plain, bytes, limit)?);
        say(&format!(
            "[{repeat}/{}] stream {} MiB echo: TLS {t:.0} MB/s, bare tokio-rustls {b:.0} MB/s, plaintext {p:.0} MB/s",
            options.repeats, options.stream_mib
        ));
        result.tls_mb_s.push(t);
        result.bare_tls_mb_s.push(b);
        result.plaintext_mb_s.push(p);
    }
    Ok(result)
}

/// RSS growth of `vespa-tls serve` and of the bare server with `--idle` idle TLS connections.
fn idle_memory(
    runtime: &Runtime,
    options: &Options,
    tools: &Tools,
    pki: &Pki,
) -> Result<Vec<IdleResult>, String> {
    let config = load::client_config(&pki.client_material, Offer::Default)?;
    let mut results = Vec::new();
    for (name, server) in [
        (
            "vespa-tls serve, TLS-only",
            peers::vespa_tls_serve(
                tools,
                "vespa-tls serve (idle)",
                Some(&pki.vespa_config),
                false,
            )?,
        ),
        (
            "bare tokio-rustls",
            peers::bare_server(tools, "bare tokio-rustls (idle)", &pki.server, CLIENT_DNS)?,
        ),
    ] {
        let target = Target {
            address: server.address,
            tls: Some(Arc::clone(&config)),
        };
        // One connection first, so lazily made per-process state is in "before".
        runtime.block_on(load::round(&target))?;
        std::thread::sleep(Duration::from_millis(200));
        let rss_before = pid_rss_bytes(server.pid).ok_or("no VmRSS")?;
        let open = load::open_idle(runtime, &target, options.idle)?;
        std::thread::sleep(Duration::from_millis(500));
        let rss_after = pid_rss_bytes(server.pid).ok_or("no VmRSS")?;
        // Close inside the runtime that owns the sockets.
        runtime.block_on(async move { drop(open) });
        say(&format!(
            "idle: {name}: {} connections, RSS {:.1} → {:.1} MiB",
            options.idle,
            rss_before as f64 / f64::from(1 << 20),
            rss_after as f64 / f64::from(1 << 20)
        ));
        results.push(IdleResult {
            server: name,
            connections: options.idle,
            rss_before,
            rss_after,
        });
    }
    Ok(results)
}

/// `--storm` clients connecting to one server at the same moment, as when a node restarts and
/// its peers reconnect: `vespa-tls serve`, bare tokio-rustls and haproxy, each started afresh
/// so its peak RSS is the storm's.
fn reconnect_storm(
    runtime: &Runtime,
    options: &Options,
    tools: &Tools,
    pki: &Pki,
    dir: &Path,
    openssl_conf: &Path,
) -> Result<Vec<StormResult>, String> {
    let limit = Duration::from_secs(60);
    let mut results = Vec::new();
    let mut servers: Vec<(Kind, Peer, Option<Peer>)> = vec![
        (
            Kind::OursTlsX25519,
            peers::vespa_tls_serve(
                tools,
                "vespa-tls serve (storm)",
                Some(&pki.vespa_config),
                false,
            )?,
            None,
        ),
        (
            Kind::BareX25519,
            peers::bare_server(tools, "bare tokio-rustls (storm)", &pki.server, CLIENT_DNS)?,
            None,
        ),
    ];
    if let Ok(haproxy) = &tools.haproxy {
        let backend = peers::vespa_tls_serve(tools, "plaintext echo backend (storm)", None, false)?;
        let server = peers::haproxy(
            haproxy,
            &pki.server,
            CLIENT_CN,
            backend.address,
            openssl_conf,
            dir,
        )?;
        servers.push((Kind::Haproxy, server, Some(backend)));
    }
    for (kind, server, backend) in &servers {
        // Each client presents its own certificate, as the peers of a restarted node do.
        let (config, _) = load::first_contact_config(
            &pki.client_material,
            &pki.first_contact,
            Offer::X25519Only,
        )?;
        let target = Target {
            address: server.address,
            tls: Some(config),
        };
        // One connection first, so lazily made per-process state is in "before".
        runtime.block_on(load::round(&target))?;
        let rss_before = pid_rss_bytes(server.pid).ok_or("no VmRSS")?;
        let cpu_before = pid_cpu_time(server.pid);
        let backend_before = backend.as_ref().and_then(|b| pid_cpu_time(b.pid));
        let outcome = load::storm(runtime, &target, options.storm, limit)?;
        let cpu = match (cpu_before, pid_cpu_time(server.pid)) {
            (Some(b), Some(a)) => a.saturating_sub(b),
            _ => Duration::ZERO,
        };
        let backend_cpu = match (
            backend_before,
            backend.as_ref().and_then(|b| pid_cpu_time(b.pid)),
        ) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b)),
            _ => None,
        };
        let peak_rss = pid_peak_rss_bytes(server.pid).ok_or("no VmHWM")?;
        let result = StormResult {
            kind: *kind,
            clients: options.storm,
            established: outcome.established,
            failures: outcome.failures,
            first_failure: outcome.first_failure,
            all_done: outcome.all_done,
            median: percentile(&outcome.latencies, 0.5),
            p99: percentile(&outcome.latencies, 0.99),
            rss_before,
            peak_rss,
            server_cpu: cpu,
            backend_cpu,
        };
        say(&format!(
            "storm: {:<40} {} clients: all established in {:.2?} (median {:.2?}, p99 {:.2?}), {} failed, server CPU {:.0} µs/handshake, RSS {:.1} → peak {:.1} MiB",
            kind.label(),
            result.clients,
            result.all_done,
            result.median,
            result.p99,
            result.failures,
            result.server_cpu_us_per_handshake(),
            rss_before as f64 / f64::from(1 << 20),
            peak_rss as f64 / f64::from(1 << 20),
        ));
        results.push(result);
    }
    Ok(results)
}

/// The `q`-quantile of sorted durations (nearest rank); zero for none.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `openssl speed -seconds 1 -bytes 16384 -evp <cipher>`, in MB/s (10^6 bytes).
fn aead_speeds(openssl: &Path) -> Vec<AeadSpeed> {
    let mut speeds = Vec::new();
    for (algorithm, name) in [
        ("AES-128-GCM", "aes-128-gcm"),
        ("AES-256-GCM", "aes-256-gcm"),
        ("ChaCha20-Poly1305", "chacha20-poly1305"),
    ] {
        let Ok(output) = Command::new(openssl)
            .args(["speed", "-seconds", "1", "-bytes", "16384", "-evp", name])
            .output()
        else {
            continue;
        };
        // The last line is `<NAME>  <thousands of bytes per second>k`.
        let text = String::from_utf8_lossy(&output.stdout);
        let value = text
            .lines()
            .last()
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.strip_suffix('k'))
            .and_then(|v| v.parse::<f64>().ok());
        match value {
            Some(kb) => speeds.push(AeadSpeed {
                algorithm,
                mb_s: kb / 1000.0,
            }),
            None => say(&format!(
                "compare: could not read `openssl speed` for {name}"
            )),
        }
    }
    speeds
}

/// webpki's client verifier (aws-lc-rs, the server's CA file) on the client's chain: the
/// verification bare tokio-rustls does in every handshake and a verified-chain cache hit
/// skips. Median µs of 5 batches.
fn chain_verification_us(pki: &Pki) -> Result<f64, String> {
    use rustls::server::WebPkiClientVerifier;
    use rustls_pki_types::pem::PemObject as _;
    let ca = &pki.server.ca;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca)
        .map_err(|e| format!("{}: {e}", ca.display()))?
    {
        roots
            .add(cert.map_err(|e| format!("{}: {e}", ca.display()))?)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("{}: {e}", ca.display()))?;
    let (leaf, intermediates) = pki
        .client_material
        .chain
        .split_first()
        .ok_or("the client has no certificate")?;
    let now = rustls_pki_types::UnixTime::now();
    let verify = || {
        verifier
            .verify_client_cert(black_box(leaf), intermediates, now)
            .map_err(|e| format!("{}: the client's chain does not verify: {e}", pki.section))
    };
    verify()?;
    const BATCH: u32 = 200;
    let mut batches = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..BATCH {
            verify()?;
        }
        batches.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH));
    }
    Ok(report::median(batches.into_iter()))
}

/// Extraction and authorization of a peer on the seed guide's config, median ns of 5 batches.
fn authorize_seed_ns() -> Result<f64, String> {
    use vespa_tls_authz::{Authorizer, PeerCredentials};
    let (options, _) = vespa_tls_config::parse(vespa_tls_benches::SEED_CONFIG)
        .map_err(|e| format!("seed config: {e}"))?;
    let (authorizer, _) = Authorizer::compile(options.authorized_peers.as_ref());
    let validity = Validity::days_from(OffsetDateTime::now_utc(), 1);
    let ca = CertificateAuthority::new_root(&CaParams::new("authz CA", validity))
        .map_err(|e| e.to_string())?;
    let leaf = ca
        .issue(
            &NodeParams::new("vespa-monitoring.example.com", validity)
                .with_dns("i1.us-east-2.monitor.example.com"),
        )
        .map_err(|e| e.to_string())?;
    let der = leaf.cert_der;
    let peer = PeerCredentials::from_der(&der).map_err(|e| e.to_string())?;
    if !authorizer.authorize(&peer).is_authorized() {
        return Err("the seed config does not authorize the monitoring peer".into());
    }
    const BATCH: u32 = 20_000;
    let mut batches = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..BATCH {
            let peer = PeerCredentials::from_der(black_box(&der)).map_err(|e| e.to_string())?;
            black_box(authorizer.authorize(&peer));
        }
        batches.push(start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
    }
    Ok(report::median(batches.into_iter()))
}
