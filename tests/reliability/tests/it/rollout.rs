//! Rolling upgrade: three node processes that call each other, and client loops, walk the
//! rollout phases 0 → 1 → 2 → 3, one node restarted at a time. Every request is counted and
//! checked end to end: 0 failed, 0 corrupted. After phase 2 `insecure_connections` stops
//! growing; at the end no endpoint accepts plaintext (`vespa-tls scan`, and our own probe).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vespa_tls_reliability::echo::request;
use vespa_tls_reliability::hostile::raw_client;
use vespa_tls_reliability::load::{Load, LoadOptions, LoadSnapshot, Picker, Target};
use vespa_tls_reliability::node::{
    NodeArgs, NodeProcess, Phase, run_command, vespa_tls_binary, write_peers,
};
use vespa_tls_reliability::pki::fixed_context;
use vespa_tls_reliability::report::record;
use vespa_tls_reliability::scale::Scale;
use vespa_tls_testkit::TestPki;
use vespa_tls_transport::Connector;

const NODES: usize = 3;
/// Bound of every wait on a node (start, stop, stats).
const LIMIT: Duration = Duration::from_secs(30);

/// Held while a client request to a node is in flight.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Where the test's clients send: the nodes in service (`None` while one restarts) and the
/// clients' own phase.
struct Routing {
    nodes: Vec<Option<SocketAddr>>,
    in_flight: Vec<Arc<AtomicUsize>>,
    connector: Connector,
}

fn picker(routing: &Arc<Mutex<Routing>>) -> Picker {
    let routing = Arc::clone(routing);
    Arc::new(move |n| {
        let routing = routing.lock().expect("routing lock");
        let up: Vec<usize> = (0..NODES).filter(|i| routing.nodes[*i].is_some()).collect();
        let i = *up.get(usize::try_from(n).unwrap_or(0) % up.len().max(1))?;
        let address = routing.nodes[i]?;
        routing.in_flight[i].fetch_add(1, Ordering::SeqCst);
        Some(Target {
            address,
            connector: routing.connector.clone(),
            guard: Some(Box::new(InFlight(Arc::clone(&routing.in_flight[i])))),
        })
    })
}

struct Cluster {
    binary: PathBuf,
    peers_file: PathBuf,
    configs: Vec<PathBuf>,
    nodes: Vec<Option<NodeProcess>>,
    version: u64,
    routing: Arc<Mutex<Routing>>,
    /// The `stopped` event of every node lifetime that ended.
    lifetimes: Vec<Value>,
}

impl Cluster {
    fn args(&self, i: usize) -> NodeArgs {
        NodeArgs {
            name: format!("node-{i}"),
            peers: self.peers_file.clone(),
            callers: 2,
            pause: Duration::from_millis(20),
            payload_len: 1024,
        }
    }

    fn publish_peers(&mut self) {
        self.version += 1;
        let peers: Vec<(String, SocketAddr)> = self
            .nodes
            .iter()
            .flatten()
            .map(|n| (n.name().to_owned(), n.address()))
            .collect();
        write_peers(&self.peers_file, self.version, &peers).expect("write the peers file");
    }

    async fn start(&mut self, i: usize, phase: Phase) {
        let node = NodeProcess::spawn(
            &self.binary,
            &self.args(i),
            &phase.env(&self.configs[i]),
            LIMIT,
        )
        .await
        .expect("node starts");
        let listening = node.listening().clone();
        assert_eq!(listening["tls"], phase != Phase::P0, "{listening}");
        self.routing.lock().expect("routing lock").nodes[i] = Some(node.address());
        self.nodes[i] = Some(node);
        self.publish_peers();
    }

    /// Takes node `i` out of service (clients, then peers), stops it gracefully.
    async fn stop(&mut self, i: usize) -> Value {
        self.routing.lock().expect("routing lock").nodes[i] = None;
        let node = self.nodes[i].take().expect("node is running");
        self.publish_peers();
        let in_flight = Arc::clone(&self.routing.lock().expect("routing lock").in_flight[i]);
        let deadline = Instant::now() + LIMIT;
        while in_flight.load(Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "client requests to node {i} never finished"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let version = self.version;
        for other in self.nodes.iter().flatten() {
            other
                .wait_stats(
                    &format!("calls on peers version {version}"),
                    |s| s["peers_version"].as_u64().is_some_and(|v| v >= version),
                    LIMIT,
                )
                .await
                .expect("peers drop the stopping node");
        }
        let stopped = node.stop(LIMIT).await.expect("node stops gracefully");
        assert_eq!(stopped["drained"], true, "{stopped}");
        self.lifetimes.push(stopped.clone());
        stopped
    }

    fn node(&self, i: usize) -> &NodeProcess {
        self.nodes[i].as_ref().expect("node is running")
    }

    /// Waits for a `stats` event of node `i` in which it has served more than `served`
    /// connections and made more than `calls` successful calls to its peers.
    async fn wait_traffic(&self, i: usize, served: u64, calls: u64) -> Value {
        self.node(i)
            .wait_stats(
                &format!("more than {served} connections served and {calls} calls made"),
                |s| figure(s, "/served") > served && figure(s, "/calls/ok") > calls,
                LIMIT,
            )
            .await
            .expect("the node takes part in the traffic")
    }
}

/// A figure of a node's event, by JSON pointer.
fn figure(event: &Value, pointer: &str) -> u64 {
    event
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {pointer} in {event}"))
}

fn insecure(stats: &Value) -> u64 {
    figure(stats, "/counters/server.insecure_connections")
}

fn sum_calls(lifetimes: &[Value], key: &str) -> u64 {
    lifetimes
        .iter()
        .map(|l| l["calls"][key].as_u64().expect("calls figure"))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_upgrade_through_phases_0_to_3_loses_no_request() {
    let scale = Scale::from_env();
    let started = Instant::now();
    let pki = TestPki::new().expect("test PKI");
    let configs: Vec<PathBuf> = (0..NODES)
        .map(|i| {
            let name = format!("node-{i}");
            let node = pki
                .issue(&name, &pki.localhost_params(&format!("{name}.localhost")))
                .expect("issue node certificate");
            node.config_path().to_owned()
        })
        .collect();
    let client_context = fixed_context(pki.client().files(), &[]).expect("client context");
    let routing = Arc::new(Mutex::new(Routing {
        nodes: vec![None; NODES],
        in_flight: (0..NODES).map(|_| Arc::new(AtomicUsize::new(0))).collect(),
        connector: Phase::P0.connector(&client_context),
    }));
    let mut cluster = Cluster {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_reliability-node")),
        peers_file: pki.dir().join("peers.txt"),
        configs,
        nodes: (0..NODES).map(|_| None).collect(),
        version: 0,
        routing: Arc::clone(&routing),
        lifetimes: Vec::new(),
    };
    for i in 0..NODES {
        cluster.start(i, Phase::P0).await;
    }
    let load = Load::start(
        &LoadOptions {
            clients: scale.clients,
            origin: "client".into(),
            ..LoadOptions::default()
        },
        picker(&routing),
    );
    let mut at_phase_start = load.run(scale.hold, LIMIT).await.expect("phase 0 load");
    let mut per_phase: Vec<Value> = vec![json!({
        "phase": 0,
        "requests": at_phase_start.total(),
        "tls": at_phase_start.tls,
        "plaintext": at_phase_start.plaintext,
    })];
    let mut phase2_insecure: Vec<u64> = Vec::new();
    for phase in [Phase::P1, Phase::P2, Phase::P3] {
        for i in 0..NODES {
            let stopped = cluster.stop(i).await;
            if phase == Phase::P3 {
                // Not one plaintext connection since the whole cluster reached phase 2.
                assert_eq!(
                    Some(insecure(&stopped)),
                    phase2_insecure.get(i).copied(),
                    "node-{i}'s insecure_connections grew after phase 2: {stopped}"
                );
            }
            cluster.start(i, phase).await;
            load.run(scale.settle, LIMIT)
                .await
                .expect("load after a restart");
            // The restarted node took part: served clients or peers, and called its peers.
            cluster.wait_traffic(i, 0, 0).await;
        }
        // Every node is in `phase`: the clients follow.
        routing.lock().expect("routing lock").connector = phase.connector(&client_context);
        let mut now = load.run(scale.hold, LIMIT).await.expect("whole-phase load");
        if phase == Phase::P2 {
            let mut first = Vec::new();
            for i in 0..NODES {
                first.push(cluster.wait_traffic(i, 0, 0).await);
            }
            now = load.run(scale.hold, LIMIT).await.expect("phase 2 window");
            // A stats event of each node after more traffic of its own, both ways.
            let mut second = Vec::new();
            for (i, before) in first.iter().enumerate() {
                let after = cluster
                    .wait_traffic(i, figure(before, "/served"), figure(before, "/calls/ok"))
                    .await;
                second.push(insecure(&after));
            }
            let first: Vec<u64> = first.iter().map(insecure).collect();
            assert_eq!(
                first, second,
                "insecure_connections still growing in phase 2"
            );
            phase2_insecure = second;
        }
        per_phase.push(json!({
            "phase": phase.number(),
            "requests": now.total() - at_phase_start.total(),
            "tls": now.tls - at_phase_start.tls,
            "plaintext": now.plaintext - at_phase_start.plaintext,
        }));
        at_phase_start = now;
    }
    let problems = load.stats.problems();
    let totals: LoadSnapshot = load.stop(LIMIT).await;

    // No endpoint accepts plaintext: our own probe (plaintext echo), then `vespa-tls scan`.
    let addresses: Vec<SocketAddr> = cluster
        .nodes
        .iter()
        .flatten()
        .map(NodeProcess::address)
        .collect();
    for address in &addresses {
        let probe = raw_client(
            *address,
            vec![(Duration::ZERO, b"plaintext?\n".to_vec())],
            LIMIT,
        )
        .await
        .expect("probe connects");
        assert!(
            !probe.echoed && probe.closed,
            "{address} answered plaintext: {probe:?}"
        );
        let tls = request(
            &Phase::P3.connector(&client_context),
            *address,
            b"tls\n",
            LIMIT,
        )
        .await;
        assert!(tls.is_ok(), "{address}: {tls:?}");
    }
    let scan = scan(&addresses, pki.client().config_path()).await;
    assert_eq!(scan["ok"], true, "{scan}");
    for result in scan["results"].as_array().expect("scan results") {
        assert_eq!(result["accepts_plaintext"]["answer"], "no", "{result}");
    }

    for i in 0..NODES {
        let stopped = cluster.stop(i).await;
        assert_eq!(
            insecure(&stopped),
            0,
            "a phase-3 node took plaintext: {stopped}"
        );
    }
    let lifetimes = &cluster.lifetimes;
    let node_ok = sum_calls(lifetimes, "ok");
    let node_failed = sum_calls(lifetimes, "failed");
    let node_corrupted = sum_calls(lifetimes, "corrupted");
    record(
        "rolling-upgrade",
        json!({
            "nodes": NODES,
            "restarts": NODES * 3,
            "clients": totals.to_json(),
            "per_phase": per_phase,
            "node_calls": {"ok": node_ok, "failed": node_failed, "corrupted": node_corrupted},
            "insecure_after_phase2": phase2_insecure,
            "scan_ok": scan["ok"],
            "seconds": started.elapsed().as_secs_f64(),
        }),
    );
    assert_eq!(totals.failed, 0, "failed client requests: {problems:?}");
    assert_eq!(
        totals.corrupted, 0,
        "corrupted client requests: {problems:?}"
    );
    assert!(totals.tls > 0 && totals.plaintext > 0, "{totals:?}");
    for phase in &per_phase {
        assert!(phase["requests"].as_u64() > Some(0), "{phase}");
    }
    let node_problems: Vec<&Value> = lifetimes.iter().map(|l| &l["call_problems"]).collect();
    assert_eq!(
        node_failed, 0,
        "failed node-to-node calls: {node_problems:?}"
    );
    assert_eq!(
        node_corrupted, 0,
        "corrupted node-to-node calls: {node_problems:?}"
    );
    assert!(node_ok > 0);
    assert_eq!(lifetimes.len(), NODES * 4);
}

/// `vespa-tls scan --protocol echo --json` over `addresses`, as the client.
async fn scan(addresses: &[SocketAddr], config: &std::path::Path) -> Value {
    let binary = tokio::task::spawn_blocking(vespa_tls_binary)
        .await
        .expect("join")
        .expect("the vespa-tls binary");
    let mut command = std::process::Command::new(binary);
    command
        .arg("scan")
        .args(addresses.iter().map(ToString::to_string))
        .arg("--config")
        .arg(config)
        .args(["--protocol", "echo", "--timeout", "5", "--json"]);
    let output = tokio::task::spawn_blocking(move || run_command(&mut command, LIMIT))
        .await
        .expect("join")
        .expect("vespa-tls scan runs");
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "scan output is not JSON ({e}): exit {:?}\n{}\n{}",
            output.code, output.stdout, output.stderr
        )
    })
}
