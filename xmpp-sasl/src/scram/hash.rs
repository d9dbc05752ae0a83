//! The hash functions of the SCRAM family (RFC 5802 §2.2) on top of ring.

use std::fmt;
use std::num::NonZeroU32;

use ring::{digest, hmac, pbkdf2};

/// The hash function of a SCRAM mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramHash {
    /// SHA-1 (RFC 5802): `SCRAM-SHA-1`, `SCRAM-SHA-1-PLUS`.
    Sha1,
    /// SHA-256 (RFC 7677): `SCRAM-SHA-256`, `SCRAM-SHA-256-PLUS`.
    Sha256,
    /// SHA-512: `SCRAM-SHA-512`, `SCRAM-SHA-512-PLUS`.
    Sha512,
}

impl ScramHash {
    /// Every hash, weakest first.
    pub const ALL: [Self; 3] = [Self::Sha1, Self::Sha256, Self::Sha512];

    /// The name used in mechanism names: `"SHA-1"`, `"SHA-256"`, `"SHA-512"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha512 => "SHA-512",
        }
    }

    /// Output length in bytes (20, 32 or 64): the length of StoredKey, ServerKey and proofs.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    fn pbkdf2_alg(self) -> pbkdf2::Algorithm {
        match self {
            Self::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Self::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn hmac_alg(self) -> hmac::Algorithm {
        match self {
            Self::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn digest_alg(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }

    /// `Hi(str, salt, i)` of RFC 5802 §2.2: PBKDF2 with HMAC of this hash.
    pub(crate) fn hi(self, password: &[u8], salt: &[u8], iterations: NonZeroU32) -> Vec<u8> {
        let mut out = vec![0u8; self.output_len()];
        pbkdf2::derive(self.pbkdf2_alg(), iterations, salt, password, &mut out);
        out
    }

    /// `HMAC(key, parts[0] || parts[1] || ...)`.
    pub(crate) fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let key = hmac::Key::new(self.hmac_alg(), key);
        let mut ctx = hmac::Context::with_key(&key);
        for p in parts {
            ctx.update(p);
        }
        ctx.sign().as_ref().to_vec()
    }

    /// `H(data)`.
    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest_alg(), data).as_ref().to_vec()
    }
}

impl fmt::Display for ScramHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The keys derived from a salted password (RFC 5802 §3).
#[allow(clippy::struct_field_names)]
pub(crate) struct DerivedKeys {
    pub(crate) client_key: Vec<u8>,
    pub(crate) stored_key: Vec<u8>,
    pub(crate) server_key: Vec<u8>,
}

impl DerivedKeys {
    /// From `SaltedPassword := Hi(Normalize(password), salt, i)`.
    pub(crate) fn from_salted_password(hash: ScramHash, salted: &[u8]) -> Self {
        let client_key = hash.hmac(salted, &[b"Client Key"]);
        let stored_key = hash.digest(&client_key);
        let server_key = hash.hmac(salted, &[b"Server Key"]);
        Self {
            client_key,
            stored_key,
            server_key,
        }
    }
}

impl Drop for DerivedKeys {
    fn drop(&mut self) {
        crate::secret::wipe(&mut self.client_key);
    }
}

/// XOR of two equal-length byte strings (shorter length wins, but callers check lengths).
pub(crate) fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        use std::fmt::Write as _;
        b.iter().fold(String::new(), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
    }

    #[test]
    fn rfc6070_pbkdf2_sha1() {
        let one = NonZeroU32::MIN;
        assert_eq!(
            hex(&ScramHash::Sha1.hi(b"password", b"salt", one)),
            "0c60c80f961f0e71f3a9b524af6012062fe037a6"
        );
        let n = NonZeroU32::new(4096).unwrap_or(NonZeroU32::MIN);
        assert_eq!(
            hex(&ScramHash::Sha1.hi(b"password", b"salt", n)),
            "4b007901b765489abead49d926f721d065a429c1"
        );
    }
}
