//! `chatrix-server [run]`: prepare everything, say what will listen where, hand over to c2s.

use crate::config::Config;
use crate::{ServerContext, ServerError, c2s};

/// Builds the [`ServerContext`], prints the start-up summary, and runs the c2s listeners.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let ctx = ServerContext::build(config).await?;
    for line in summary(&ctx) {
        println!("{line}");
    }
    c2s::run(ctx).await
}

/// The start-up summary: version, data dir, database, hosts and certificates, listeners.
pub fn summary(ctx: &ServerContext) -> Vec<String> {
    let config = &ctx.config;
    let mut lines = vec![
        format!("chatrix-server {}", env!("CARGO_PKG_VERSION")),
        format!("data dir: {}", config.data_dir.display()),
        format!("database: {}", config.database_url()),
    ];
    for host in &config.hosts {
        let cert = match &host.certificate {
            Some(files) => files.certificate.display().to_string(),
            None => match &ctx.self_signed {
                Some(s) if s.generated => {
                    format!("{} (self-signed, generated now)", s.certificate.display())
                }
                Some(s) => format!("{} (self-signed)", s.certificate.display()),
                None => "self-signed".to_owned(),
            },
        };
        lines.push(format!("host {}: certificate {cert}", host.domain));
    }
    for l in &config.listeners {
        lines.push(format!("listener {l}"));
    }
    lines
}
