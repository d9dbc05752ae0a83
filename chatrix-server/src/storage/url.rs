//! Database URLs: `sqlite://FILE`, `sqlite::memory:`, `postgres://...`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Which database to open.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file (created when missing). A relative path is resolved by the configuration
    /// against the data dir.
    Sqlite(PathBuf),
    /// A private in-memory SQLite database, gone when the server stops (tests only).
    SqliteMemory,
    /// A PostgreSQL connection URL (`postgres://user:password@host:port/database`). The
    /// database must exist; its schema is created by the migrations.
    Postgres(String),
}

/// Why a database URL is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseUrlError {
    /// Neither `sqlite:` nor `postgres:`/`postgresql:`.
    #[error("unsupported database URL (expected `sqlite://FILE` or `postgres://...`)")]
    UnknownScheme,
    /// `sqlite://` with no file.
    #[error("the SQLite URL names no file")]
    EmptyPath,
    /// `sqlite://FILE?...`: options are set by the server, not in the URL.
    #[error("SQLite URL options (`?...`) are not supported; give only the file")]
    SqliteOptions,
    /// sqlx cannot parse the PostgreSQL URL.
    #[error("invalid PostgreSQL URL: {0}")]
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a URL. SQLite paths are taken literally (no percent-decoding).
    pub fn parse(url: &str) -> Result<Self, DatabaseUrlError> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return match path {
                "" => Err(DatabaseUrlError::EmptyPath),
                ":memory:" => Ok(Self::SqliteMemory),
                p if p.contains('?') => Err(DatabaseUrlError::SqliteOptions),
                p => Ok(Self::Sqlite(PathBuf::from(p))),
            };
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            sqlx::postgres::PgConnectOptions::from_str(url)
                .map_err(|e| DatabaseUrlError::Postgres(redact_error(&e.to_string(), url)))?;
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(DatabaseUrlError::UnknownScheme)
    }

    /// The URL with any password replaced by `***`, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::SqliteMemory => "sqlite::memory:".to_owned(),
            Self::Postgres(url) => redact_password(url),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `scheme://user:secret@host/...` → `scheme://user:***@host/...`; a `password=` query
/// parameter is hidden too.
fn redact_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| auth_start + i);
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            let userinfo = &out[auth_start..auth_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(auth_start + colon + 1..auth_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

/// An error message that might quote the URL, with the URL's password hidden.
fn redact_error(message: &str, url: &str) -> String {
    let redacted = redact_password(url);
    message.replace(url, &redacted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_supported_forms() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://chatrix.db"),
            Ok(DatabaseUrl::Sqlite("chatrix.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:chatrix.db"),
            Ok(DatabaseUrl::Sqlite("chatrix.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/c.db"),
            Ok(DatabaseUrl::Sqlite("/var/lib/c.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:"),
            Ok(DatabaseUrl::SqliteMemory)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::EmptyPath)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://a.db?mode=ro"),
            Err(DatabaseUrlError::SqliteOptions)
        );
        assert_eq!(
            DatabaseUrl::parse("mysql://x"),
            Err(DatabaseUrlError::UnknownScheme)
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@localhost/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@localhost/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
    }

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl::parse(
            "postgres://chatrix:s3cret@db:5432/chatrix?sslmode=disable&password=s3cret",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://chatrix:***@db:5432/chatrix?sslmode=disable&password=***"),
            "{shown}"
        );
        assert_eq!(redact_password("postgres://u@h/d"), "postgres://u@h/d");
    }
}
