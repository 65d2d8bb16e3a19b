//! `reliability-node`: one cluster node of the rolling-upgrade scenario (see
//! `vespa_tls_reliability::node`). Configured by the `VESPA_TLS_*` environment like any Vespa
//! process; stops gracefully when its stdin closes.

use std::process::ExitCode;

use vespa_tls_reliability::node::{NodeArgs, run_node};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    let args = match NodeArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) => {
            tracing::error!("reliability-node: {problem}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("reliability-node: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run_node(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("reliability-node: {e}");
            ExitCode::FAILURE
        }
    }
}
