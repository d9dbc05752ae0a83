//! The `chatrix-server` binary: parse the command line, set up logging, run the command.

use std::error::Error as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;

use chatrix_server::cli::Cli;
use chatrix_server::commands;
use clap::Parser as _;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = commands::load_config(&cli).and_then(|config| {
        init_logging(&config.log_level);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|source| chatrix_server::ServerError::Io {
                context: "cannot start the async runtime".to_owned(),
                source,
            })?;
        runtime.block_on(commands::execute(&cli, config))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Print the chain of causes, skipping those the message already quotes.
            let mut shown = e.to_string();
            eprintln!("error: {shown}");
            let mut source = e.source();
            while let Some(s) = source {
                let text = s.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown.push_str(&text);
                }
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs to standard error; `RUST_LOG` overrides the configured level.
fn init_logging(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
