//! `linotp-server`: the LinOTP-compatible authentication server.
//!
//! Settings come from LinOTP's configuration files and `LINOTP_*` environment variables
//! (see `linotp config show`); `--listen` overrides `LISTEN`. On an empty data directory the
//! first start creates keys, database and the local administrator `admin`, printing a
//! generated password once on stdout. Logs go to stderr.
//!
//! Exit codes: 0 after a clean shutdown (SIGTERM / SIGINT), 1 on other failures, 3 when the
//! database schema is not one this version runs on, 4 when a required file or table is
//! missing (encKey, audit keys, TLS files).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use linotp_api::bootstrap::exit_code;
use linotp_settings::Settings;

/// linotp-rs: the LinOTP-compatible authentication server.
#[derive(Debug, Parser)]
#[command(name = "linotp-server", version)]
struct Args {
    /// Address and port to listen on (overrides the LISTEN setting, default 127.0.0.1:5000).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("linotp-server: {error}");
            return ExitCode::from(exit_code::FAILURE);
        }
    };
    linotp_api::server::init_logging(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("linotp-server: cannot start the async runtime: {error}");
            return ExitCode::from(exit_code::FAILURE);
        }
    };
    match runtime.block_on(linotp_api::server::run(&settings, args.listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(exit_code = error.exit_code, "{}", error.message);
            eprintln!("linotp-server: {}", error.message);
            ExitCode::from(error.exit_code)
        }
    }
}
