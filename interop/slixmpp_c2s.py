#!/usr/bin/env python3
"""Interop test: slixmpp (an independent XMPP client from PyPI) against a running Chatrix.

Logs in alice over STARTTLS and bob over Direct TLS, verifying the server's certificate against
the CA file given, then sends a message from alice's full JID to bob's full JID and waits for
it. Exits 0 on success, 1 on failure (with a reason).

    slixmpp_c2s.py --host 127.0.0.1 --starttls-port 5222 --direct-port 5223 \
        --ca data/cert.pem --alice alice@localhost:pw1 --bob bob@localhost:pw2
"""

import argparse
import asyncio
import logging
import sys

import slixmpp

TIMEOUT = 20


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, ca, mode):
        super().__init__(jid, password)
        self.ca_certs = ca
        self.enable_plaintext = False
        self.enable_starttls = mode == "starttls"
        self.enable_direct_tls = mode == "direct"
        self.online = asyncio.get_event_loop().create_future()
        self.messages = asyncio.Queue()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", self.on_failed)
        self.add_event_handler("stream_error", self.on_failed)

    async def on_start(self, _event):
        self.send_presence()
        if not self.online.done():
            self.online.set_result(True)

    def on_failed(self, event):
        if not self.online.done():
            self.online.set_exception(RuntimeError(f"{self.boundjid}: {event}"))

    def on_message(self, msg):
        self.messages.put_nowait(msg)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--starttls-port", type=int, required=True)
    p.add_argument("--direct-port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--alice", required=True, help="jid:password")
    p.add_argument("--bob", required=True, help="jid:password")
    p.add_argument("--debug", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if a.debug else logging.WARNING)

    alice_jid, alice_pw = a.alice.split(":", 1)
    bob_jid, bob_pw = a.bob.split(":", 1)
    alice = Client(alice_jid + "/slix-alice", alice_pw, a.ca, "starttls")
    bob = Client(bob_jid + "/slix-bob", bob_pw, a.ca, "direct")
    alice.connect(a.host, a.starttls_port)
    bob.connect(a.host, a.direct_port)
    await asyncio.wait_for(asyncio.gather(alice.online, bob.online), TIMEOUT)
    print(f"logged in: {alice.boundjid} (STARTTLS), {bob.boundjid} (Direct TLS)")

    body = "hello from slixmpp ✓ <&>"
    alice.send_message(mto=bob.boundjid.full, mbody=body, mtype="chat")
    msg = await asyncio.wait_for(bob.messages.get(), TIMEOUT)
    if msg["body"] != body:
        raise RuntimeError(f"body mismatch: {msg['body']!r}")
    if str(msg["from"]) != str(alice.boundjid.full):
        raise RuntimeError(f"from mismatch: {msg['from']} != {alice.boundjid.full}")
    print(f"message delivered: {msg['from']} -> {msg['to']}")

    # And back, to the full JID of the STARTTLS session.
    bob.send_message(mto=alice.boundjid.full, mbody="pong", mtype="chat")
    msg = await asyncio.wait_for(alice.messages.get(), TIMEOUT)
    if msg["body"] != "pong":
        raise RuntimeError(f"reply mismatch: {msg['body']!r}")
    print("reply delivered")
    alice.disconnect()
    bob.disconnect()
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # noqa: BLE001 - the reason is the test's output
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("1 passed, 0 failed")
