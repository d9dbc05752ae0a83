//! Normalisation of each part of a JID: localpart (RFC 7622 §3.3), domainpart (§3.2) and
//! resourcepart (§3.4).
//!
//! Each part has an ASCII fast path and the full profile. The fast path only answers when
//! its answer is provably the one the profile would give (the unit tests check this with
//! proptest); for anything else it steps aside. It never returns an error of its own, so
//! both paths fail with the same error too.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, ErrorPolicy, Hyphens, ProcessingSuccess, Uts46};
use precis_core::profile::PrecisFastInvocation;
use precis_core::{DerivedPropertyValue, Error as PrecisError, UnexpectedError};
use precis_profiles::{OpaqueString, UsernameCaseMapped};

use super::error::{DomainViolation, JidError, ProfileViolation};

/// RFC 7622 §3.2–§3.4: each part is at most 1023 octets once normalised.
pub(super) const MAX_PART_BYTES: usize = 1023;

/// The longest raw localpart or resourcepart that is worth handing to PRECIS.
///
/// PRECIS never deletes code points; the strongest shrinking it does is width mapping a
/// full-width letter (3 bytes) and composing it with two combining marks into a 2-byte
/// letter (7 bytes to 2). Anything longer than 4 × 1023 bytes therefore cannot fit once
/// normalised, and refusing it early caps the work: `precis-core` evaluates each contextual
/// rule over the whole string, which is quadratic in the number of such code points.
///
/// The domainpart has no such bound (UTS #46 deletes default-ignorable code points), and
/// `idna` keeps its own work linear.
const MAX_RAW_PART_BYTES: usize = 4 * MAX_PART_BYTES;

/// RFC 8264 §7: stop after the first application plus three more.
const PRECIS_ROUNDS: usize = 4;

/// A DNS label is at most 63 octets (RFC 1035 §2.3.4), counted in its A-label form.
const MAX_LABEL_BYTES: usize = 63;

// ---------------------------------------------------------------------------------------
// Localpart
// ---------------------------------------------------------------------------------------

/// Normalises a localpart with `UsernameCaseMapped` plus RFC 7622 §3.3.1.
pub(super) fn localpart(raw: &str) -> Result<Cow<'_, str>, JidError> {
    localpart_with(raw, true)
}

pub(super) fn localpart_with(raw: &str, fast: bool) -> Result<Cow<'_, str>, JidError> {
    if raw.is_empty() {
        return Err(JidError::EmptyLocalpart);
    }
    if raw.len() > MAX_RAW_PART_BYTES {
        return Err(JidError::LocalpartTooLong);
    }
    let normalised = match fast.then(|| ascii_localpart(raw)).flatten() {
        Some(done) => done,
        None => enforce_stable::<UsernameCaseMapped>(raw).map_err(JidError::LocalpartProhibited)?,
    };
    // Checked on the output: width mapping turns `＠` into `@`.
    if let Some(c) = normalised.chars().find(|&c| is_jid_special(c)) {
        return Err(JidError::LocalpartProhibited(ProfileViolation::JidSpecial(
            c,
        )));
    }
    if normalised.len() > MAX_PART_BYTES {
        return Err(JidError::LocalpartTooLong);
    }
    Ok(normalised)
}

/// RFC 7622 §3.3.1.
fn is_jid_special(c: char) -> bool {
    matches!(c, '"' | '&' | '\'' | '/' | ':' | '<' | '>' | '@')
}

/// Printable ASCII other than space is `PVALID` in the `IdentifierClass` (RFC 8264 §9.11);
/// width mapping, NFC and the Bidi Rule leave it alone, and case mapping is ASCII
/// lowercasing. So the profile's output is the ASCII lowercase of the input.
fn ascii_localpart(raw: &str) -> Option<Cow<'_, str>> {
    let mut upper = false;
    for &b in raw.as_bytes() {
        match b {
            b'A'..=b'Z' => upper = true,
            0x21..=0x7e => {}
            _ => return None,
        }
    }
    Some(if upper {
        Cow::Owned(raw.to_ascii_lowercase())
    } else {
        Cow::Borrowed(raw)
    })
}

// ---------------------------------------------------------------------------------------
// Resourcepart
// ---------------------------------------------------------------------------------------

/// Normalises a resourcepart with `OpaqueString`.
pub(super) fn resource(raw: &str) -> Result<Cow<'_, str>, JidError> {
    resource_with(raw, true)
}

pub(super) fn resource_with(raw: &str, fast: bool) -> Result<Cow<'_, str>, JidError> {
    if raw.is_empty() {
        return Err(JidError::EmptyResource);
    }
    if raw.len() > MAX_RAW_PART_BYTES {
        return Err(JidError::ResourceTooLong);
    }
    // Printable ASCII including space is valid in the `FreeformClass`; OpaqueString maps
    // only non-ASCII spaces, and NFC leaves ASCII alone.
    let normalised = if fast && raw.bytes().all(|b| matches!(b, 0x20..=0x7e)) {
        Cow::Borrowed(raw)
    } else {
        enforce_stable::<OpaqueString>(raw).map_err(JidError::ResourceProhibited)?
    };
    if normalised.len() > MAX_PART_BYTES {
        return Err(JidError::ResourceTooLong);
    }
    Ok(normalised)
}

// ---------------------------------------------------------------------------------------
// PRECIS
// ---------------------------------------------------------------------------------------

/// Applies a PRECIS profile until the result no longer changes (RFC 8264 §7), so that
/// every accepted part is a fixed point: parsing a JID's string form gives the same JID.
fn enforce_stable<P: PrecisFastInvocation>(raw: &str) -> Result<Cow<'_, str>, ProfileViolation> {
    let mut current = P::enforce(raw).map_err(violation)?;
    for _ in 1..PRECIS_ROUNDS {
        let changed = match P::enforce(current.as_ref()).map_err(violation)? {
            Cow::Borrowed(_) => None,
            Cow::Owned(next) => (next != current).then_some(next),
        };
        match changed {
            None => return Ok(current),
            Some(next) => current = Cow::Owned(next),
        }
    }
    Err(ProfileViolation::Unstable)
}

fn violation(error: PrecisError) -> ProfileViolation {
    let ch = |cp: u32| char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
    match error {
        PrecisError::BadCodepoint(info) => match info.property {
            DerivedPropertyValue::ContextJ | DerivedPropertyValue::ContextO => {
                ProfileViolation::Context(Some(ch(info.cp)))
            }
            _ => ProfileViolation::Codepoint(ch(info.cp)),
        },
        PrecisError::Unexpected(
            UnexpectedError::ContextRuleNotApplicable(info)
            | UnexpectedError::MissingContextRule(info),
        ) => ProfileViolation::Context(Some(ch(info.cp))),
        // Raised by a context rule that looks past either end of the string.
        PrecisError::Unexpected(_) => ProfileViolation::Context(None),
        // Empty input is refused before the profile runs, and neither profile can empty a
        // string, so this is the directionality rule of UsernameCaseMapped.
        PrecisError::Invalid => ProfileViolation::Bidi,
    }
}

// ---------------------------------------------------------------------------------------
// Domainpart
// ---------------------------------------------------------------------------------------

/// Normalises a domainpart: an IP literal as it is (IPv6 lowercased), or a domain name
/// through UTS #46 to its Unicode form, without the trailing dot.
pub(super) fn domain(raw: &str) -> Result<Cow<'_, str>, JidError> {
    domain_with(raw, true)
}

pub(super) fn domain_with(raw: &str, fast: bool) -> Result<Cow<'_, str>, JidError> {
    if raw.is_empty() {
        return Err(JidError::EmptyDomain);
    }
    if let Some(inner) = raw.strip_prefix('[') {
        return ipv6_literal(raw, inner);
    }
    let normalised = match fast.then(|| ascii_domain(raw)).flatten() {
        Some(done) => done,
        None => idna_domain(raw)?,
    };
    if normalised.len() > MAX_PART_BYTES {
        return Err(JidError::DomainTooLong);
    }
    let last_label = normalised.rsplit('.').next().unwrap_or_default();
    if last_label.bytes().all(|b| b.is_ascii_digit()) && normalised.parse::<Ipv4Addr>().is_err() {
        return Err(JidError::DomainInvalid(DomainViolation::NumericTld));
    }
    Ok(normalised)
}

/// RFC 7622 §3.2 allows an `IP-literal` from RFC 3986; only its IPv6 form is accepted.
fn ipv6_literal<'a>(raw: &'a str, inner: &str) -> Result<Cow<'a, str>, JidError> {
    let invalid = JidError::DomainInvalid(DomainViolation::IpLiteral);
    let address = inner.strip_suffix(']').ok_or(invalid.clone())?;
    address.parse::<Ipv6Addr>().map_err(|_| invalid)?;
    Ok(if address.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(raw.to_ascii_lowercase())
    } else {
        Cow::Borrowed(raw)
    })
}

/// Letter-digit-hyphen labels that are not reserved (`??--`, so no `xn--`) and have no
/// hyphen at either end are valid under UTS #46 with STD3 rules, and only get lowercased.
/// An IPv4 address is such a name too.
fn ascii_domain(raw: &str) -> Option<Cow<'_, str>> {
    let name = raw.strip_suffix('.').unwrap_or(raw);
    let mut upper = false;
    for label in name.split('.') {
        let bytes = label.as_bytes();
        let plain = !bytes.is_empty()
            && bytes.len() <= MAX_LABEL_BYTES
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-')
            && bytes.get(2..4) != Some(b"--");
        if !plain {
            return None;
        }
        for &b in bytes {
            match b {
                b'A'..=b'Z' => upper = true,
                b'a'..=b'z' | b'0'..=b'9' | b'-' => {}
                _ => return None,
            }
        }
    }
    Some(if upper {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    })
}

/// The full path: UTS #46 (non-transitional, STD3 ASCII rules) to the Unicode form, then
/// the trailing dot and the label checks, with label lengths taken from the A-label form.
/// Lengths are checked here rather than by `idna`'s DNS length option because RFC 7622
/// allows a domainpart of up to 1023 bytes, longer than a DNS name.
fn idna_domain(raw: &str) -> Result<Cow<'_, str>, JidError> {
    let idna_error = JidError::DomainInvalid(DomainViolation::Idna);
    let mut unicode = String::new();
    let mut ascii = String::new();
    let outcome = Uts46::new().process(
        raw.as_bytes(),
        AsciiDenyList::STD3,
        // Leading and trailing hyphens were never valid in host names (RFC 952, RFC 1123);
        // `ab--cd` labels exist in the DNS and refusing them would lose messages.
        Hyphens::CheckFirstLast,
        ErrorPolicy::FailFast,
        |_, _, _| true,
        &mut unicode,
        Some(&mut ascii),
    );
    let (unicode, ascii): (Cow<'_, str>, Option<String>) = match outcome {
        Ok(ProcessingSuccess::Passthrough) => (Cow::Borrowed(raw), None),
        Ok(ProcessingSuccess::WroteToSink) => (Cow::Owned(unicode), Some(ascii)),
        Err(_) => return Err(idna_error),
    };
    // `ascii` stays empty when the A-label form equals the Unicode form.
    let ascii = match &ascii {
        Some(a) if !a.is_empty() => a.as_str(),
        _ => unicode.as_ref(),
    };
    let ascii = ascii.strip_suffix('.').unwrap_or(ascii);
    if ascii.is_empty() {
        return Err(JidError::EmptyDomain);
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(JidError::DomainInvalid(DomainViolation::EmptyLabel));
        }
        if label.len() > MAX_LABEL_BYTES {
            return Err(JidError::DomainInvalid(DomainViolation::LabelTooLong));
        }
    }
    Ok(strip_trailing_dot(unicode))
}

fn strip_trailing_dot(name: Cow<'_, str>) -> Cow<'_, str> {
    match name {
        Cow::Borrowed(s) => Cow::Borrowed(s.strip_suffix('.').unwrap_or(s)),
        Cow::Owned(mut s) => {
            if s.ends_with('.') {
                s.pop();
            }
            Cow::Owned(s)
        }
    }
}
