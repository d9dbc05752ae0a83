//! Holding secrets: redacted `Debug`, best-effort wiping on drop.

use std::fmt;

/// Overwrite a buffer with zeros, in a way the optimiser is asked not to remove.
///
/// Best effort only: without `unsafe` (forbidden in this workspace) and without a volatile write
/// we rely on [`std::hint::black_box`] to keep the stores alive. Copies made by reallocations
/// elsewhere are not reached.
pub(crate) fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    std::hint::black_box(buf);
}

/// Secret bytes (a password, a server secret): wiped on drop, never shown by `Debug`.
#[derive(Clone, Default)]
pub(crate) struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for SecretBytes {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::from("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.as_bytes().len(), 7);
    }
}
