//! Checking the client's stream header, and writing ours (RFC 6120 §4.7).

use xmpp_core::StreamCondition;
use xmpp_core::jid::BareJid;
use xmpp_core::ns;

use super::config::ConnectionConfig;
use crate::framer::StreamHeader;

/// Checks the header that opens a connection's first stream and returns the normalised
/// domain it is for, or the condition to close the stream with.
///
/// The order of checks follows what a client can fix: a wrong namespace means it is not an
/// XMPP client at all, a wrong version that it speaks an older protocol, an unknown host
/// that it is simply at the wrong server.
pub(super) fn check_initial(
    config: &ConnectionConfig,
    header: &StreamHeader,
) -> Result<String, StreamCondition> {
    check_namespace_and_version(header)?;
    let domain = requested_domain(header)?;
    if config.hosts(&domain) {
        Ok(domain)
    } else {
        Err(StreamCondition::HostUnknown)
    }
}

/// Checks the header of a restarted stream (after STARTTLS or SASL): it must be for the same
/// domain as the first one. Prosody's CVE-2018-10847 let a session authenticated on one host
/// move to another through the restart (security.md §1.5).
pub(super) fn check_restart(domain: &str, header: &StreamHeader) -> Result<(), StreamCondition> {
    check_namespace_and_version(header)?;
    if requested_domain(header)? == domain {
        Ok(())
    } else {
        Err(StreamCondition::HostUnknown)
    }
}

fn check_namespace_and_version(header: &StreamHeader) -> Result<(), StreamCondition> {
    // The framer has checked the stream namespace; the content namespace is ours to check
    // (RFC 6120 §4.8.2): a c2s listener speaks jabber:client only.
    if header.content_ns != ns::JABBER_CLIENT {
        return Err(StreamCondition::InvalidNamespace);
    }
    if version_supported(header.version.as_deref()) {
        Ok(())
    } else {
        Err(StreamCondition::UnsupportedVersion)
    }
}

/// RFC 6120 §4.7.5: no `version` means a pre-1.0 stream, which we do not speak. A higher
/// version is answered with ours (`1.0`, the lower of the two), not refused; the initiating
/// entity then decides. Leading zeros are ignored.
fn version_supported(version: Option<&str>) -> bool {
    let Some((major, minor)) = version.and_then(|v| v.split_once('.')) else {
        return false;
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(major) || !all_digits(minor) {
        return false;
    }
    major.trim_start_matches('0').parse::<u32>().unwrap_or(0) >= 1
}

/// The normalised domain of `to`. Missing, not a domain, or carrying a localpart or
/// resource: `host-unknown`, the condition RFC 6120 §4.9.3.6 gives for a `to` not served here.
fn requested_domain(header: &StreamHeader) -> Result<String, StreamCondition> {
    let to = header.to.as_deref().ok_or(StreamCondition::HostUnknown)?;
    match BareJid::new(to) {
        Ok(jid) if jid.localpart().is_none() => Ok(jid.domain().to_owned()),
        _ => Err(StreamCondition::HostUnknown),
    }
}

/// Our response header: `from` our domain, a fresh `id`, `version='1.0'`, our `xml:lang`.
///
/// `domain` is `None` when the client's header was refused before a hosted domain was known;
/// RFC 6120 §4.9.1.2 still wants a header before the error, and claiming a domain we were not
/// asked for would be misleading, so `from` is left out then.
pub(super) fn response(domain: Option<&str>, id: &str, lang: &str) -> StreamHeader {
    StreamHeader {
        from: domain.map(str::to_owned),
        id: Some(id.to_owned()),
        version: Some("1.0".to_owned()),
        lang: Some(lang.to_owned()),
        content_ns: ns::JABBER_CLIENT.to_owned(),
        ..StreamHeader::default()
    }
}

#[cfg(test)]
mod tests {
    use super::version_supported;

    #[test]
    fn versions() {
        for ok in ["1.0", "1.1", "01.00", "2.0", "1.10"] {
            assert!(version_supported(Some(ok)), "{ok}");
        }
        for bad in [
            "", "1", "0.9", "00.9", "1.", ".0", "a.b", "1.0.0", "-1.0", "+1.0", " 1.0",
        ] {
            assert!(!version_supported(Some(bad)), "{bad}");
        }
        assert!(!version_supported(None));
    }
}
