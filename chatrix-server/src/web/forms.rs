//! Reading a form submission: the content type, the size and time limits, and the
//! `application/x-www-form-urlencoded` fields.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt as _;

use super::{BODY_TIMEOUT, MAX_BODY_BYTES};

/// Why a form could not be read. Each maps to its own HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum FormError {
    /// Not `application/x-www-form-urlencoded`.
    #[error("this page accepts only forms sent as application/x-www-form-urlencoded")]
    ContentType,
    /// Larger than [`MAX_BODY_BYTES`].
    #[error("the form is too large")]
    TooLarge,
    /// The body did not arrive in time, or the connection failed.
    #[error("the form did not arrive in time")]
    Incomplete,
    /// The body is not UTF-8 once decoded.
    #[error("the form is not valid UTF-8")]
    NotUtf8,
}

impl FormError {
    pub(super) fn status(self) -> StatusCode {
        match self {
            Self::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Incomplete => StatusCode::REQUEST_TIMEOUT,
            Self::NotUtf8 => StatusCode::BAD_REQUEST,
        }
    }
}

/// The fields of a submitted form. A field sent twice counts with its first value.
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) struct Form {
    fields: Vec<(String, String)>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Field names only: the values hold passwords.
        f.debug_list()
            .entries(self.fields.iter().map(|(n, _)| n))
            .finish()
    }
}

impl Form {
    /// The value of `name`, trimmed of surrounding white space; `None` when absent or empty.
    pub(super) fn text(&self, name: &str) -> Option<&str> {
        self.raw(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The value of `name` exactly as sent (passwords: spaces are part of them); `None` when
    /// absent or empty.
    pub(super) fn raw(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Parses an urlencoded body.
    pub(super) fn parse(body: &[u8]) -> Result<Self, FormError> {
        let mut fields = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            // `parse` replaces bad UTF-8 with U+FFFD; a form from our pages is always UTF-8,
            // so a replacement character means the client sent something else.
            if name.contains('\u{fffd}') || value.contains('\u{fffd}') {
                return Err(FormError::NotUtf8);
            }
            fields.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { fields })
    }

    /// Reads and parses a request body, checking its type, size and time.
    pub(super) async fn read(headers: &HeaderMap, body: Body) -> Result<Self, FormError> {
        if !is_urlencoded(headers) {
            return Err(FormError::ContentType);
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(FormError::TooLarge);
        }
        let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
        let bytes = match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(FormError::TooLarge);
            }
            Ok(Err(_)) | Err(_) => return Err(FormError::Incomplete),
        };
        Self::parse(&bytes)
    }
}

fn is_urlencoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn form_headers(ct: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        h
    }

    #[test]
    fn fields_are_decoded_and_the_first_of_a_repeated_one_wins() {
        let f = Form::parse(b"username=al%C3%AFce&password=+a+b+&username=bob&empty=")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.text("username"), Some("alïce"));
        assert_eq!(f.raw("password"), Some(" a b "));
        assert_eq!(f.text("password"), Some("a b"));
        assert_eq!(f.text("empty"), None);
        assert_eq!(f.text("missing"), None);
        assert!(!format!("{f:?}").contains("a b"), "Debug shows no value");
        assert_eq!(Form::parse(b"a=%FF"), Err(FormError::NotUtf8));
    }

    #[tokio::test]
    async fn type_size_and_content_are_checked() {
        let h = form_headers("application/x-www-form-urlencoded; charset=UTF-8");
        let f = Form::read(&h, Body::from("a=1")).await;
        assert_eq!(
            f.map(|f| f.text("a").map(str::to_owned)),
            Ok(Some("1".into()))
        );
        let h = form_headers("multipart/form-data; boundary=x");
        assert_eq!(
            Form::read(&h, Body::from("a=1")).await,
            Err(FormError::ContentType)
        );
        assert_eq!(
            Form::read(&HeaderMap::new(), Body::from("a=1")).await,
            Err(FormError::ContentType)
        );
        let h = form_headers("application/x-www-form-urlencoded");
        let big = "a=".to_owned() + &"x".repeat(MAX_BODY_BYTES);
        assert_eq!(
            Form::read(&h, Body::from(big)).await,
            Err(FormError::TooLarge)
        );
        let mut h = form_headers("application/x-www-form-urlencoded");
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("100000"));
        assert_eq!(
            Form::read(&h, Body::from("a=1")).await,
            Err(FormError::TooLarge)
        );
        assert_eq!(FormError::TooLarge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            FormError::ContentType.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    proptest! {
        #[test]
        fn any_body_parses_or_is_refused_without_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Form::parse(&body);
        }

        #[test]
        fn encoded_fields_round_trip(name in "[a-z_]{1,10}", value in "\\PC{1,30}") {
            prop_assume!(!value.contains('\u{fffd}'));
            let body: String = form_urlencoded::Serializer::new(String::new())
                .append_pair(&name, &value)
                .finish();
            let f = Form::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(f.raw(&name), Some(value.as_str()));
        }
    }
}
