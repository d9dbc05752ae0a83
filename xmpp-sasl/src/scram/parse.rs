//! Parsers for the four SCRAM messages (RFC 5802 §7), built with nom.
//!
//! The parsers check the grammar only (attribute order, character classes, numbers). They return
//! borrowed slices; decoding base64 and unescaping saslnames is left to the caller, so that each
//! error maps to the right failure condition.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, satisfy};
use nom::combinator::{all_consuming, map, opt};
use nom::multi::many0;
use nom::sequence::{preceded, separated_pair};
use nom::{IResult, Parser};

/// A grammar error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// The message does not match the grammar; the string names the part that failed.
    Malformed(&'static str),
    /// The reserved `m=` attribute is present (RFC 5802 §5.1: MUST fail).
    ExtensionNotSupported,
}

/// The GS2 channel-binding flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CbFlag<'a> {
    /// `n`: the client does not support channel binding.
    No,
    /// `y`: the client supports it but thinks the server does not.
    Yes,
    /// `p=name`: the client uses channel-binding type `name`.
    Bind(&'a str),
}

/// `client-first-message` = gs2-header client-first-message-bare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientFirst<'a> {
    /// The GS2 header, including its final `,` (what `c=` must repeat).
    pub(crate) gs2_header: &'a str,
    pub(crate) cb_flag: CbFlag<'a>,
    /// The escaped authzid, if any.
    pub(crate) authzid: Option<&'a str>,
    /// `client-first-message-bare` (part of AuthMessage).
    pub(crate) bare: &'a str,
    /// The escaped username.
    pub(crate) username: &'a str,
    pub(crate) nonce: &'a str,
}

/// `server-first-message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ServerFirst<'a> {
    pub(crate) nonce: &'a str,
    pub(crate) salt_b64: &'a str,
    pub(crate) iterations: u32,
    /// XEP-0474 `h=` (base64), if present.
    pub(crate) ssdp_b64: Option<&'a str>,
}

/// `client-final-message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientFinal<'a> {
    /// `client-final-message-without-proof` (part of AuthMessage).
    pub(crate) without_proof: &'a str,
    pub(crate) channel_binding_b64: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) proof_b64: &'a str,
}

/// `server-final-message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerFinal<'a> {
    /// `v=` (base64 ServerSignature).
    Verifier(&'a str),
    /// `e=` server-error-value.
    Error(&'a str),
}

type Res<'a, O> = IResult<&'a str, O>;

/// `value-char`: any UTF-8 char except NUL and `,`.
fn value(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| c != ',' && c != '\0').parse(i)
}

/// `saslname` before unescaping: like `value`; escapes are checked by `unescape_saslname`.
fn saslname(i: &str) -> Res<'_, &str> {
    value(i)
}

/// `printable`: `%x21-2B / %x2D-7E`.
fn printable(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| ('\x21'..='\x7e').contains(&c) && c != ',').parse(i)
}

/// `base64` characters (possibly empty); strict decoding happens later.
fn base64(i: &str) -> Res<'_, &str> {
    take_while(|c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=').parse(i)
}

/// `cb-name`: `1*(ALPHA / DIGIT / "." / "-")`.
fn cb_name(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-').parse(i)
}

/// `posit-number`: `%x31-39 *DIGIT`, as a `u32` (overflow fails).
fn posit_number(i: &str) -> Res<'_, u32> {
    let fail = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Digit));
    let (rest, digits) = take_while1(|c: char| c.is_ascii_digit()).parse(i)?;
    if digits.starts_with('0') {
        return Err(fail());
    }
    digits.parse::<u32>().map(|n| (rest, n)).map_err(|_| fail())
}

/// `attr-val`: `ALPHA "=" value`.
fn attr_val(i: &str) -> Res<'_, (char, &str)> {
    separated_pair(satisfy(|c| c.is_ascii_alphabetic()), char('='), value).parse(i)
}

/// `*("," attr-val)`.
fn extensions(i: &str) -> Res<'_, Vec<(char, &str)>> {
    many0(preceded(char(','), attr_val)).parse(i)
}

fn gs2_cbind_flag(i: &str) -> Res<'_, CbFlag<'_>> {
    alt((
        map(preceded(tag("p="), cb_name), CbFlag::Bind),
        map(char('n'), |_| CbFlag::No),
        map(char('y'), |_| CbFlag::Yes),
    ))
    .parse(i)
}

/// Run `parser` on `input`; map any nom error to `Malformed(what)`.
fn run<'a, O>(
    mut parser: impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>>,
    input: &'a str,
    what: &'static str,
) -> Result<(&'a str, O), ParseError> {
    parser.parse(input).map_err(|_| ParseError::Malformed(what))
}

/// Parse a `client-first-message`.
pub(crate) fn client_first(msg: &str) -> Result<ClientFirst<'_>, ParseError> {
    let (rest, cb_flag) = run(gs2_cbind_flag, msg, "GS2 channel-binding flag")?;
    let (rest, _) = run(char(','), rest, "GS2 header")?;
    let (rest, authzid) = run(opt(preceded(tag("a="), saslname)), rest, "authzid")?;
    let (bare, _) = run(char(','), rest, "GS2 header")?;
    let gs2_header = msg
        .get(..msg.len() - bare.len())
        .ok_or(ParseError::Malformed("GS2 header"))?;
    if bare.starts_with("m=") {
        return Err(ParseError::ExtensionNotSupported);
    }
    let (rest, username) = run(preceded(tag("n="), saslname), bare, "username")?;
    let (rest, nonce) = run(preceded(tag(",r="), printable), rest, "nonce")?;
    run(all_consuming(extensions), rest, "extensions")?;
    Ok(ClientFirst {
        gs2_header,
        cb_flag,
        authzid,
        bare,
        username,
        nonce,
    })
}

/// Parse a `server-first-message`.
pub(crate) fn server_first(msg: &str) -> Result<ServerFirst<'_>, ParseError> {
    if msg.starts_with("m=") {
        return Err(ParseError::ExtensionNotSupported);
    }
    let (rest, nonce) = run(preceded(tag("r="), printable), msg, "nonce")?;
    let (rest, salt_b64) = run(preceded(tag(",s="), base64), rest, "salt")?;
    let (rest, iterations) = run(preceded(tag(",i="), posit_number), rest, "iteration count")?;
    let (_, exts) = run(all_consuming(extensions), rest, "extensions")?;
    let mut ssdp_b64 = None;
    for (name, val) in exts {
        if name == 'h' {
            if ssdp_b64.is_some() {
                return Err(ParseError::Malformed("repeated h= attribute"));
            }
            ssdp_b64 = Some(val);
        }
    }
    Ok(ServerFirst {
        nonce,
        salt_b64,
        iterations,
        ssdp_b64,
    })
}

/// Parse a `client-final-message`.
pub(crate) fn client_final(msg: &str) -> Result<ClientFinal<'_>, ParseError> {
    // Values never contain ',', so the proof is whatever follows the last comma.
    let (without_proof, proof_attr) = msg
        .rsplit_once(',')
        .ok_or(ParseError::Malformed("missing proof"))?;
    let (_, proof_b64) = run(
        all_consuming(preceded(tag("p="), base64)),
        proof_attr,
        "proof",
    )?;
    let (rest, channel_binding_b64) = run(
        preceded(tag("c="), base64),
        without_proof,
        "channel binding",
    )?;
    let (rest, nonce) = run(preceded(tag(",r="), printable), rest, "nonce")?;
    run(all_consuming(extensions), rest, "extensions")?;
    Ok(ClientFinal {
        without_proof,
        channel_binding_b64,
        nonce,
        proof_b64,
    })
}

/// Parse a `server-final-message`.
pub(crate) fn server_final(msg: &str) -> Result<ServerFinal<'_>, ParseError> {
    let (rest, r) = run(
        alt((
            map(preceded(tag("v="), base64), ServerFinal::Verifier),
            map(preceded(tag("e="), value), ServerFinal::Error),
        )),
        msg,
        "verifier",
    )?;
    run(all_consuming(extensions), rest, "extensions")?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5802_messages() {
        let cf = client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        assert_eq!(
            cf,
            Ok(ClientFirst {
                gs2_header: "n,,",
                cb_flag: CbFlag::No,
                authzid: None,
                bare: "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
                username: "user",
                nonce: "fyko+d2lbbFgONRv9qkxdawL",
            })
        );
        let sf = server_first("r=abc,s=QSXCR+Q6sek8bf92,i=4096,h=xyz=");
        assert_eq!(
            sf,
            Ok(ServerFirst {
                nonce: "abc",
                salt_b64: "QSXCR+Q6sek8bf92",
                iterations: 4096,
                ssdp_b64: Some("xyz="),
            })
        );
        let cfin = client_final("c=biws,r=abc,x=1,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
        assert_eq!(
            cfin,
            Ok(ClientFinal {
                without_proof: "c=biws,r=abc,x=1",
                channel_binding_b64: "biws",
                nonce: "abc",
                proof_b64: "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            })
        );
        assert_eq!(server_final("v=abc="), Ok(ServerFinal::Verifier("abc=")));
        assert_eq!(
            server_final("e=invalid-proof"),
            Ok(ServerFinal::Error("invalid-proof"))
        );
    }

    #[test]
    fn gs2_variants() {
        let cf =
            client_first("p=tls-exporter,a=bob=40x,n=u,r=n").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cf.cb_flag, CbFlag::Bind("tls-exporter"));
        assert_eq!(cf.authzid, Some("bob=40x"));
        assert_eq!(cf.gs2_header, "p=tls-exporter,a=bob=40x,");
        assert_eq!(
            client_first("y,,n=u,r=n").map(|c| c.cb_flag),
            Ok(CbFlag::Yes)
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "n",
            "n,",
            "n,,",
            "x,,n=u,r=n",
            "p=,,n=u,r=n",
            "n,b=x,n=u,r=n",
            "n,,n=,r=n",
            "n,,n=u",
            "n,,n=u,r=",
            "n,,n=u,r=a b",
            "n,,r=n,n=u",
            "n,,n=u,r=n,",
            "n,,n=u,r=n,1=x",
            "n,,n=u,r=n,x=",
            "n,,n=u\0,r=n",
        ] {
            assert!(
                matches!(client_first(bad), Err(ParseError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            client_first("n,,m=ext,n=u,r=n"),
            Err(ParseError::ExtensionNotSupported)
        );
        for bad in [
            "r=a,s=b,i=0",
            "r=a,s=b,i=01",
            "r=a,s=b,i=4294967296",
            "r=a,s=b",
            "r=a,i=1,s=b",
            "r=a,s=b,i=1,h=x,h=y",
            "r=a,s=b c,i=1",
        ] {
            assert!(server_first(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            server_first("r=a,s=b,i=4294967295").map(|s| s.iterations),
            Ok(u32::MAX)
        );
        for bad in [
            "",
            "c=biws",
            "c=biws,r=a",
            "c=biws,p=x",
            "r=a,c=biws,p=x",
            "c=biws,r=a,p=x y",
        ] {
            assert!(client_final(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "v", "x=1", "v=a,", "e="] {
            assert!(server_final(bad).is_err(), "{bad:?}");
        }
    }
}
