//! `chatrix-server check-config`: validate without starting.

use std::path::Path;

use crate::ServerError;
use crate::config::Config;
use crate::tls::TlsConfigs;

/// Checks what can be checked without changing anything: the configuration (already parsed
/// and validated by the time this runs) and every configured certificate (it loads, its key
/// matches, it is valid for its host). Prints a summary.
pub fn check_config(config: &Config, path: Option<&Path>) -> Result<(), ServerError> {
    TlsConfigs::check_configured(config)?;
    println!("configuration OK: {}", super::describe_source(path));
    println!("data dir: {}", config.data_dir.display());
    println!("database: {}", config.database_url());
    for host in &config.hosts {
        match &host.certificate {
            Some(files) => println!(
                "host {}: certificate {}",
                host.domain,
                files.certificate.display()
            ),
            None => println!(
                "host {}: self-signed certificate ({})",
                host.domain,
                config.self_signed_cert_path().display()
            ),
        }
    }
    for l in &config.listeners {
        println!("listener {l}");
    }
    Ok(())
}
