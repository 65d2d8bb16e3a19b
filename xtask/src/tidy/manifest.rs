//! What tidy needs from a member's `Cargo.toml`: its name, whether it is published, the keys
//! of its `[package]` table, and its normal (non-dev) dependencies.
//!
//! xtask has no dependencies (it builds in seconds on a fresh clone), so this reads the subset of
//! TOML that manifests use: `[table]` headers, `key = value` lines, inline tables on one line,
//! dotted keys (`name.workspace = true`) and dependency tables (`[dependencies.name]`).

/// The parts of one manifest the rules look at.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// `[package] name`, if the manifest has one.
    pub(crate) name: Option<String>,
    /// `publish = false` (or `publish = []`): the package never goes to a registry.
    pub(crate) unpublished: bool,
    /// `[package]` (and `[workspace.package]`) keys with their values as written: `readme` →
    /// `"README.md"`, `license.workspace` → `true`.
    pub(crate) package_keys: Vec<(String, String)>,
    /// Packages in `[dependencies]`, `[build-dependencies]` and their `[target.….dependencies]`
    /// forms, under their package name (a renamed dependency counts by its `package = "…"`).
    pub(crate) normal_dependencies: Vec<String>,
}

/// Reads the manifest text; lines it does not understand are skipped.
pub(crate) fn parse(text: &str) -> Manifest {
    let mut manifest = Manifest::default();
    let mut table = String::new();
    // `[dependencies.name]`: the dependency that the table's keys describe.
    let mut dependency_table: Option<String> = None;
    for line in text.lines() {
        let line = strip_comment(line).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            table = unquote_dotted(header.trim_start_matches('[').trim_end_matches(']'));
            dependency_table = None;
            if let Some((section, name)) = table.rsplit_once('.')
                && is_normal_dependency_section(section)
            {
                manifest.normal_dependencies.push(name.to_string());
                dependency_table = Some(name.to_string());
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = unquote_dotted(key.trim());
        let value = value.trim();
        if table == "package" || table == "workspace.package" {
            manifest
                .package_keys
                .push((key.clone(), unquote(value).to_string()));
        }
        if table == "package" {
            match key.as_str() {
                "name" => manifest.name = Some(unquote(value).to_string()),
                "publish" => manifest.unpublished = value == "false" || value == "[]",
                _ => {}
            }
        } else if is_normal_dependency_section(&table) {
            let name = key.split('.').next().unwrap_or_default();
            let package = inline_package(value).unwrap_or(name);
            manifest.normal_dependencies.push(package.to_string());
        } else if let Some(name) = &dependency_table
            && key == "package"
        {
            let renamed = unquote(value).to_string();
            if let Some(last) = manifest
                .normal_dependencies
                .iter_mut()
                .rfind(|d| *d == name)
            {
                *last = renamed;
            }
        }
    }
    manifest
}

impl Manifest {
    /// The value of `key` in `[package]`, or `workspace` when the manifest inherits it
    /// (`key.workspace = true`).
    pub(crate) fn package_value(&self, key: &str) -> Option<&str> {
        self.package_keys.iter().find_map(|(k, v)| {
            if k == key {
                Some(v.as_str())
            } else if k.strip_suffix(".workspace") == Some(key) && v == "true" {
                Some("workspace")
            } else {
                None
            }
        })
    }
}

/// `dependencies`, `build-dependencies`, `target.'cfg(unix)'.dependencies` …, not dev ones.
fn is_normal_dependency_section(table: &str) -> bool {
    let last = table.rsplit('.').next().unwrap_or_default();
    let target_or_top =
        table == last || (table.starts_with("target.") && table.split('.').count() >= 3);
    target_or_top && (last == "dependencies" || last == "build-dependencies")
}

/// `{ workspace = true, package = "x" }` → `x`.
fn inline_package(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('{')?.strip_suffix('}')?;
    inner.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == "package").then(|| unquote(value.trim()))
    })
}

/// A table header or key with its quoted parts unquoted: `target.'cfg(unix)'.dependencies` keeps
/// its dots, `"vespa-tls-testkit"` loses its quotes.
fn unquote_dotted(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '"' && *c != '\'')
        .collect::<String>()
        .split('.')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(".")
}

fn unquote(value: &str) -> &str {
    value.trim().trim_matches('"').trim_matches('\'')
}

/// The line up to a `#` that is outside a string.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (manifest, expected name, unpublished, normal dependencies).
    const CASES: &[(&str, Option<&str>, bool, &[&str])] = &[
        (
            "[package]\nname = \"vespa-tls-context\"\n\n[dependencies]\nvespa-tls-config.workspace = true\n\
             rustls = { workspace = true }\n\n[dev-dependencies]\nvespa-tls-testkit.workspace = true\n",
            Some("vespa-tls-context"),
            false,
            &["vespa-tls-config", "rustls"],
        ),
        (
            "[package]\nname = \"vespa-tls-reliability\"\npublish = false # a test harness\n\n\
             [dependencies]\n# The scenarios build their PKI with it.\nvespa-tls-testkit.workspace = true\n",
            Some("vespa-tls-reliability"),
            true,
            &["vespa-tls-testkit"],
        ),
        (
            "[package]\nname = 'x'\npublish = []\n[build-dependencies]\n\"vespa-tls-testkit\" = { path = \"../testkit\" }\n",
            Some("x"),
            true,
            &["vespa-tls-testkit"],
        ),
        // A renamed dependency counts by its package.
        (
            "[package]\nname = \"x\"\n[dependencies]\nkit = { package = \"vespa-tls-testkit\", path = \"k\" }\n",
            Some("x"),
            false,
            &["vespa-tls-testkit"],
        ),
        (
            "[package]\nname = \"x\"\n[dependencies.kit]\npath = \"k\"\npackage = \"vespa-tls-testkit\"\n",
            Some("x"),
            false,
            &["vespa-tls-testkit"],
        ),
        // Target-specific dependencies are normal ones; target-specific dev ones are not.
        (
            "[package]\nname = \"x\"\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n\
             [target.'cfg(unix)'.dev-dependencies]\nvespa-tls-testkit = { path = \"k\" }\n",
            Some("x"),
            false,
            &["libc"],
        ),
        (
            "[package]\nname = \"x\"\n[dev-dependencies.vespa-tls-testkit]\npath = \"k\"\n\
             [[bin]]\nname = \"y\"\n",
            Some("x"),
            false,
            &[],
        ),
    ];

    #[test]
    fn every_manifest_reads_as_expected() {
        for (text, name, unpublished, dependencies) in CASES {
            let manifest = parse(text);
            assert_eq!(manifest.name.as_deref(), *name, "{text}");
            assert_eq!(manifest.unpublished, *unpublished, "{text}");
            assert_eq!(&manifest.normal_dependencies, dependencies, "{text}");
        }
    }
}
