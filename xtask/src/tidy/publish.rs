//! Rules 6 and 7: what a crates.io package needs, and a `rust-version` that CI tests.
//!
//! 6. Every member that may be published (no `publish = false`) states `description`,
//!    `license`, `repository`, `rust-version` and `readme` (its own or the workspace's), and
//!    the readme (in its directory, or the workspace's at the root when inherited) and a
//!    `LICENSE` in its directory exist, so that `cargo package` ships them.
//! 7. The workspace's `rust-version` is the toolchain the CI workflow installs: the manifests
//!    claim the compiler that is tested, no older one.

use std::path::Path;

use super::manifest::Manifest;

/// The `[package]` keys a published crate must state.
pub(crate) const REQUIRED_KEYS: &[&str] = &[
    "description",
    "license",
    "repository",
    "rust-version",
    "readme",
];

/// The CI workflow whose toolchain rule 7 compares with.
pub(crate) const WORKFLOW: &str = ".github/workflows/ci.yml";

/// Rule 6 for one member in `dir`, with the workspace's root manifest (`None`: unreadable,
/// reported elsewhere); `exists` answers for paths relative to the workspace root.
pub(crate) fn package_metadata(
    dir: &str,
    name: &str,
    manifest: &Manifest,
    root: Option<&Manifest>,
    exists: impl Fn(&Path) -> bool,
) -> Vec<String> {
    if manifest.unpublished {
        return Vec::new();
    }
    let mut problems: Vec<String> = REQUIRED_KEYS
        .iter()
        .filter(|key| manifest.package_value(key).is_none())
        .map(|key| {
            format!(
                "{dir}/Cargo.toml: {name} may be published but states no `{key}` \
                 (set it, or `{key}.workspace = true`, or `publish = false`)"
            )
        })
        .collect();
    let readme = match manifest.package_value("readme") {
        None => None,
        Some("workspace") => match root.map(|root| root.package_value("readme")) {
            // Cargo resolves an inherited readme against the workspace root.
            Some(Some(readme)) if readme != "workspace" => {
                if !exists(Path::new(readme)) {
                    problems.push(format!(
                        "{readme}: missing; {name} inherits it as its readme and its package must ship it"
                    ));
                }
                None
            }
            Some(_) => {
                problems.push(format!(
                    "{dir}/Cargo.toml: {name} inherits `readme` but Cargo.toml's \
                     [workspace.package] states none"
                ));
                None
            }
            None => None,
        },
        Some(readme) => Some(readme),
    };
    for file in readme.into_iter().chain(["LICENSE"]) {
        if !exists(&Path::new(dir).join(file)) {
            problems.push(format!(
                "{dir}/{file}: missing; {name} may be published and its package must ship it"
            ));
        }
    }
    problems
}

/// Rule 7: `None` when the root manifest's `rust-version` is the workflow's toolchain.
pub(crate) fn rust_version_is_tested(root: &Manifest, workflow: &str) -> Option<String> {
    let Some(declared) = root.package_value("rust-version") else {
        return Some("Cargo.toml: [workspace.package] states no rust-version".into());
    };
    let toolchains: Vec<&str> = workflow
        .lines()
        .filter_map(|line| line.trim().strip_prefix("toolchain:"))
        .map(|value| value.trim().trim_matches('"').trim_matches('\''))
        .collect();
    match toolchains.as_slice() {
        [tested] if *tested == declared => None,
        [tested] => Some(format!(
            "Cargo.toml: rust-version = \"{declared}\" but {WORKFLOW} tests with toolchain \
             \"{tested}\"; state the compiler CI builds with"
        )),
        [] => Some(format!(
            "{WORKFLOW}: installs no pinned `toolchain:`, so no rust-version is tested \
             (Cargo.toml states \"{declared}\")"
        )),
        _ => Some(format!(
            "{WORKFLOW}: installs several toolchains ({}); rule 7 expects one",
            toolchains.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidy::manifest;

    const COMPLETE: &str = "[package]\nname = \"p\"\ndescription = \"d\"\n\
        license.workspace = true\nrepository.workspace = true\nrust-version.workspace = true\n\
        readme = \"README.md\"\n";

    #[test]
    fn a_published_member_states_its_metadata_and_ships_readme_and_license() {
        let both =
            |p: &Path| p == Path::new("crates/p/README.md") || p == Path::new("crates/p/LICENSE");
        assert_eq!(
            package_metadata("crates/p", "p", &manifest::parse(COMPLETE), None, both),
            Vec::<String>::new()
        );

        // Each required key, left out, is named.
        for key in REQUIRED_KEYS {
            let text: String = COMPLETE
                .lines()
                .filter(|line| !line.starts_with(key))
                .map(|line| format!("{line}\n"))
                .collect();
            let problems = package_metadata("crates/p", "p", &manifest::parse(&text), None, both);
            assert_eq!(problems.len(), 1, "{key}: {problems:?}");
            assert!(problems[0].contains(&format!("no `{key}`")), "{problems:?}");
        }

        // The files must be there.
        let problems =
            package_metadata("crates/p", "p", &manifest::parse(COMPLETE), None, |_| false);
        assert_eq!(
            problems,
            [
                "crates/p/README.md: missing; p may be published and its package must ship it",
                "crates/p/LICENSE: missing; p may be published and its package must ship it",
            ]
        );

        // An unpublished member owes nothing.
        let unpublished = "[package]\nname = \"p\"\npublish = false\n";
        assert!(
            package_metadata("x", "p", &manifest::parse(unpublished), None, |_| false).is_empty()
        );
    }

    #[test]
    fn an_inherited_readme_is_the_workspace_roots() {
        let member = COMPLETE.replace("readme = \"README.md\"", "readme.workspace = true");
        let member = manifest::parse(&member);
        let root = manifest::parse("[workspace]\n[workspace.package]\nreadme = \"README.md\"\n");
        // The root's README and the member's LICENSE: nothing missing, no member README needed.
        let present = |p: &Path| p == Path::new("README.md") || p == Path::new("crates/p/LICENSE");
        assert_eq!(
            package_metadata("crates/p", "p", &member, Some(&root), present),
            Vec::<String>::new()
        );
        // The root's README missing is named at the root, not in the member.
        let license_only = |p: &Path| p == Path::new("crates/p/LICENSE");
        assert_eq!(
            package_metadata("crates/p", "p", &member, Some(&root), license_only),
            ["README.md: missing; p inherits it as its readme and its package must ship it"]
        );
        // Inheriting from a workspace that states no readme.
        let bare_root = manifest::parse("[workspace]\n[workspace.package]\n");
        let problems = package_metadata("crates/p", "p", &member, Some(&bare_root), present);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("inherits `readme`"), "{problems:?}");
    }

    #[test]
    fn the_declared_rust_version_must_be_the_tested_toolchain() {
        let root = manifest::parse("[workspace]\n[workspace.package]\nrust-version = \"1.95\"\n");
        let pinned = "steps:\n  - uses: dtolnay/rust-toolchain@master\n    with:\n      toolchain: \"1.95\"\n";
        assert_eq!(rust_version_is_tested(&root, pinned), None);

        let other = pinned.replace("1.95", "1.96");
        let problem = rust_version_is_tested(&root, &other).expect("a mismatch");
        assert!(
            problem.contains("\"1.95\"") && problem.contains("\"1.96\""),
            "{problem}"
        );

        let floating = "steps:\n  - uses: dtolnay/rust-toolchain@stable\n";
        assert!(rust_version_is_tested(&root, floating).is_some());

        let none = manifest::parse("[workspace]\n");
        assert!(rust_version_is_tested(&none, pinned).is_some());
    }
}
