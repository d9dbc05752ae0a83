//! SASLprep (RFC 4013) and SCRAM `saslname` escaping (RFC 5802 §5.1).

use std::borrow::Cow;

/// SASLprep rejected a string. Deliberately carries no detail: the string may be a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("string rejected by SASLprep")]
pub struct SaslprepError;

/// Prepare a username or password with SASLprep (RFC 4013) as a stored string (unassigned code
/// points are prohibited, RFC 5802 §2.2). An empty result is an error.
pub fn saslprep(s: &str) -> Result<Cow<'_, str>, SaslprepError> {
    match stringprep::saslprep(s) {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => Err(SaslprepError),
    }
}

/// Escape a name for a SCRAM `n=` or `a=` attribute: `,` → `=2C`, `=` → `=3D`.
pub fn escape_saslname(name: &str) -> Cow<'_, str> {
    if !name.contains([',', '=']) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            ',' => out.push_str("=2C"),
            '=' => out.push_str("=3D"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A `saslname` contains an `=` that is not `=2C` or `=3D`, a `,` or a NUL, or is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid saslname escaping")]
pub struct SaslnameError;

/// Undo [`escape_saslname`]. Strict: any other `=` sequence, a raw `,`, a NUL or an empty name is
/// an error. The hex digits are accepted in either case (ABNF literals are case-insensitive).
pub fn unescape_saslname(name: &str) -> Result<Cow<'_, str>, SaslnameError> {
    if name.is_empty() || name.contains([',', '\0']) {
        return Err(SaslnameError);
    }
    if !name.contains('=') {
        return Ok(Cow::Borrowed(name));
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(pos) = rest.find('=') {
        out.push_str(rest.get(..pos).ok_or(SaslnameError)?);
        let esc = rest.get(pos..pos + 3).ok_or(SaslnameError)?;
        if esc.eq_ignore_ascii_case("=2C") {
            out.push(',');
        } else if esc.eq_ignore_ascii_case("=3D") {
            out.push('=');
        } else {
            return Err(SaslnameError);
        }
        rest = rest.get(pos + 3..).ok_or(SaslnameError)?;
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4013_examples() {
        // RFC 4013 §3.
        assert_eq!(saslprep("I\u{00AD}X").as_deref(), Ok("IX"));
        assert_eq!(saslprep("user").as_deref(), Ok("user"));
        assert_eq!(saslprep("USER").as_deref(), Ok("USER"));
        assert_eq!(saslprep("\u{00AA}").as_deref(), Ok("a"));
        assert_eq!(saslprep("\u{2168}").as_deref(), Ok("IX"));
        assert_eq!(saslprep("\u{0007}"), Err(SaslprepError));
        assert_eq!(saslprep("\u{0627}\u{0031}"), Err(SaslprepError));
        assert_eq!(saslprep(""), Err(SaslprepError));
        assert_eq!(saslprep("\u{00AD}"), Err(SaslprepError));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_saslname("a,b=c"), "a=2Cb=3Dc");
        assert_eq!(unescape_saslname("a=2Cb=3Dc").as_deref(), Ok("a,b=c"));
        assert_eq!(unescape_saslname("a=2cb=3dc").as_deref(), Ok("a,b=c"));
        for bad in ["", "a=", "a=2", "a=41", "=", "a,b", "a\0", "==3D"] {
            assert_eq!(unescape_saslname(bad), Err(SaslnameError), "{bad:?}");
        }
        assert_eq!(unescape_saslname("=3D=2C").as_deref(), Ok("=,"));
    }
}
