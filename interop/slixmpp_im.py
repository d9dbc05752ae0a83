#!/usr/bin/env python3
"""Interop test: rosters, subscriptions, presence and offline messages, driven by slixmpp.

Uses slixmpp's own roster and presence machinery (``update_roster``, ``get_roster``,
``send_presence_subscription``, ``client_roster`` and its events), so the server's RFC 6121 /
XEP-0160 behaviour is checked by an independent client. Needs two fresh accounts (empty
rosters, no offline messages). Steps:

1. alice adds bob to her roster and asks to subscribe; bob approves and subscribes back; alice
   approves. Both rosters, as slixmpp keeps them from the server's roster pushes only, end
   with subscription 'both' and no pending request, and each sees the other available.
2. bob closes his stream; alice sees him go unavailable and sends him three chat messages; bob
   logs in again (a new client object), fetches his roster, checks nothing arrived before his
   initial presence, sends it, and receives the three messages in order, each once, each with
   a XEP-0203 delay from the server.
3. That second login's roster fetch carries the ``ver`` slixmpp stored from the first session's
   pushes (the roster is kept in a store shared by bob's client objects, as a client with a
   persistent roster does): the server answers "current" with an empty result, the stored
   roster shows alice with 'both'; a full fetch (no ``ver``) gives alice 'both' and the same
   version.
4. bob logs in a third time: no offline message is delivered again.

Exits 0 on success, 1 on failure (with a reason). --debug shows slixmpp's stanza log.

    slixmpp_im.py --host 127.0.0.1 --starttls-port 5222 --direct-port 5223 \
        --ca data/cert.pem --alice alice@localhost:pw1 --bob bob@localhost:pw2
"""

import argparse
import asyncio
import datetime
import logging
import sys

import slixmpp

TIMEOUT = 20  # any single expected event
QUIET = 2  # how long "nothing more arrives" is watched


class Failure(Exception):
    pass


class MemoryRosterStore:
    """A slixmpp roster backend (RosterDBProtocol) kept in memory, shared by client objects,
    standing in for a client's persistent roster: items and the roster version survive from
    one login to the next, which is what makes roster versioning useful."""

    def __init__(self):
        self.items = {}  # owner bare JID -> {contact bare JID -> state}
        self.versions = {}

    def entries(self, owner, db_state=None):
        if owner is None:
            return list(self.items)
        return list(self.items.get(str(owner), {}))

    def load(self, owner, jid, db_state):
        state = self.items.get(str(owner), {}).get(str(jid))
        return None if state is None else dict(state, groups=list(state["groups"]))

    def save(self, owner, jid, state, db_state):
        node = self.items.setdefault(str(owner), {})
        if state.get("removed"):
            node.pop(str(jid), None)
        else:
            node[str(jid)] = dict(state, groups=list(state["groups"]))

    def version(self, owner):
        return self.versions.get(str(owner), "")

    def set_version(self, owner, version):
        self.versions[str(owner)] = version


class Client(slixmpp.ClientXMPP):
    """A client whose roster changes only through what the server sends: automatic
    subscription handling is off, and the test answers requests itself."""

    def __init__(self, jid, password, ca, mode, store=None):
        super().__init__(jid, password)
        self.ca_certs = ca
        self.enable_plaintext = False
        self.enable_starttls = mode == "starttls"
        self.enable_direct_tls = mode == "direct"
        self.register_plugin("xep_0203")
        if store is not None:
            self.roster.set_backend(store)
        self.auto_authorize = None  # neither accept nor refuse requests by itself
        self.auto_subscribe = False
        self.online = asyncio.get_event_loop().create_future()
        self.messages = asyncio.Queue()
        self.pushes = []  # (ver, {jid: (subscription, ask)}) per roster push, in order
        self.sub_requests = []  # presence stanzas of type subscribe, in order
        self.sub_approvals = []  # ... of type subscribed
        self.errors = []  # message or presence errors, and unexpected events
        self.end_reason = "not disconnected"
        self.roster_result = None  # the first roster result of the session
        self.messages_before_presence = None
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("message_error", self.on_error)
        self.add_event_handler("presence_error", self.on_error)
        self.add_event_handler("presence_subscribe", self.sub_requests.append)
        self.add_event_handler("presence_subscribed", self.sub_approvals.append)
        self.add_event_handler("roster_update", self.on_roster)
        self.add_event_handler("failed_auth", self.on_failed)
        self.add_event_handler("stream_error", self.on_failed)
        self.add_event_handler("disconnected", self.on_disconnected)

    async def on_start(self, _event):
        # A real client's order: roster first (which makes this resource "interested" and
        # lets the server answer with ver), then initial presence.
        try:
            self.roster_result = await self.get_roster(timeout=TIMEOUT)
            self.messages_before_presence = self.messages.qsize()
            self.send_presence()
        except Exception as e:  # noqa: BLE001 - reported through the future
            if not self.online.done():
                self.online.set_exception(Failure(f"{self.boundjid}: roster get failed: {e!r}"))
            return
        if not self.online.done():
            self.online.set_result(True)

    def on_failed(self, event):
        if not self.online.done():
            self.online.set_exception(Failure(f"{self.boundjid}: {event}"))
        else:
            self.errors.append(f"stream error: {event}")

    def on_disconnected(self, reason):
        # slixmpp sets "End of stream" when the server's </stream:stream> arrived.
        self.end_reason = reason

    def on_message(self, msg):
        if msg["type"] != "error":
            self.messages.put_nowait(msg)

    def on_error(self, stanza):
        self.errors.append(str(stanza))

    def on_roster(self, iq):
        if iq["type"] == "set":
            items = {
                str(j): (it["subscription"], it["ask"] or None)
                for j, it in iq["roster"]["items"].items()
            }
            self.pushes.append((iq["roster"]["ver"], items))

    def item(self, contact):
        """The contact's state in slixmpp's roster, as a short tuple."""
        it = self.client_roster[contact]
        return (it["subscription"], it["pending_out"])

    def state(self):
        roster = {j: (self.client_roster[j]["subscription"],
                      "pending_out" if self.client_roster[j]["pending_out"] else "",
                      sorted(self.client_roster[j].resources))
                  for j in self.client_roster}
        requests = [str(p["from"]) for p in self.sub_requests]
        approvals = [str(p["from"]) for p in self.sub_approvals]
        return (f"{self.boundjid}: roster={roster} ver={self.client_roster.version!r} "
                f"pushes={self.pushes} subscribe-from={requests} "
                f"subscribed-from={approvals} errors={self.errors}")


async def until(what, predicate, *clients, timeout=TIMEOUT):
    """Waits (bounded) until predicate() is true; fails with the clients' state otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise Failure(f"timed out after {timeout}s waiting for {what}\n  "
                          + "\n  ".join(c.state() for c in clients))
        await asyncio.sleep(0.05)


def check(ok, why, *clients):
    if not ok:
        raise Failure(why + "".join("\n  " + c.state() for c in clients))


def last_push(client, contact):
    for _ver, items in reversed(client.pushes):
        if contact in items:
            return items[contact]
    return None


async def login(client, host, port, what):
    client.connect(host, port)
    try:
        await asyncio.wait_for(client.online, TIMEOUT)
    except asyncio.TimeoutError:
        raise Failure(f"{what}: no session within {TIMEOUT}s") from None


async def logout(client, what):
    """Closes the stream and waits for the server to close its own (RFC 6120 §4.4)."""
    await asyncio.wait_for(client.disconnect(wait=5), TIMEOUT)
    check(client.end_reason == "End of stream", f"{what}: the server did not close its "
          f"stream after ours (disconnect reason {client.end_reason!r})")


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
    domain = alice_jid.split("@", 1)[1]
    bob_store = MemoryRosterStore()

    # --- 1. subscriptions both ways, with the rosters following the pushes
    alice = Client(alice_jid + "/im-alice", alice_pw, a.ca, "starttls")
    bob = Client(bob_jid + "/im-bob", bob_pw, a.ca, "direct", store=bob_store)
    await login(alice, a.host, a.starttls_port, "alice")
    await login(bob, a.host, a.direct_port, "bob")
    for c, other in ((alice, bob_jid), (bob, alice_jid)):
        check("rosterver" in c.features, f"{c.boundjid}: no roster versioning stream feature")
        check(other not in c.client_roster, f"{c.boundjid}: roster not empty at the start "
              "(the accounts must be fresh)", c)
    print(f"logged in: {alice.boundjid}, {bob.boundjid} (rosters empty, rosterver advertised)")

    await alice.update_roster(bob_jid, name="Bob", groups=["Friends"], timeout=TIMEOUT)
    await until("alice's roster push adding bob", lambda: last_push(alice, bob_jid) is not None,
                alice)
    check(alice.item(bob_jid) == ("none", False) and alice.client_roster[bob_jid]["name"] == "Bob"
          and alice.client_roster[bob_jid]["groups"] == ["Friends"],
          "alice's new item for bob is not none/Bob/[Friends]", alice)
    print("alice added bob to her roster: pushed as subscription none, name and group kept")

    alice.send_presence_subscription(pto=bob_jid, ptype="subscribe")
    await until("bob to receive alice's subscribe", lambda: bob.sub_requests, alice, bob)
    check(str(bob.sub_requests[0]["from"]) == alice_jid,
          f"subscribe reached bob from {bob.sub_requests[0]['from']}, not alice's bare JID", bob)
    await until("alice's push with ask=subscribe for bob",
                lambda: alice.item(bob_jid) == ("none", True), alice)
    print("alice -> bob subscribe: bob got it from alice's bare JID; alice's item is none + ask")

    bob.send_presence_subscription(pto=alice_jid, ptype="subscribed")
    await until("alice's push: bob 'to'", lambda: alice.item(bob_jid) == ("to", False), alice)
    await until("bob's push: alice 'from'", lambda: bob.item(alice_jid) == ("from", False), bob)
    await until("alice to receive subscribed from bob", lambda: alice.sub_approvals, alice)
    await until("alice to see bob available",
                lambda: "im-bob" in alice.client_roster[bob_jid].resources, alice)
    print("bob approved: alice has bob 'to' and sees im-bob available; bob has alice 'from'")

    bob.send_presence_subscription(pto=alice_jid, ptype="subscribe")
    await until("alice to receive bob's subscribe", lambda: alice.sub_requests, alice, bob)
    check(str(alice.sub_requests[0]["from"]) == bob_jid,
          f"subscribe reached alice from {alice.sub_requests[0]['from']}", alice)
    alice.send_presence_subscription(pto=bob_jid, ptype="subscribed")
    await until("both rosters at 'both'", lambda: alice.item(bob_jid) == ("both", False)
                and bob.item(alice_jid) == ("both", False), alice, bob)
    check(last_push(alice, bob_jid) == ("both", None)
          and last_push(bob, alice_jid) == ("both", None),
          "the last roster pushes are not 'both' without ask", alice, bob)
    await until("bob to see alice available",
                lambda: "im-alice" in bob.client_roster[alice_jid].resources, bob)
    check(alice.client_roster[bob_jid].resources["im-bob"]["show"] == ""
          and bob.client_roster[alice_jid].resources["im-alice"]["show"] == "",
          "presence seen is not plain available", alice, bob)
    check(not alice.errors and not bob.errors, "error stanzas received", alice, bob)
    print(f"mutual subscription: both rosters 'both' after {len(alice.pushes)} + {len(bob.pushes)} "
          "pushes; each sees the other available")

    # --- 2. offline messages
    bob_ver = bob.client_roster.version
    check(bob_ver, "bob's roster pushes carried no ver", bob)
    await logout(bob, "bob's logout")
    await until("alice to see bob unavailable",
                lambda: not alice.client_roster[bob_jid].resources, alice)
    print("bob logged out (stream closed both ways); alice saw him unavailable")

    bodies = [f"offline {i}/3 ✓ <&> {word}" for i, word in enumerate(("one", "two", "three"), 1)]
    for body in bodies:
        alice.send_message(mto=bob_jid, mbody=body, mtype="chat")
    # A round trip on alice's stream: the server has taken the three messages before bob logs in.
    await alice.get_roster(timeout=TIMEOUT)
    check(not alice.errors, "alice got an error for a message to offline bob", alice)
    print("alice sent 3 chat messages to offline bob (no error)")

    bob2 = Client(bob_jid + "/im-bob2", bob_pw, a.ca, "starttls", store=bob_store)
    await login(bob2, a.host, a.starttls_port, "bob's second login")
    check(bob2.messages_before_presence == 0,
          f"{bob2.messages_before_presence} message(s) arrived before initial presence", bob2)
    got = []
    for i in range(3):
        try:
            got.append(await asyncio.wait_for(bob2.messages.get(), TIMEOUT))
        except asyncio.TimeoutError:
            raise Failure(f"only {i} of 3 offline messages within {TIMEOUT}s: "
                          f"{[m['body'] for m in got]}\n  {bob2.state()}") from None
    now = datetime.datetime.now(datetime.timezone.utc)
    for msg, body in zip(got, bodies):
        check(msg["body"] == body, f"offline messages out of order or altered: "
              f"{[m['body'] for m in got]} != {bodies}", bob2)
        check(msg["type"] == "chat", f"offline message type {msg['type']!r}", bob2)
        check(str(msg["from"]) == str(alice.boundjid),
              f"offline message from {msg['from']}, not {alice.boundjid}", bob2)
        stamp = msg["delay"]["stamp"]
        check(stamp is not None, f"offline message without XEP-0203 delay: {msg}", bob2)
        check(-datetime.timedelta(seconds=5) <= now - stamp <= datetime.timedelta(minutes=5),
              f"delay stamp {stamp} is not within the last 5 minutes of {now}", bob2)
        check(str(msg["delay"]["from"]) == domain,
              f"delay from {msg['delay']['from']!r}, expected {domain!r}", bob2)
    await asyncio.sleep(QUIET)
    check(bob2.messages.empty(), f"more messages after the three: "
          f"{[bob2.messages.get_nowait()['body'] for _ in range(bob2.messages.qsize())]}", bob2)
    print(f"bob logged in again: 3 offline messages after initial presence, in order, "
          f"each with delay from {domain} (stamp {got[0]['delay']['stamp'].isoformat()}), "
          f"none more within {QUIET}s")

    # --- 3. the roster at the new login, with versioning
    check(bob2.roster_result is not None and not bob2.roster_result["roster"]["items"],
          f"roster get with the current ver {bob_ver!r} did not give an empty result: "
          f"{bob2.roster_result}", bob2)
    check(bob2.item(alice_jid) == ("both", False),
          "bob's stored roster does not show alice 'both'", bob2)
    check(bob2.client_roster.version == bob_ver, "roster version changed", bob2)
    await until("bob2 to see alice available",
                lambda: "im-alice" in bob2.client_roster[alice_jid].resources, bob2)
    bob2.client_roster.version = ""
    full = await bob2.get_roster(timeout=TIMEOUT)
    items = {str(j): (it["subscription"], it["ask"] or None)
             for j, it in full["roster"]["items"].items()}
    check(items == {alice_jid: ("both", None)}, f"full roster is {items}", bob2)
    check(full["roster"]["ver"] == bob_ver,
          f"full roster ver {full['roster']['ver']!r} != current {bob_ver!r}", bob2)
    check(bob2.item(alice_jid) == ("both", False), "alice not 'both' after the full fetch", bob2)
    print(f"bob's roster at the new login: ver {bob_ver!r} answered as current (empty result), "
          "stored roster has alice 'both'; a full fetch gives alice 'both' with the same ver; "
          "alice available")
    await until("alice to see bob2 available",
                lambda: "im-bob2" in alice.client_roster[bob_jid].resources, alice)
    check(not alice.errors and not bob2.errors, "error stanzas received", alice, bob2)

    # --- 4. offline messages were delivered exactly once
    await logout(bob2, "bob's second logout")
    bob3 = Client(bob_jid + "/im-bob3", bob_pw, a.ca, "direct", store=bob_store)
    await login(bob3, a.host, a.direct_port, "bob's third login")
    await asyncio.sleep(QUIET)
    check(bob3.messages.empty(), "offline messages delivered again at the third login: "
          f"{[bob3.messages.get_nowait()['body'] for _ in range(bob3.messages.qsize())]}", bob3)
    check(bob3.item(alice_jid) == ("both", False), "alice not 'both' at the third login", bob3)
    print(f"bob logged in a third time: no message delivered again within {QUIET}s")

    await logout(bob3, "bob's third logout")
    await logout(alice, "alice's logout")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # noqa: BLE001 - the reason is the test's output
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("1 passed, 0 failed")
