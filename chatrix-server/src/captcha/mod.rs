//! CAPTCHAs for account registration: images to read ([`image`]) and the store of challenges
//! handed out and not yet answered ([`store`]).
//!
//! The flow: [`CaptchaStore::issue`] makes a challenge (an unguessable id and a PNG; the answer
//! stays in the store), the client shows the image, and [`CaptchaStore::verify`] checks the
//! answer, once. Answers are case-insensitive and ignore spaces; the default images
//! ([`ImageCaptcha`]) use only characters that cannot be confused with one another.
//!
//! Making an image is CPU work (a few milliseconds): async callers use
//! [`CaptchaStore::issue_async`], which draws it on tokio's blocking pool (or call
//! [`CaptchaStore::issue`] under `spawn_blocking` themselves). [`CaptchaStore::verify`] is cheap
//! and can be called anywhere.

pub mod image;
pub mod store;

use std::fmt::Debug;

pub use image::ImageCaptcha;
pub use store::{CaptchaError, CaptchaSettings, CaptchaStore, Challenge, FloodSettings};

/// A freshly made CAPTCHA: the text to type and the image showing it.
#[derive(Clone, PartialEq, Eq)]
pub struct Generated {
    /// The text the image shows.
    pub answer: String,
    /// The image, PNG-encoded.
    pub png: Vec<u8>,
}

impl Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the answer: it must not end up in logs.
        f.debug_struct("Generated")
            .field("png_len", &self.png.len())
            .finish_non_exhaustive()
    }
}

/// An image could not be made (the encoder failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the CAPTCHA image could not be generated")]
pub struct GenerateError;

/// Makes CAPTCHA images. [`ImageCaptcha`] is the real one; tests inject a deterministic one.
///
/// Called from a blocking context (see the module documentation), so it may take its time.
pub trait CaptchaGenerator: Send + Sync + Debug {
    /// A new CAPTCHA.
    fn generate(&self) -> Result<Generated, GenerateError>;
}
