//! Randomness, supplied by the caller.
//!
//! The crate draws no randomness of its own: sessions take a `&mut dyn Rng`. Production code uses
//! [`SystemRng`] (ring's `SystemRandom`); tests and fuzzing use [`FixedRng`], which is
//! deterministic and therefore **useless for security**.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::RngError;

/// Number of random bytes in a generated nonce (192 bits; 32 base64 characters).
pub const NONCE_BYTES: usize = 24;

/// A source of random bytes and SCRAM nonces.
pub trait Rng {
    /// Fill `dest` with random bytes.
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RngError>;

    /// A fresh SCRAM nonce: printable ASCII without `,` (RFC 5802 `c-nonce`).
    ///
    /// The default is base64 of [`NONCE_BYTES`] random bytes. Test sources may override it to
    /// replay a published exchange; a nonce that is empty or not printable makes the session
    /// fail (`temporary-auth-failure` on the server).
    fn nonce(&mut self) -> Result<String, RngError> {
        let mut buf = [0u8; NONCE_BYTES];
        self.fill_bytes(&mut buf)?;
        Ok(STANDARD.encode(buf))
    }
}

impl<R: Rng + ?Sized> Rng for &mut R {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RngError> {
        (**self).fill_bytes(dest)
    }

    fn nonce(&mut self) -> Result<String, RngError> {
        (**self).nonce()
    }
}

/// The operating system's CSPRNG, through `ring::rand::SystemRandom`.
#[derive(Debug)]
pub struct SystemRng(ring::rand::SystemRandom);

impl Default for SystemRng {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemRng {
    /// A handle to the system CSPRNG.
    pub fn new() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl Rng for SystemRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RngError> {
        ring::rand::SecureRandom::fill(&self.0, dest).map_err(|_| RngError)
    }
}

/// A deterministic byte stream (SHA-256 in counter mode over a seed). **For tests, benchmarks and
/// fuzzing only**: anyone who knows the seed knows every nonce and salt.
#[derive(Clone, Debug)]
pub struct FixedRng {
    seed: u64,
    counter: u64,
    nonces: Vec<String>,
}

impl FixedRng {
    /// A stream determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: 0,
            nonces: Vec::new(),
        }
    }

    /// Make [`Rng::nonce`] return these strings first, in order (to replay published test
    /// vectors), then fall back to generated nonces.
    #[must_use]
    pub fn with_nonces<I, S>(mut self, nonces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.nonces = nonces.into_iter().map(Into::into).collect();
        self.nonces.reverse();
        self
    }
}

impl Rng for FixedRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RngError> {
        for chunk in dest.chunks_mut(32) {
            let mut input = [0u8; 16];
            input[..8].copy_from_slice(&self.seed.to_be_bytes());
            input[8..].copy_from_slice(&self.counter.to_be_bytes());
            self.counter = self.counter.wrapping_add(1);
            let block = ring::digest::digest(&ring::digest::SHA256, &input);
            let n = chunk.len();
            chunk.copy_from_slice(block.as_ref().get(..n).ok_or(RngError)?);
        }
        Ok(())
    }

    fn nonce(&mut self) -> Result<String, RngError> {
        if let Some(n) = self.nonces.pop() {
            return Ok(n);
        }
        let mut buf = [0u8; NONCE_BYTES];
        self.fill_bytes(&mut buf)?;
        Ok(STANDARD.encode(buf))
    }
}

/// Whether a nonce fits RFC 5802's `c-nonce`/`s-nonce`: 1 to `max` printable ASCII characters
/// other than `,`.
pub(crate) fn is_valid_nonce(nonce: &str, max: usize) -> bool {
    !nonce.is_empty()
        && nonce.len() <= max
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_is_deterministic() {
        let mut first = FixedRng::new(7);
        let mut second = FixedRng::new(7);
        let mut buf1 = [0u8; 70];
        let mut buf2 = [0u8; 70];
        first.fill_bytes(&mut buf1).ok();
        second.fill_bytes(&mut buf2).ok();
        assert_eq!(buf1, buf2);
        assert_ne!(first.nonce().ok(), FixedRng::new(8).nonce().ok());
        let mut replay = FixedRng::new(1).with_nonces(["abc", "def"]);
        assert_eq!(replay.nonce().ok().as_deref(), Some("abc"));
        assert_eq!(replay.nonce().ok().as_deref(), Some("def"));
        assert!(is_valid_nonce(&replay.nonce().unwrap_or_default(), 64));
    }

    #[test]
    fn system_works() {
        let mut r = SystemRng::new();
        let n = r.nonce().unwrap_or_default();
        assert!(is_valid_nonce(&n, 64));
    }
}
