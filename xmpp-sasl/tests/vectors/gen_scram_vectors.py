#!/usr/bin/env python3
"""Generate SCRAM test vectors with an implementation independent of xmpp-sasl.

Only Python's standard library is used: hashlib.pbkdf2_hmac, hmac, hashlib, base64. The output,
scram_vectors.txt, was generated once with this script and is committed beside it; the Rust test
tests/scram_vectors.rs replays every vector through our server and our client and compares every
message byte for byte. Run `python3 gen_scram_vectors.py > scram_vectors.txt` to regenerate.

Why: RFC 5802 and RFC 7677 publish SHA-1 and SHA-256 vectors, but no RFC publishes one for
SCRAM-SHA-512, nor for -PLUS with XEP-0474's h= attribute and a SHA-512 SSDP hash. The SHA-1 and
SHA-256 RFC vectors are reproduced here first (self-check of this script).

Format: blocks separated by blank lines; each line is `key: value` (split at the first ": ").
"""
import base64
import hashlib
import hmac
import unicodedata

B64 = lambda b: base64.b64encode(b).decode()


def escape(name):
    return name.replace("=", "=3D").replace(",", "=2C")


def ssdp(h, mechs, cbs):
    s = "\x1e".join(sorted(mechs, key=lambda m: m.encode()))
    if cbs is not None:
        s += "\x1f" + "\x1e".join(sorted(cbs, key=lambda c: c.encode()))
    return B64(hashlib.new(h, s.encode()).digest())


def vector(name, h, plus, user, password, salt_b64, iterations, cnonce, snonce,
           cb_type=None, cb_data=b"", authzid="", adv_mechs=None, adv_cbs=None, domain=""):
    # SASLprep is the identity on these inputs (ASCII, or NFKC-stable letters); check that.
    for s in (user, password):
        assert unicodedata.normalize("NFKC", s) == s
    flag = "p=" + cb_type if plus else "n"
    gs2 = flag + "," + ("a=" + escape(authzid) if authzid else "") + ","
    cfb = "n=" + escape(user) + ",r=" + cnonce
    sf = "r=" + cnonce + snonce + ",s=" + salt_b64 + ",i=" + str(iterations)
    if adv_mechs is not None:
        sf += ",h=" + ssdp(h, adv_mechs, adv_cbs)
    cfwp = "c=" + B64(gs2.encode() + cb_data) + ",r=" + cnonce + snonce
    salted = hashlib.pbkdf2_hmac(h, password.encode(), base64.b64decode(salt_b64), iterations)
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored_key = hashlib.new(h, client_key).digest()
    server_key = hmac.new(salted, b"Server Key", h).digest()
    auth = (cfb + "," + sf + "," + cfwp).encode()
    proof = bytes(a ^ b for a, b in zip(client_key, hmac.new(stored_key, auth, h).digest()))
    v = hmac.new(server_key, auth, h).digest()
    mech = "SCRAM-" + {"sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}[h]
    mech += "-PLUS" if plus else ""
    return {
        "name": name,
        "mechanism": mech,
        "username": user,
        "password": password,
        "authzid": authzid,
        "domain": domain,
        "salt": salt_b64,
        "iterations": str(iterations),
        "client-nonce": cnonce,
        "server-nonce": snonce,
        "cb-type": cb_type or "",
        "cb-data-hex": cb_data.hex(),
        "advertised-mechanisms": ",".join(adv_mechs) if adv_mechs is not None else "",
        "advertised-cb-types": ",".join(adv_cbs) if adv_cbs is not None else "",
        "client-first": gs2 + cfb,
        "server-first": sf,
        "client-final": cfwp + ",p=" + B64(proof),
        "server-final": "v=" + B64(v),
        "stored-key": B64(stored_key),
        "server-key": B64(server_key),
    }


# Self-check against the published vectors.
rfc5802 = vector("rfc5802", "sha1", False, "user", "pencil", "QSXCR+Q6sek8bf92", 4096,
                 "fyko+d2lbbFgONRv9qkxdawL", "3rfcNHYJY1ZVvWVs7j")
assert rfc5802["client-final"].endswith("p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
assert rfc5802["server-final"] == "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
rfc7677 = vector("rfc7677", "sha256", False, "user", "pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096,
                 "rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
assert rfc7677["client-final"].endswith("p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
assert rfc7677["server-final"] == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

ALL = ["SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512",
       "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
CBS = ["tls-exporter", "tls-server-end-point"]

vectors = [
    # RFC 7677's inputs, with SHA-512.
    vector("sha512-rfc7677-inputs", "sha512", False, "user", "pencil", "W22ZaJ0SNY7soEsUEjb6gQ==",
           4096, "rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"),
    # SHA-512-PLUS, tls-exporter, XEP-0474 h= over a full TLS 1.3 offer; escaped username and a
    # non-ASCII password.
    vector("sha512-plus-exporter-ssdp", "sha512", True, "al,ice=1", "p\u00e4ssw\u00f6rd,=x",
           "c29tZSBzYWx0IGJ5dGVz", 10000, "Yz1hLCBub25jZQ", "c2VydmVyIG5vbmNl",
           cb_type="tls-exporter", cb_data=bytes(range(32)), adv_mechs=ALL, adv_cbs=CBS),
    # SHA-256-PLUS, tls-server-end-point, authzid = user@domain, SSDP.
    vector("sha256-plus-endpoint-authzid", "sha256", True, "bob", "secret", "AAECAwQFBgcICQ==", 4096,
           "abcdefghij", "0123456789", cb_type="tls-server-end-point",
           cb_data=hashlib.sha256(b"not really a certificate").digest(), authzid="bob@example.org",
           adv_mechs=["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"], adv_cbs=["tls-server-end-point"],
           domain="example.org"),
    # SHA-1 without channel binding but with SSDP over a plaintext offer (no XEP-0440 element).
    vector("sha1-ssdp-no-cb-element", "sha1", False, "carol", "pencil", "QSXCR+Q6sek8bf92", 4096,
           "fyko+d2lbbFgONRv9qkxdawL", "3rfcNHYJY1ZVvWVs7j",
           adv_mechs=["SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"], adv_cbs=None),
]

blocks = []
for v in vectors:
    blocks.append("\n".join(f"{k}: {val}" for k, val in v.items()))
print("\n\n".join(blocks))
