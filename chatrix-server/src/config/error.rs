//! Configuration errors: each names the file, the line and the key at fault.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// A position in the configuration text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line number, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The line and column of byte offset `offset` in `text`.
    pub(crate) fn of(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Self { line, column }
    }

    /// The start of `span` in `text`.
    pub(crate) fn of_span(text: &str, span: &Range<usize>) -> Self {
        Self::of(text, span.start)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Where the configuration came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file given with `--config`.
    File(PathBuf),
    /// The built-in defaults (no `--config`).
    Defaults,
    /// Text handed to [`Config::from_toml_str`](super::Config::from_toml_str).
    Text,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Defaults => f.write_str("built-in defaults"),
            Self::Text => f.write_str("configuration"),
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML, or a key is unknown, or a value has the wrong type.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the text came from.
        origin: Origin,
        /// Where in the text, when known.
        location: Option<Location>,
        /// toml's own message, which shows the line, a snippet and the key.
        message: String,
    },
    /// A value has the right type but is not acceptable.
    #[error("{origin}: {}invalid value for `{key}`: {message}", location.map(|l| format!("{l}: ")).unwrap_or_default())]
    Invalid {
        /// Where the text came from.
        origin: Origin,
        /// The dotted key, e.g. `hosts[1].domain`.
        key: String,
        /// Where in the text, when the value came from a file.
        location: Option<Location>,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigError {
    /// The location the error points at, if any.
    pub fn location(&self) -> Option<Location> {
        match self {
            Self::Read { .. } => None,
            Self::Parse { location, .. } | Self::Invalid { location, .. } => *location,
        }
    }
}
