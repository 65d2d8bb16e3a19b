//! The comparison chart: handshake rate and server CPU per handshake for every server, as SVG
//! text (no plotting dependency; the chart is two panels of horizontal bars).

use std::fmt::Write as _;

/// One bar pair: a server (and client key exchange) under one certificate type.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRow {
    /// The certificate type the bars belong to (`ECDSA P-256`, `RSA-2048`): one section each.
    pub section: String,
    /// The server and, where it matters, the negotiated key exchange.
    pub label: String,
    /// Whether this is one of our servers (drawn in the accent colour).
    pub ours: bool,
    /// Median full handshakes per second.
    pub handshakes_per_second: f64,
    /// Median server CPU per handshake, in microseconds.
    pub server_cpu_us: f64,
}

// Room for the value labels past the longest bar of the right-hand panel.
const WIDTH: f64 = 1080.0;
const LABEL_WIDTH: f64 = 300.0;
const PANEL_WIDTH: f64 = 300.0;
const GAP: f64 = 50.0;
const ROW: f64 = 22.0;
const BAR: f64 = 15.0;
const TOP: f64 = 64.0;
const SECTION: f64 = 28.0;
const OURS: &str = "#2b6cb0";
const PEER: &str = "#8a8f98";

/// Draws `rows` (in the order given, grouped by consecutive `section`) under `title`.
pub fn handshake_chart(title: &str, rows: &[ChartRow]) -> String {
    let max_rate = rows
        .iter()
        .map(|r| r.handshakes_per_second)
        .fold(0.0, f64::max);
    let max_cpu = rows.iter().map(|r| r.server_cpu_us).fold(0.0, f64::max);
    let sections = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| *i == 0 || rows[i - 1].section != r.section)
        .count();
    let height = TOP + sections as f64 * SECTION + rows.len() as f64 * ROW + 40.0;
    let rate_x = LABEL_WIDTH;
    let cpu_x = LABEL_WIDTH + PANEL_WIDTH + GAP + 40.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">{}</text>
<text x="{rate_x}" y="50" font-weight="bold">Handshakes per second (higher is better)</text>
<text x="{cpu_x}" y="50" font-weight="bold">Server CPU per handshake, µs (lower is better)</text>"#,
        escape(title)
    );
    let mut y = TOP;
    for (i, row) in rows.iter().enumerate() {
        if i == 0 || rows[i - 1].section != row.section {
            let _ = writeln!(
                svg,
                r#"<text x="10" y="{:.1}" font-weight="bold">{}</text>"#,
                y + 18.0,
                escape(&row.section)
            );
            y += SECTION;
        }
        let colour = if row.ours { OURS } else { PEER };
        let text_y = y + BAR - 3.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{text_y:.1}" text-anchor="end">{}</text>"#,
            rate_x - 8.0,
            escape(&row.label)
        );
        for (x, value, max, shown) in [
            (
                rate_x,
                row.handshakes_per_second,
                max_rate,
                format!("{:.0}/s", row.handshakes_per_second),
            ),
            (
                cpu_x,
                row.server_cpu_us,
                max_cpu,
                format!("{:.0} µs", row.server_cpu_us),
            ),
        ] {
            let length = if max > 0.0 {
                (value / max * PANEL_WIDTH).max(1.0)
            } else {
                1.0
            };
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{length:.1}" height="{BAR}" fill="{colour}"/>
<text x="{:.1}" y="{text_y:.1}">{shown}</text>"#,
                x + length + 4.0
            );
        }
        y += ROW;
    }
    let _ = writeln!(
        svg,
        r#"<rect x="10" y="{:.1}" width="12" height="12" fill="{OURS}"/><text x="28" y="{:.1}">vespa-tls</text>
<rect x="110" y="{:.1}" width="12" height="12" fill="{PEER}"/><text x="128" y="{:.1}">other servers</text>
</svg>"#,
        y + 12.0,
        y + 22.0,
        y + 12.0,
        y + 22.0
    );
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(section: &str, label: &str, rate: f64, cpu: f64) -> ChartRow {
        ChartRow {
            section: section.into(),
            label: label.into(),
            ours: label.starts_with("vespa"),
            handshakes_per_second: rate,
            server_cpu_us: cpu,
        }
    }

    #[test]
    fn draws_one_bar_pair_per_row_and_one_heading_per_section() {
        let svg = handshake_chart(
            "a <title>",
            &[
                row("ECDSA", "vespa-tls serve", 1000.0, 400.0),
                row("ECDSA", "haproxy", 500.0, 1200.0),
                row("RSA", "vespa-tls serve", 400.0, 900.0),
            ],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;title&gt;"));
        // Two bars per row, the background and two legend swatches.
        assert_eq!(svg.matches("<rect").count(), 3 * 2 + 3);
        assert_eq!(svg.matches(">ECDSA<").count(), 1);
        assert_eq!(svg.matches(">RSA<").count(), 1);
        // The longest bar of each panel is the full panel width.
        assert_eq!(svg.matches(r#"width="300.0""#).count(), 2);
        assert!(svg.contains("1200 µs"));
    }
}
