//! Small programs that show how to embed the Chatrix crates; see the `[[example]]` targets.
//!
//! Not a library: this file only exists because Cargo wants one target per package.
