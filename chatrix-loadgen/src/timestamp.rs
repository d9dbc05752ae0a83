//! The body of a measured message: `lg <seq> <ns>` (sequence number and send time in
//! monotonic nanoseconds since the run started), optionally padded with `.` up to a size.
//!
//! Sender and receiver live in the same process, so one monotonic clock serves both: no clock
//! synchronisation is involved in the latency.

/// The body text for message `seq` sent at `sent_ns`, at least `min_len` bytes long.
pub(crate) fn encode(seq: u64, sent_ns: u64, min_len: usize) -> String {
    let mut body = format!("lg {seq} {sent_ns}");
    if body.len() < min_len {
        body.push(' ');
        while body.len() < min_len {
            body.push('.');
        }
    }
    body
}

/// `(seq, sent_ns)` from a body written by [`encode`]; `None` for any other text.
pub(crate) fn decode(body: &str) -> Option<(u64, u64)> {
    let mut words = body.strip_prefix("lg ")?.split(' ');
    let seq = words.next()?.parse().ok()?;
    let sent = words.next()?.parse().ok()?;
    match words.next() {
        None => Some((seq, sent)),
        Some(padding) if padding.bytes().all(|b| b == b'.') && words.next().is_none() => {
            Some((seq, sent))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for (seq, ns) in [(0, 0), (1, 123_456_789), (u64::MAX, u64::MAX)] {
            assert_eq!(decode(&encode(seq, ns, 0)), Some((seq, ns)));
        }
    }

    #[test]
    fn pads_to_the_requested_size() {
        let body = encode(7, 42, 100);
        assert_eq!(body.len(), 100);
        assert_eq!(decode(&body), Some((7, 42)));
        assert_eq!(encode(7, 42, 3), "lg 7 42");
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "hello",
            "lg",
            "lg 1",
            "lg x 2",
            "lg 1 -2",
            "lg 1 2 3",
            "lg 1 2 .. x",
            "LG 1 2",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
