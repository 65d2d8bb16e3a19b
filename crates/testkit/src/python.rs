//! Python as a real peer (grpcio, `ssl`, parsers of our output formats): the first
//! interpreter that can import a module.

use std::process::{Command, Stdio};

/// The interpreters tried, in order: Debian's system Python first (where `apt-get install
/// python3-…` puts modules, and which a version manager on `PATH` may shadow), then `python3`
/// on `PATH`.
const INTERPRETERS: [&str; 2] = ["/usr/bin/python3", "python3"];

/// The first Python that imports `module`, run isolated (`-I`: neither the working
/// directory nor `PYTHON*` variables change what is imported), or `None`.
pub fn python_with(module: &str) -> Option<&'static str> {
    INTERPRETERS.into_iter().find(|python| {
        Command::new(python)
            .args(["-I", "-c", &format!("import {module}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// [`python_with`], or `None` after printing `skipped: …` naming the module and the Debian
/// `package` that provides it: the first line of a test that needs it.
#[expect(
    clippy::print_stdout,
    reason = "a skipped test says why, in the test output"
)]
pub fn python_with_or_skip(module: &str, package: &str) -> Option<&'static str> {
    let found = python_with(module);
    if found.is_none() {
        println!("skipped: no python3 with {module} (apt-get install {package})");
    }
    found
}
