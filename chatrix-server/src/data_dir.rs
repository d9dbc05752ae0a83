//! The data directory: created on first start, and the files in it written safely (private
//! files with mode 0600, every file written to a temporary name and renamed into place, so a
//! crash never leaves half a key).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A file in the data dir could not be created, read or written.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct DataDirError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl DataDirError {
    pub(crate) fn new(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The file or directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates the data directory (and its parents) if missing; a new directory is private
/// (mode 0700) on Unix.
pub fn ensure(dir: &Path) -> Result<(), DataDirError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| DataDirError::new("cannot create the data directory", dir, e))
}

/// Writes a file that only the server's user may read (mode 0600 on Unix), atomically.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), DataDirError> {
    write_atomically(path, contents, 0o600)
}

/// Writes a file anyone may read (mode 0644 on Unix), atomically.
pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), DataDirError> {
    write_atomically(path, contents, 0o644)
}

fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), DataDirError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        DataDirError::new("cannot write", path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_private_and_replace_old_ones() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("a/b");
        ensure(&data).unwrap_or_else(|e| panic!("{e}"));
        ensure(&data).unwrap_or_else(|e| panic!("{e}"));
        let f = data.join("secret");
        write_private(&f, b"one").unwrap_or_else(|e| panic!("{e}"));
        write_private(&f, b"two").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(&f).ok().as_deref(), Some(&b"two"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&f)
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }
    }
}
