//! CAPTCHA images drawn with the `captcha` crate.

use ::captcha::Captcha;
use ::captcha::filters::{Dots, Noise, Wave};

use super::{CaptchaGenerator, GenerateError, Generated};

/// The characters the images use: capitals and digits, without the ones a person (or the
/// distortion) easily confuses: `0`/`O`/`Q`/`D`-like pairs are cut to `D`, `1`/`I`/`L`/`7`-like
/// ones to `7`, and `2`/`Z`, `5`/`S`, `6`/`G`, `8`/`B` are gone altogether. Answers are compared
/// case-insensitively, so capitals only is no loss for the reader.
pub const ALPHABET: [char; 22] = [
    'A', 'C', 'D', 'E', 'F', 'H', 'J', 'K', 'M', 'N', 'P', 'R', 'T', 'U', 'V', 'W', 'X', 'Y', '3',
    '4', '7', '9',
];

/// The real [`CaptchaGenerator`]: distorted text on a 300 × 120 PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageCaptcha {
    length: u32,
}

impl ImageCaptcha {
    /// The default number of characters.
    pub const DEFAULT_LENGTH: u32 = 6;
    /// The fewest characters allowed.
    pub const MIN_LENGTH: u32 = 4;
    /// The most characters allowed: the crate draws on a 400-pixel canvas, and six of its
    /// widest letters plus the room the waves move them by is all that fits.
    pub const MAX_LENGTH: u32 = 6;
    /// The image width in pixels: six characters (up to 45 pixels each) with 20 pixels either
    /// side for the waves (the crate's own 220 cuts off the sixth).
    pub const WIDTH: u32 = 300;
    /// The image height in pixels.
    pub const HEIGHT: u32 = 120;

    /// Images of `length` characters, clamped to [`MIN_LENGTH`](Self::MIN_LENGTH) ..=
    /// [`MAX_LENGTH`](Self::MAX_LENGTH).
    pub fn new(length: u32) -> Self {
        Self {
            length: length.clamp(Self::MIN_LENGTH, Self::MAX_LENGTH),
        }
    }

    /// The number of characters per image.
    pub fn length(&self) -> u32 {
        self.length
    }
}

impl Default for ImageCaptcha {
    fn default() -> Self {
        Self::new(Self::DEFAULT_LENGTH)
    }
}

impl CaptchaGenerator for ImageCaptcha {
    fn generate(&self) -> Result<Generated, GenerateError> {
        // The crate's "medium" recipe: readable for people, noisy enough that plain OCR fails.
        let mut image = Captcha::new();
        image
            .set_chars(&ALPHABET)
            .add_chars(self.length)
            .apply_filter(Noise::new(0.2))
            .apply_filter(Wave::new(2.0, 20.0).horizontal())
            .apply_filter(Wave::new(2.0, 20.0).vertical())
            .view(Self::WIDTH, Self::HEIGHT)
            .apply_filter(Dots::new(10));
        let (answer, png) = image.as_tuple().ok_or(GenerateError)?;
        Ok(Generated { answer, png })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

    fn png_size(png: &[u8]) -> (u32, u32) {
        // The IHDR chunk comes first: length, "IHDR", then width and height, big-endian.
        assert_eq!(&png[12..16], b"IHDR");
        let be = |at: usize| {
            u32::from_be_bytes(png[at..at + 4].try_into().unwrap_or_else(|e| panic!("{e}")))
        };
        (be(16), be(20))
    }

    #[test]
    fn real_images_are_pngs_with_answers_from_the_alphabet() {
        for length in [
            ImageCaptcha::MIN_LENGTH,
            ImageCaptcha::DEFAULT_LENGTH,
            ImageCaptcha::MAX_LENGTH,
        ] {
            let generated = ImageCaptcha::new(length)
                .generate()
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(generated.png[..8], PNG_SIGNATURE);
            assert_eq!(
                png_size(&generated.png),
                (ImageCaptcha::WIDTH, ImageCaptcha::HEIGHT)
            );
            assert_eq!(generated.answer.chars().count(), length as usize);
            assert!(
                generated.answer.chars().all(|c| ALPHABET.contains(&c)),
                "{}",
                generated.answer
            );
        }
    }

    #[test]
    fn lengths_are_clamped_and_answers_vary() {
        assert_eq!(ImageCaptcha::new(0).length(), ImageCaptcha::MIN_LENGTH);
        assert_eq!(ImageCaptcha::new(100).length(), ImageCaptcha::MAX_LENGTH);
        assert_eq!(ImageCaptcha::default().length(), 6);
        let answers: std::collections::HashSet<String> = (0..5)
            .map(|_| {
                ImageCaptcha::default()
                    .generate()
                    .unwrap_or_else(|e| panic!("{e}"))
                    .answer
            })
            .collect();
        // 22^6 possibilities: five equal answers would mean the randomness is broken.
        assert!(answers.len() > 1);
    }

    #[test]
    fn the_font_has_every_character_of_the_alphabet() {
        let supported = Captcha::new().supported_chars();
        for c in ALPHABET {
            assert!(supported.contains(&c), "{c}");
        }
    }

    #[test]
    fn debug_does_not_show_the_answer() {
        let generated = Generated {
            answer: "SECRET".into(),
            png: vec![1, 2, 3],
        };
        let shown = format!("{generated:?}");
        assert!(!shown.contains("SECRET"));
        assert!(shown.contains("png_len: 3"));
    }
}
