//! The counters and gauges in the Prometheus text format, through `prometheus-client`.
//!
//! [`TlsCollector`] reads the process's atomics and the reloading context's status when a
//! scrape asks, so counting on the handshake path stays one relaxed atomic increment. Register
//! it in a service's own [`Registry`] (its `/metrics`), or render it alone with
//! [`render_prometheus`]. Every name starts with `vespa_tls_`; docs/OPERATIONS.md maps each to
//! Vespa's C++ and Java names.

use std::sync::{Arc, Weak};
use std::time::SystemTime;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use vespa_tls_material::CertificateFacts;

use crate::context::TlsContext;
use crate::metrics::{MetricsSnapshot, SideSnapshot, TlsMetrics};
use crate::reload::{ReloadingTlsContext, Shared};

/// The prefix of every metric name.
pub const METRIC_PREFIX: &str = "vespa_tls";

/// Our metrics for a `prometheus-client` [`Registry`]: every counter of a [`TlsMetrics`], and,
/// for a context, the expiry of its certificates; for a reloading context also the reload
/// generation, whether the last reload failed and the seconds since the current snapshot was
/// published. Values are read at each scrape; a collector of a dropped context reports its
/// counters only.
#[derive(Debug, Clone)]
pub struct TlsCollector {
    metrics: Arc<TlsMetrics>,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Counters,
    Fixed(Arc<TlsContext>),
    Reloading(Weak<Shared>),
}

impl TlsCollector {
    /// Counters only (TLS off: the plaintext connections are still counted).
    pub fn counters(metrics: Arc<TlsMetrics>) -> Self {
        TlsCollector {
            metrics,
            source: Source::Counters,
        }
    }

    /// A fixed context: its counters and its certificates' expiry.
    pub fn fixed(context: Arc<TlsContext>) -> Self {
        TlsCollector {
            metrics: Arc::clone(context.metrics()),
            source: Source::Fixed(context),
        }
    }

    /// A reloading context: its counters, the current snapshot's certificates and the reload
    /// gauges. The collector does not keep the context alive.
    pub fn reloading(context: &ReloadingTlsContext) -> Self {
        TlsCollector {
            metrics: Arc::clone(context.metrics()),
            source: Source::Reloading(context.shared_weak()),
        }
    }

    /// Registers this collector in `registry` (names are absolute: `vespa_tls_…` whatever
    /// prefix `registry` has been given is added in front).
    pub fn register(self, registry: &mut Registry) {
        registry.register_collector(Box::new(self));
    }

    fn gauges(&self) -> Option<Gauges> {
        match &self.source {
            Source::Counters => None,
            Source::Fixed(context) => Some(Gauges {
                leaf: context.material().chain[0].clone(),
                cas: context.material().ca_certificates.clone(),
                reload: None,
            }),
            Source::Reloading(weak) => {
                let status = weak.upgrade()?.status();
                let age = SystemTime::now()
                    .duration_since(status.loaded_at)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                Some(Gauges {
                    leaf: status.certificate,
                    cas: status.ca_certificates,
                    reload: Some(ReloadGauges {
                        generation: status.generation,
                        last_failed: status.last_error.is_some(),
                        seconds_since_reload: age,
                    }),
                })
            }
        }
    }
}

struct Gauges {
    leaf: CertificateFacts,
    cas: Vec<CertificateFacts>,
    reload: Option<ReloadGauges>,
}

struct ReloadGauges {
    generation: u64,
    last_failed: bool,
    seconds_since_reload: f64,
}

fn name(suffix: &str) -> String {
    format!("{METRIC_PREFIX}_{suffix}")
}

fn per_side(
    encoder: &mut DescriptorEncoder<'_>,
    suffix: &str,
    help: &str,
    snapshot: &MetricsSnapshot,
    value: impl Fn(&SideSnapshot) -> u64,
) -> Result<(), std::fmt::Error> {
    let name = name(suffix);
    let mut family = encoder.encode_descriptor(&name, help, None, MetricType::Counter)?;
    for (side, counters) in [("server", &snapshot.server), ("client", &snapshot.client)] {
        let labels = [("side", side)];
        ConstCounter::new(value(counters)).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    suffix: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let name = name(suffix);
    let family = encoder.encode_descriptor(&name, help, None, MetricType::Counter)?;
    ConstCounter::new(value).encode(family)
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    suffix: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let name = name(suffix);
    let family = encoder.encode_descriptor(&name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(family)
}

/// The Unix time of a certificate's notAfter, in seconds.
pub fn not_after_unix_seconds(facts: &CertificateFacts) -> i64 {
    facts.not_after.unix_timestamp()
}

impl Collector for TlsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let m = self.metrics.snapshot();
        let e = &mut encoder;
        {
            let name = name("connections_established");
            let mut family = e.encode_descriptor(
                &name,
                "Connections ready for use: security=\"tls\" completed a TLS handshake and passed \
                 authorization, security=\"insecure\" is plaintext (TLS off, or a plaintext peer \
                 of a mixed-mode server).",
                None,
                MetricType::Counter,
            )?;
            for (side, counters) in [("server", &m.server), ("client", &m.client)] {
                for (security, value) in [
                    ("tls", counters.tls_connections),
                    ("insecure", counters.insecure_connections),
                ] {
                    let labels = [("side", side), ("security", security)];
                    ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        {
            let name = name("handshakes_failed");
            let mut family = e.encode_descriptor(
                &name,
                "Connections that failed before they could be used, by reason.",
                None,
                MetricType::Counter,
            )?;
            for (side, counters) in [("server", &m.server), ("client", &m.client)] {
                for (reason, value) in counters.handshake_failures.iter() {
                    let labels = [("side", side), ("reason", reason.as_str())];
                    ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        per_side(
            e,
            "peer_authorization_failures",
            "Peers whose certificate credentials were invalid or not authorized (log_only included).",
            &m,
            |s| s.invalid_peer_credentials,
        )?;
        per_side(
            e,
            "connections_broken",
            "Established TLS connections that broke with a TLS-level error.",
            &m,
            |s| s.broken_tls_connections,
        )?;
        counter(
            e,
            "successful_config_reloads",
            "Reloads that published a new TLS context.",
            m.successful_config_reloads,
        )?;
        counter(
            e,
            "failed_config_reloads",
            "Reloads that failed validation; the old TLS context stayed in effect.",
            m.failed_config_reloads,
        )?;
        counter(
            e,
            "capability_checks_failed",
            "Capability checks that failed (refused in enforce, logged in log_only).",
            m.capability_checks_failed,
        )?;
        counter(
            e,
            "verified_chain_cache_hits",
            "Peer chain verifications answered by the verified-chain cache.",
            m.verified_chain_cache_hits,
        )?;
        counter(
            e,
            "verified_chain_cache_misses",
            "Peer chain verifications the verified-chain cache could not answer.",
            m.verified_chain_cache_misses,
        )?;
        let Some(gauges) = self.gauges() else {
            return Ok(());
        };
        {
            let name = name("certificate_not_after_timestamp_seconds");
            let mut family = e.encode_descriptor(
                &name,
                "The notAfter of our certificate (certificate=\"leaf\") and of each trusted CA, as Unix time.",
                None,
                MetricType::Gauge,
            )?;
            let entries =
                std::iter::once(("leaf", &gauges.leaf)).chain(gauges.cas.iter().map(|c| ("ca", c)));
            for (kind, facts) in entries {
                let labels = [
                    ("certificate", kind),
                    ("subject", facts.subject.as_str()),
                    ("sha256", facts.sha256_fingerprint.as_str()),
                ];
                // Unix seconds are exact in an f64 for every date a certificate can hold.
                let value = not_after_unix_seconds(facts) as f64;
                ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
            }
        }
        if let Some(reload) = gauges.reload {
            let generation = reload.generation as f64;
            gauge(
                e,
                "config_generation",
                "The generation of the TLS context in use: 1 at start, +1 per published reload.",
                generation,
            )?;
            gauge(
                e,
                "config_last_reload_failed",
                "1 when the last reload failed (the previous context stays in effect), else 0.",
                if reload.last_failed { 1.0 } else { 0.0 },
            )?;
            gauge(
                e,
                "config_seconds_since_last_reload",
                "Seconds since the TLS context in use was published (at start or by a reload).",
                reload.seconds_since_reload,
            )?;
        }
        Ok(())
    }
}

/// Everything `collector` reports, in the Prometheus text format 0.0.4 (what
/// `text/plain; version=0.0.4` scrapers expect).
pub fn render_prometheus(collector: &TlsCollector) -> String {
    let mut registry = Registry::default();
    collector.clone().register(&mut registry);
    let mut out = String::new();
    // Writing to a String cannot fail, and our collector only fails when the writer does.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

/// The content type of [`render_prometheus`]'s output.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `vespa-tls check --prometheus` writes for node_exporter's textfile collector: whether
/// the config at `config` is ok, its numbers of errors and warnings, the notAfter of our
/// certificate and of each CA (when the files were checked), and when the check ran. Every
/// sample carries the `config` path as a label.
pub fn render_check(
    report: &crate::CheckReport,
    config: &std::path::Path,
    checked_at: time::OffsetDateTime,
) -> String {
    let collector = CheckCollector {
        config: config.display().to_string(),
        ok: report.is_ok(),
        errors: report.count(vespa_tls_config::Severity::Error),
        warnings: report.count(vespa_tls_config::Severity::Warning),
        leaf: report.certificate.clone(),
        cas: report.ca_certificates.clone(),
        checked_at: checked_at.unix_timestamp(),
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    let mut out = String::new();
    // Writing to a String cannot fail, and our collector only fails when the writer does.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

#[derive(Debug)]
struct CheckCollector {
    config: String,
    ok: bool,
    errors: usize,
    warnings: usize,
    leaf: Option<CertificateFacts>,
    cas: Vec<CertificateFacts>,
    checked_at: i64,
}

impl Collector for CheckCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let config = [("config", self.config.as_str())];
        let gauges = [
            (
                "check_ok",
                "1 when vespa-tls check found no error in the config and its files, else 0.",
                if self.ok { 1.0 } else { 0.0 },
            ),
            (
                "check_errors",
                "Error-level findings of vespa-tls check.",
                self.errors as f64,
            ),
            (
                "check_warnings",
                "Warning-level findings of vespa-tls check (expiry within --warn-days among them).",
                self.warnings as f64,
            ),
            (
                "check_timestamp_seconds",
                "When vespa-tls check ran, as Unix time.",
                self.checked_at as f64,
            ),
        ];
        for (suffix, help, value) in gauges {
            let name = name(suffix);
            let mut family = encoder.encode_descriptor(&name, help, None, MetricType::Gauge)?;
            ConstGauge::new(value).encode(family.encode_family(&config)?)?;
        }
        if self.leaf.is_none() && self.cas.is_empty() {
            return Ok(());
        }
        let name = name("certificate_not_after_timestamp_seconds");
        let mut family = encoder.encode_descriptor(
            &name,
            "The notAfter of our certificate (certificate=\"leaf\") and of each trusted CA, as Unix time.",
            None,
            MetricType::Gauge,
        )?;
        let entries = self
            .leaf
            .iter()
            .map(|c| ("leaf", c))
            .chain(self.cas.iter().map(|c| ("ca", c)));
        for (kind, facts) in entries {
            let labels = [
                ("config", self.config.as_str()),
                ("certificate", kind),
                ("subject", facts.subject.as_str()),
                ("sha256", facts.sha256_fingerprint.as_str()),
            ];
            let value = not_after_unix_seconds(facts) as f64;
            ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
