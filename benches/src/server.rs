//! What the comparison's server binaries (`bare-server`, `axum-listener`) share: the runtime
//! shape of `vespa-tls serve`, the `listening` line the comparison waits for, and how they
//! exit on an error.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Prints the JSON line the comparison reads the server's address from.
#[expect(clippy::print_stdout, reason = "the listening line is the output")]
pub fn announce_listening(address: SocketAddr) {
    println!(r#"{{"event":"listening","address":"{address}"}}"#);
}

/// Prints `program: error: message` and returns the usage/failure exit code, 2.
#[expect(clippy::print_stderr, reason = "errors go to stderr")]
pub fn fail(program: &str, message: &str) -> ExitCode {
    eprintln!("{program}: error: {message}");
    ExitCode::from(2)
}

/// Runs `serve` to its end on a runtime shaped like `vespa-tls serve`'s (two worker threads);
/// an error fails the process, named as `program`.
pub fn run(program: &str, serve: impl Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(program, &e.to_string()),
    };
    match runtime.block_on(serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(program, &e),
    }
}
