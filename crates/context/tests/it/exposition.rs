//! The Prometheus exposition of a reloading context: names, labels and values as a scrape sees
//! them, across a failed and a fixed reload. (The CLI's tests read the same page with
//! Prometheus' own parser.)

use std::sync::Arc;
use std::time::Duration;

use vespa_tls_context::prometheus_client::registry::Registry;
use vespa_tls_context::{
    HandshakeFailure, ReloadOptions, ReloadingTlsContext, TlsCollector, TlsMetrics, TlsModes,
    render_prometheus,
};
use vespa_tls_testkit::{TestConfig, TestPki};

/// The value of the one line that starts with `series` (name and labels, as rendered).
fn sample(page: &str, series: &str) -> f64 {
    let values: Vec<f64> = page
        .lines()
        .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a number"))
        .collect();
    assert_eq!(values.len(), 1, "{series} in:\n{page}");
    values[0]
}

#[test]
fn reload_gauges_follow_a_failed_and_a_fixed_reload() {
    let pki = TestPki::new().expect("test setup");
    let config = pki.dir().join("tls.json");
    let good = TestConfig::new(pki.server().files()).to_json();
    std::fs::write(&config, &good).expect("test setup");
    let options = ReloadOptions {
        watch: false,
        interval: Duration::from_secs(3600),
        ..ReloadOptions::default()
    };
    let ctx = ReloadingTlsContext::from_file(&config, TlsModes::default(), options).unwrap();
    let collector = TlsCollector::reloading(&ctx);

    let page = render_prometheus(&collector);
    assert_eq!(sample(&page, "vespa_tls_config_generation"), 1.0);
    assert_eq!(sample(&page, "vespa_tls_config_last_reload_failed"), 0.0);
    let leaf = ctx.status().certificate;
    let series = format!(
        "vespa_tls_certificate_not_after_timestamp_seconds{{certificate=\"leaf\",subject=\"{}\",sha256=\"{}\"}}",
        leaf.subject, leaf.sha256_fingerprint
    );
    assert_eq!(
        sample(&page, &series),
        leaf.not_after.unix_timestamp() as f64
    );
    assert_eq!(
        page.matches("certificate_not_after_timestamp_seconds{certificate=\"ca\"")
            .count(),
        ctx.status().ca_certificates.len()
    );

    std::fs::write(&config, "{ \"files\": ").expect("test setup");
    assert!(ctx.reload().is_err());
    let page = render_prometheus(&collector);
    assert_eq!(sample(&page, "vespa_tls_config_last_reload_failed"), 1.0);
    assert_eq!(sample(&page, "vespa_tls_config_generation"), 1.0);
    assert_eq!(sample(&page, "vespa_tls_failed_config_reloads_total"), 1.0);

    std::fs::write(&config, format!("{good}\n")).expect("test setup");
    ctx.reload().expect("the fixed config loads");
    let page = render_prometheus(&collector);
    assert_eq!(sample(&page, "vespa_tls_config_last_reload_failed"), 0.0);
    assert_eq!(sample(&page, "vespa_tls_config_generation"), 2.0);
    assert_eq!(
        sample(&page, "vespa_tls_successful_config_reloads_total"),
        1.0
    );
    let age = sample(&page, "vespa_tls_config_seconds_since_last_reload");
    assert!((0.0..60.0).contains(&age), "{age}");

    // A collector does not keep a dropped context alive: its counters remain, the gauges go.
    drop(ctx);
    let page = render_prometheus(&collector);
    assert_eq!(sample(&page, "vespa_tls_failed_config_reloads_total"), 1.0);
    assert!(!page.contains("vespa_tls_config_generation"), "{page}");
}

#[test]
fn counters_render_by_side_security_and_reason() {
    let metrics = Arc::new(TlsMetrics::default());
    TlsMetrics::bump(&metrics.server.tls_connections);
    TlsMetrics::bump(&metrics.client.insecure_connections);
    metrics.server.count_failure(HandshakeFailure::UnknownCa);
    metrics.server.count_failure(HandshakeFailure::UnknownCa);
    metrics.client.count_failure(HandshakeFailure::Timeout);
    let snapshot = metrics.snapshot();
    assert_eq!(snapshot.server.failed_tls_handshakes, 2);
    assert_eq!(
        snapshot
            .server
            .handshake_failures
            .get(HandshakeFailure::UnknownCa),
        2
    );

    // Registered in a service's own registry, under its prefix.
    let mut registry = Registry::with_prefix("myservice");
    TlsCollector::counters(Arc::clone(&metrics)).register(&mut registry);
    let mut page = String::new();
    vespa_tls_context::prometheus_client::encoding::text::encode(&mut page, &registry)
        .expect("encodes");
    let established = "myservice_vespa_tls_connections_established_total";
    let failed = "myservice_vespa_tls_handshakes_failed_total";
    for (series, value) in [
        (
            format!("{established}{{side=\"server\",security=\"tls\"}}"),
            1.0,
        ),
        (
            format!("{established}{{side=\"server\",security=\"insecure\"}}"),
            0.0,
        ),
        (
            format!("{established}{{side=\"client\",security=\"insecure\"}}"),
            1.0,
        ),
        (
            format!("{failed}{{side=\"server\",reason=\"unknown_ca\"}}"),
            2.0,
        ),
        (
            format!("{failed}{{side=\"client\",reason=\"timeout\"}}"),
            1.0,
        ),
        (
            format!("{failed}{{side=\"client\",reason=\"unknown_ca\"}}"),
            0.0,
        ),
    ] {
        assert_eq!(sample(&page, &series), value, "{series}");
    }
    // Counters only: no certificate or reload gauges without a context.
    assert!(!page.contains("not_after"), "{page}");
    assert!(!page.contains("generation"), "{page}");
}
