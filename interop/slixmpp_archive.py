#!/usr/bin/env python3
"""Interop test: the message archive (XEP-0313 with XEP-0059 paging, XEP-0441 preferences,
archive metadata) and blocking (XEP-0191), driven by slixmpp's own plugins (xep_0313,
xep_0059, xep_0441, xep_0191, xep_0030).

Needs three fresh accounts (empty archives, default preferences) on a server with the
default archive settings (enabled, default policy 'always'). Steps:

1. Discovery: bob's bare JID advertises urn:xmpp:mam:2 (XEP-0313 §6.1); the query form
   (``xep_0313.get_fields``) has FORM_TYPE, with, start and end; the metadata of the empty
   archive is an empty ``<metadata/>`` (§5.1).
2. Traffic, each step waited for so that the archive order is known: alice sends bob 60
   chat messages, carol 5, bob answers alice 3 times, alice sends 60 more. Every message
   bob (or alice) receives live carries a ``<stanza-id by='own bare JID'/>``, unique.
3. Paging through bob's archive with the plugin's RSM iterator
   (``xep_0313.retrieve(iterator=True)``, pages of 50): forwards the pages hold 50, 50 and
   28 results, in order; each page's ``<fin/>`` names its first and last result, and only
   the last says complete. Every message is there once, in the order sent, with the sender,
   recipient and body it had, and the id its live copy carried in ``<stanza-id/>``; delay
   stamps do not go backwards. Backwards (``reverse=True``) the pages are the same three from
   the end, each in chronological order, complete on the oldest. ``xep_0313.iterate`` gives
   the same messages one by one both ways. Single pages by ``retrieve`` with RSM ``after``
   and ``before`` ids give the right slices, not complete.
4. The ``with`` filter: alice's 123 (her 120 and bob's 3 answers), carol's 5, in order;
   a JID nobody talked to gives an empty, complete result.
5. Metadata (``xep_0313.get_archive_metadata``): start and end name the first and last
   archived ids, with their timestamps.
6. Preferences (``xep_0441``): the default is 'always' with empty lists; bob sets default
   'never' with carol in 'always', and reads it back. Then alice's next message reaches bob
   but is not in his archive (no stanza-id on it; it is in alice's archive), carol's is.
   bob sets 'always' back and reads it back.
7. Blocking (XEP-0191, slixmpp's xep_0191: ``get_blocked_jids``, ``get_blocked``, ``block``,
   ``unblock``): the server advertises urn:xmpp:blocking; bob's list is empty; bob blocks
   alice (result, a push to bob, the list holds alice). alice's message to bob comes back
   to her as service-unavailable; bob receives nothing (carol's marker, sent after the
   error came back, is the next and only thing he gets) and nothing is archived for him.
   bob's message to alice is refused with not-acceptable and ``<blocked/>``; alice
   receives nothing. bob blocks carol and unblocks alice (pushes; the list holds carol);
   alice's messages reach bob again and are archived, his reach her. "Unblock all" (an
   empty ``<unblock/>``, which the plugin cannot send: built from its stanza) pushes an
   empty unblock, empties the list, and carol's messages flow again.

Exits 0 on success, 1 on failure (with a reason); prints a PASS line per step.
--debug shows slixmpp's stanza log.

    slixmpp_archive.py --host 127.0.0.1 --starttls-port 5222 --ca data/cert.pem \
        --alice alice@localhost:pw1 --bob bob@localhost:pw2 --carol carol@localhost:pw3
"""

import argparse
import asyncio
import datetime
import logging
import sys

import slixmpp
from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout

TIMEOUT = 20  # any single expected event
QUIET = 2  # how long "nothing more arrives" is watched
PAGE = 50  # RSM page size asked for
MAM = "urn:xmpp:mam:2"
SID = "urn:xmpp:sid:0"
BLOCKING = "urn:xmpp:blocking"

# Every client of the run, kept referenced: slixmpp leaves tasks pending on a closed stream,
# which asyncio reports as "destroyed but pending" when the client is collected mid-run.
CLIENTS = []


class Failure(Exception):
    pass


def check(ok, why):
    if not ok:
        raise Failure(why)


def passed(what):
    print(f"PASS: {what}")


def error_of(e):
    """The defined condition (and text) of an IqError, or 'timeout'."""
    if isinstance(e, IqTimeout):
        return "timeout"
    err = e.iq["error"]
    return f"{err['type']}/{err['condition']}" + (f" ({err['text']})" if err["text"] else "")


async def iq(what, awaitable):
    """Awaits an iq the test sends; a timeout or an error reply is a failure."""
    try:
        return await awaitable
    except (IqError, IqTimeout) as e:
        raise Failure(f"{what}: {error_of(e)}") from None


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, ca):
        super().__init__(jid, password)
        CLIENTS.append(self)
        self.ca_certs = ca
        self.enable_plaintext = False
        self.enable_starttls = True
        self.enable_direct_tls = False
        for plugin in ("xep_0030", "xep_0059", "xep_0203", "xep_0313", "xep_0441",
                       "xep_0359", "xep_0191"):
            self.register_plugin(plugin)
        self.online = asyncio.get_event_loop().create_future()
        self.messages = asyncio.Queue()  # chat messages received live (not MAM results)
        self.errors = []  # message errors, in order
        self.pushes = []  # block list pushes: ("block" or "unblock", {JIDs}), in order
        self.end_reason = None
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("message_error", self.on_error)
        self.add_event_handler("blocked", lambda iq: self.on_push("block", iq))
        self.add_event_handler("unblocked", lambda iq: self.on_push("unblock", iq))
        self.add_event_handler("failed_auth", self.on_failed)
        self.add_event_handler("stream_error", self.on_failed)
        self.add_event_handler("disconnected", self.on_disconnected)

    async def on_start(self, _event):
        try:
            self.send_presence()
            # A round trip: the server has taken the initial presence when it answers, so
            # messages to the bare JID come here from now on.
            await self.get_roster(timeout=TIMEOUT)
        except Exception as e:  # noqa: BLE001 - reported through the future
            if not self.online.done():
                self.online.set_exception(Failure(f"{self.boundjid}: roster get failed: {e!r}"))
            return
        if not self.online.done():
            self.online.set_result(True)

    def on_failed(self, event):
        if not self.online.done():
            self.online.set_exception(Failure(f"{self.boundjid}: {event}"))

    def on_disconnected(self, reason):
        self.end_reason = reason

    def on_message(self, msg):
        # slixmpp fires "message" for any message with a body (an error may have one too)
        # and "message_error" for any error.
        if msg["type"] != "error" and msg.xml.find(f"{{{MAM}}}result") is None:
            self.messages.put_nowait(msg)

    def on_error(self, msg):
        self.errors.append(msg)

    def on_push(self, kind, iq):
        self.pushes.append((kind, {str(item["jid"]) for item in iq[kind]}))

    @property
    def bare(self):
        return str(self.boundjid.bare)

    def stanza_id(self, msg):
        """The id of the stanza-id our own archive put on a message, or None."""
        ids = [el.get("id") for el in msg.xml.findall(f"{{{SID}}}stanza-id")
               if el.get("by") == self.bare]
        check(len(ids) <= 1, f"{self.bare} got a message with {len(ids)} stanza-ids by it: {msg}")
        return ids[0] if ids else None

    async def receive(self, n, what):
        got = []
        for i in range(n):
            try:
                got.append(await asyncio.wait_for(self.messages.get(), TIMEOUT))
            except asyncio.TimeoutError:
                raise Failure(f"{what}: {self.bare} got only {i} of {n} messages within "
                              f"{TIMEOUT}s (errors: {[str(e) for e in self.errors]})") from None
        return got

    def check_no_errors(self, what):
        check(not self.errors, f"{what}: {self.bare} got message errors: "
              f"{[str(e) for e in self.errors]}")

    @property
    def mam(self):
        return self.plugin["xep_0313"]


async def login(jid, password, a):
    c = Client(jid, password, a.ca)
    c.connect(a.host, a.starttls_port)
    try:
        await asyncio.wait_for(c.online, TIMEOUT)
    except asyncio.TimeoutError:
        raise Failure(f"{jid}: no session within {TIMEOUT}s") from None
    return c


async def logout(c):
    await asyncio.wait_for(c.disconnect(wait=5), TIMEOUT)


class Sent:
    """One message of the conversation as it should be archived for bob."""

    def __init__(self, sender, recipient, body):
        self.sender = sender  # bare JIDs
        self.recipient = recipient
        self.body = body
        self.id = None  # bob's stanza-id, when bob received it live

    def __repr__(self):
        return f"{self.sender}->{self.recipient} {self.body!r} id={self.id}"


async def exchange(sender, recipient, bodies, what, log):
    """sender sends recipient chat messages; each arrives live, in order, with a stanza-id
    of the recipient's archive. Returns the received messages; appends Sent records to
    log."""
    for body in bodies:
        sender.send_message(mto=recipient.bare, mbody=body, mtype="chat")
    got = await recipient.receive(len(bodies), what)
    check([m["body"] for m in got] == bodies,
          f"{what}: received out of order or altered: {[m['body'] for m in got]}")
    for m, body in zip(got, bodies):
        check(str(m["from"]) == str(sender.boundjid),
              f"{what}: message from {m['from']}, not {sender.boundjid}")
        entry = Sent(sender.bare, recipient.bare, body)
        entry.id = recipient.stanza_id(m)
        check(entry.id, f"{what}: live message without a stanza-id by {recipient.bare}: {m}")
        log.append(entry)
    return got


class Result:
    """One MAM result, as slixmpp parses it."""

    def __init__(self, msg):
        r = msg["mam_result"]
        inner = r["forwarded"]["stanza"]
        self.id = r["id"]
        self.queryid = r["queryid"]
        self.outer_from = str(msg["from"])
        self.sender = str(inner["from"].bare)
        self.recipient = str(inner["to"].bare)
        self.body = inner["body"]
        self.stamp = r["forwarded"]["delay"]["stamp"]

    def __repr__(self):
        return f"{self.sender}->{self.recipient} {self.body!r} id={self.id}"


def results_of(page):
    return [Result(m) for m in page["mam"]["results"]]


def compare(what, got, expected):
    """got (Results) are expected (Sent records), once each, in order."""
    check(len(got) == len(expected),
          f"{what}: {len(got)} results, expected {len(expected)}: first differences "
          f"{first_difference(got, expected)}")
    ids = [r.id for r in got]
    check(len(set(ids)) == len(ids), f"{what}: result ids repeat")
    for i, (r, e) in enumerate(zip(got, expected)):
        check((r.sender, r.recipient, r.body) == (e.sender, e.recipient, e.body)
              and (e.id is None or r.id == e.id),
              f"{what}: result {i} is {r!r}, expected {e!r}")


def first_difference(got, expected):
    for i, (r, e) in enumerate(zip(got, expected)):
        if (r.sender, r.recipient, r.body) != (e.sender, e.recipient, e.body):
            return f"at {i}: {r!r} != {e!r}"
    return f"lengths {len(got)} != {len(expected)}"


def check_page(what, page, owner):
    """A page's fin names its first and last result; results come from the archive."""
    results = results_of(page)
    rsm = page["mam_fin"]["rsm"]
    check(rsm["first"] == results[0].id and rsm["last"] == results[-1].id,
          f"{what}: fin first/last {rsm['first']!r}/{rsm['last']!r} do not name the page's "
          f"first/last results {results[0].id!r}/{results[-1].id!r}")
    for r in results:
        check(r.outer_from in ("", owner),
              f"{what}: a result comes from {r.outer_from!r}, not the archive (XEP-0313 §8.2)")
    return results


def complete(page):
    return page["mam_fin"]["complete"] in ("true", "1")


async def pages(client, **kwargs):
    """Every page of a query, through the plugin's RSM iterator."""
    out = []
    async for page in client.mam.retrieve(iterator=True, rsm={"max": PAGE}, **kwargs):
        out.append(page)
    return out


async def each(client, **kwargs):
    """Every result of a query, one by one, through xep_0313.iterate."""
    return [Result(m) async for m in client.mam.iterate(rsm={"max": PAGE}, **kwargs)]


async def metadata(client):
    answer = await iq("metadata query", client.mam.get_archive_metadata(timeout=TIMEOUT))
    el = answer.xml.find(f"{{{MAM}}}metadata")
    check(el is not None, f"the metadata answer has no <metadata/>: {answer}")
    if el.find(f"{{{MAM}}}start") is None and el.find(f"{{{MAM}}}end") is None:
        return None
    md = answer["mam_metadata"]
    return (md["start"]["id"], md["start"]["timestamp"], md["end"]["id"], md["end"]["timestamp"])


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--starttls-port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--alice", required=True, help="jid:password")
    p.add_argument("--bob", required=True, help="jid:password")
    p.add_argument("--carol", required=True, help="jid:password")
    p.add_argument("--debug", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if a.debug else logging.WARNING)

    alice = await login(*a.alice.split(":", 1), a)
    bob = await login(*a.bob.split(":", 1), a)
    carol = await login(*a.carol.split(":", 1), a)
    print(f"logged in: {alice.boundjid}, {bob.boundjid}, {carol.boundjid}")

    # --- 1. discovery, the form, the empty archive
    info = await iq("disco#info on bob's bare JID", bob.plugin["xep_0030"].get_info(
        jid=bob.bare, local=False, cached=False, timeout=TIMEOUT))
    features = info["disco_info"]["features"]
    check(MAM in features, f"{bob.bare} does not advertise {MAM}: {features}")
    form = await iq("query form", bob.mam.get_fields(timeout=TIMEOUT))
    fields = form.get_fields()
    check({"FORM_TYPE", "with", "start", "end"} <= set(fields),
          f"the query form lacks FORM_TYPE/with/start/end: {sorted(fields)}")
    check(await metadata(bob) is None, "the metadata of bob's new archive is not empty")
    passed(f"{bob.bare} advertises {MAM}; query form fields {sorted(fields)}; "
           "empty archive, empty metadata")

    # --- 2. traffic
    log = []
    await exchange(alice, bob, [f"alice {i:03} ✓ <&>" for i in range(1, 61)], "alice 1-60", log)
    await exchange(carol, bob, [f"carol {i}" for i in range(1, 6)], "carol 1-5", log)
    answers = await exchange(bob, alice, [f"bob answers {i}" for i in range(1, 4)], "bob 1-3",
                             [])
    for body in (m["body"] for m in answers):
        log.append(Sent(bob.bare, alice.bare, body))  # its id in bob's archive is not known
    await exchange(alice, bob, [f"alice {i:03} ✓ <&>" for i in range(61, 121)], "alice 61-120",
                   log)
    for c in (alice, bob, carol):
        c.check_no_errors("traffic")
    received_ids = [e.id for e in log if e.id]
    check(len(set(received_ids)) == len(received_ids), "bob's live stanza-ids repeat")
    passed(f"traffic: {len(log)} messages in bob's conversations, each received live in order "
           "with a unique stanza-id of the recipient's archive")

    # --- 3. paging forwards and backwards
    fwd = await pages(bob)
    sizes = [len(pg["mam"]["results"]) for pg in fwd]
    check(sizes == [50, 50, 28], f"forward pages of {PAGE}: sizes {sizes}, expected [50, 50, 28]")
    got = []
    for i, page in enumerate(fwd):
        got += check_page(f"forward page {i}", page, bob.bare)
        check(complete(page) == (i == len(fwd) - 1),
              f"forward page {i}: complete={page['mam_fin']['complete']!r}")
    compare("forward paging", got, log)
    now = datetime.datetime.now(datetime.timezone.utc)
    stamps = [r.stamp for r in got]
    check(all(s is not None for s in stamps), "a result without a delay stamp")
    check(stamps == sorted(stamps), "delay stamps go backwards")
    check(now - datetime.timedelta(minutes=10) <= stamps[0] <= stamps[-1]
          <= now + datetime.timedelta(seconds=5),
          f"delay stamps {stamps[0]}..{stamps[-1]} are not within the last 10 minutes of {now}")
    ids = [r.id for r in got]
    passed(f"forward paging (retrieve iterator, max {PAGE}): pages {sizes}, fin first/last "
           "right, complete on the last only; all 128 messages once, in order, ids matching "
           "the live stanza-ids, stamps in order")

    back = await pages(bob, reverse=True)
    sizes = [len(pg["mam"]["results"]) for pg in back]
    check(sizes == [50, 50, 28], f"backward pages: sizes {sizes}, expected [50, 50, 28]")
    got = []
    for i, page in enumerate(back):
        results = check_page(f"backward page {i}", page, bob.bare)
        check(complete(page) == (i == len(back) - 1),
              f"backward page {i}: complete={page['mam_fin']['complete']!r}")
        got = results + got
    check([r.id for r in got] == ids, "backward pages, put back in order, are not the forward "
          "results")
    passed("backward paging (reverse=True): the last 50, the 50 before, the first 28, each in "
           "chronological order, complete on the oldest; together the same messages")

    one_by_one = await each(bob)
    check([r.id for r in one_by_one] == ids, "xep_0313.iterate forwards differs from the pages")
    one_by_one = await each(bob, reverse=True)
    check([r.id for r in one_by_one] == ids[::-1],
          "xep_0313.iterate(reverse=True) is not the archive newest first")
    passed("xep_0313.iterate: the same 128 messages forwards, and newest first backwards")

    page = await iq("a page after an id", bob.mam.retrieve(
        rsm={"max": 10, "after": ids[9]}, timeout=TIMEOUT))
    check([r.id for r in results_of(page)] == ids[10:20] and not complete(page),
          f"RSM after {ids[9]!r}: {results_of(page)}, complete={complete(page)}")
    page = await iq("a page before an id", bob.mam.retrieve(
        rsm={"max": 10, "before": ids[100]}, timeout=TIMEOUT))
    check([r.id for r in results_of(page)] == ids[90:100] and not complete(page),
          f"RSM before {ids[100]!r}: {results_of(page)}, complete={complete(page)}")
    page = await iq("the last page after an id", bob.mam.retrieve(
        rsm={"max": 10, "after": ids[120]}, timeout=TIMEOUT))
    check([r.id for r in results_of(page)] == ids[121:] and complete(page),
          f"RSM after {ids[120]!r}: {results_of(page)}, complete={complete(page)}")
    passed("single pages (retrieve with RSM after/before ids, max 10): the right slices, "
           "complete only at the end")

    # --- 4. the with filter
    for other, n in ((alice, 123), (carol, 5)):
        got = await each(bob, with_jid=JID(other.bare))
        compare(f"with={other.bare}", got,
                [e for e in log if other.bare in (e.sender, e.recipient)])
        check(len(got) == n, f"with={other.bare}: {len(got)} results, expected {n}")
    nobody = JID(f"nobody@{alice.boundjid.domain}")
    page = await iq("with a stranger", bob.mam.retrieve(
        with_jid=nobody, rsm={"max": PAGE}, timeout=TIMEOUT))
    check(not page["mam"]["results"] and complete(page),
          f"with={nobody}: {len(page['mam']['results'])} results, complete={complete(page)}")
    passed(f"with filter: alice 123 (120 + bob's 3 answers), carol 5, in order; {nobody}: "
           "empty and complete")

    # --- 5. metadata
    md = await metadata(bob)
    check(md is not None, "bob's archive metadata is empty")
    start_id, start_stamp, end_id, end_stamp = md
    check((start_id, end_id) == (ids[0], ids[-1]),
          f"metadata start/end {start_id!r}/{end_id!r}, expected {ids[0]!r}/{ids[-1]!r}")
    check(start_stamp is not None and end_stamp is not None and start_stamp <= end_stamp
          and now - datetime.timedelta(minutes=10) <= start_stamp
          and end_stamp <= now + datetime.timedelta(seconds=5),
          f"metadata timestamps {start_stamp}..{end_stamp} are not in order in the last "
          f"10 minutes of {now}")
    passed(f"metadata: start {start_id} ({start_stamp.isoformat()}), end {end_id} "
           f"({end_stamp.isoformat()}): the first and last archived")

    # --- 6. preferences
    prefs = bob.plugin["xep_0441"]
    got = await iq("prefs get", prefs.get_preferences(timeout=TIMEOUT))
    check(got == ("always", set(), set()),
          f"bob's preferences at the start: {got}, expected ('always', set(), set())")
    answer = await iq("prefs set", prefs.set_preferences(
        default="never", always=[JID(carol.bare)], never=[], timeout=TIMEOUT))
    check(answer["mam_prefs"]["default"] == "never"
          and answer["mam_prefs"]["always"] == {JID(carol.bare)},
          f"the prefs set answer does not hold the new preferences: {answer}")
    got = await iq("prefs get", prefs.get_preferences(timeout=TIMEOUT))
    check(got == ("never", {JID(carol.bare)}, set()),
          f"bob's preferences read back: {got}, expected ('never', {{{carol.bare}}}, set())")
    passed(f"preferences: default 'always' at first; set to 'never' with always "
           f"[{carol.bare}], read back the same")

    [from_alice] = await exchange_unarchived(alice, bob, "not archived for bob")
    check(bob.stanza_id(from_alice) is None,
          f"alice's message under default 'never' carries bob's stanza-id: {from_alice}")
    extra = []
    await exchange(carol, bob, ["carol, always archived"], "carol under 'never'", extra)
    got = results_of(await iq("the archive after the end", bob.mam.retrieve(
        rsm={"max": 10, "after": ids[-1]}, timeout=TIMEOUT)))
    check([(r.sender, r.body, r.id) for r in got] == [(carol.bare, extra[0].body, extra[0].id)],
          f"bob's archive after default 'never': {got}, expected only carol's message")
    [newest] = [Result(m) async for m in alice.mam.iterate(
        with_jid=JID(bob.bare), reverse=True, rsm={"max": 1}, total=1)]
    check(newest.body == "not archived for bob" and newest.sender == alice.bare,
          f"alice's archive does not end with her message to bob: {newest}")
    passed("under default 'never': alice's message reached bob without stanza-id and is not "
           "in his archive (it is in hers); carol's ('always') is")

    await iq("prefs set", prefs.set_preferences(
        default="always", always=[], never=[], timeout=TIMEOUT))
    got = await iq("prefs get", prefs.get_preferences(timeout=TIMEOUT))
    check(got == ("always", set(), set()), f"bob's preferences set back: {got}")
    passed("preferences set back to 'always' with empty lists, read back the same")

    await blocking(alice, bob, carol)

    for c in (alice, bob, carol):
        c.check_no_errors("the end")
    for c in (alice, bob, carol):
        await logout(c)


async def until(what, predicate):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not predicate():
        if loop.time() > deadline:
            raise Failure(f"timed out after {TIMEOUT}s waiting for {what}")
        await asyncio.sleep(0.05)


async def bounced(sender, recipient, body, condition, what):
    """sender's message to recipient comes back as an error with condition, and never
    reaches recipient: a marker carol sends recipient after the error came back is the next
    thing recipient receives, and nothing else arrives. Returns the error message."""
    sender.send_message(mto=recipient.bare, mbody=body, mtype="chat")
    await until(f"{what}: an error for {sender.bare}", lambda: sender.errors)
    err = sender.errors.pop(0)
    check(err["error"]["condition"] == condition,
          f"{what}: error {err['error']['type']}/{err['error']['condition']}, expected "
          f"{condition}: {err}")
    check(str(err["from"].bare) == recipient.bare,
          f"{what}: the error comes from {err['from']}, not {recipient.bare}")
    return err


async def nothing_but_marker(marker_from, recipient, what):
    """What recipient receives next is marker_from's marker, then nothing within QUIET."""
    body = f"marker after {what}"
    marker_from.send_message(mto=recipient.bare, mbody=body, mtype="chat")
    [got] = await recipient.receive(1, f"{what}: the marker")
    check(got["body"] == body,
          f"{what}: {recipient.bare} received {got['body']!r} from {got['from']}")
    await asyncio.sleep(QUIET)
    if not recipient.messages.empty():
        raise Failure(f"{what}: {recipient.bare} received more: "
                      f"{recipient.messages.get_nowait()}")
    return got


async def blocking(alice, bob, carol):
    """XEP-0191 through slixmpp's xep_0191 plugin: bob blocks alice."""
    domain = alice.boundjid.domain
    info = await iq("disco#info on the server", bob.plugin["xep_0030"].get_info(
        jid=domain, local=False, cached=False, timeout=TIMEOUT))
    features = info["disco_info"]["features"]
    check(BLOCKING in features, f"{domain} does not advertise {BLOCKING}: {features}")
    block = bob.plugin["xep_0191"]
    got = await iq("block list get", block.get_blocked_jids(timeout=TIMEOUT))
    check(got == set(), f"bob's block list at the start: {got}")
    passed(f"{domain} advertises {BLOCKING}; bob's block list is empty (get_blocked_jids)")

    await iq("block alice", block.block(JID(alice.bare), timeout=TIMEOUT))
    await until("bob's push for blocking alice", lambda: bob.pushes)
    check(bob.pushes == [("block", {alice.bare})], f"bob's pushes: {bob.pushes}")
    got = await iq("block list get", block.get_blocked_jids(timeout=TIMEOUT))
    check(got == {JID(alice.bare)}, f"bob's block list after blocking alice: {got}")
    raw = await iq("block list get", block.get_blocked(timeout=TIMEOUT))
    check([str(i["jid"]) for i in raw["blocklist"]] == [alice.bare],
          f"the block list iq: {raw}")
    passed("bob blocked alice (block): result, a push to bob, get_blocked lists alice")

    end_before = (await metadata(bob))[2]
    await bounced(alice, bob, "blocked 1", "service-unavailable",
                  "alice's message to bob, who blocks her")
    marker = await nothing_but_marker(carol, bob, "alice's blocked message")
    end_after = (await metadata(bob))[2]
    check(end_after == bob.stanza_id(marker) and end_after != end_before,
          f"bob's archive does not end with carol's marker (end {end_after!r}, marker "
          f"{bob.stanza_id(marker)!r})")
    got = results_of(await iq("bob's archive after the block", bob.mam.retrieve(
        rsm={"max": 10, "after": end_before}, timeout=TIMEOUT)))
    check([r.sender for r in got] == [carol.bare],
          f"bob's archive after alice was blocked holds {got}, expected carol's marker only")
    passed("alice's message to bob: error service-unavailable to alice; bob got nothing "
           "(carol's later marker came first and alone), nothing archived for him")

    err = await bounced(bob, alice, "to a blocked contact", "not-acceptable",
                        "bob's message to alice, whom he blocks")
    check(err.xml.find(f"{{jabber:client}}error/{{{BLOCKING}:errors}}blocked") is not None,
          f"bob's error has no <blocked xmlns='{BLOCKING}:errors'/>: {err}")
    await nothing_but_marker(carol, alice, "bob's message to a blocked contact")
    passed("bob's message to alice: error not-acceptable with <blocked/> to bob; alice got "
           "nothing")

    await iq("block carol", block.block([JID(carol.bare)], timeout=TIMEOUT))
    await iq("unblock alice", block.unblock(JID(alice.bare), timeout=TIMEOUT))
    await until("bob's pushes for carol and alice", lambda: len(bob.pushes) == 3)
    check(bob.pushes[1:] == [("block", {carol.bare}), ("unblock", {alice.bare})],
          f"bob's pushes: {bob.pushes}")
    got = await iq("block list get", block.get_blocked_jids(timeout=TIMEOUT))
    check(got == {JID(carol.bare)}, f"bob's block list after blocking carol, unblocking "
          f"alice: {got}")
    log = []
    await exchange(alice, bob, ["unblocked 1", "unblocked 2"], "alice after the unblock", log)
    await exchange(bob, alice, ["hello again"], "bob after the unblock", [])
    got = results_of(await iq("bob's archive after the unblock", bob.mam.retrieve(
        rsm={"max": 10, "after": end_after}, timeout=TIMEOUT)))
    check([(r.sender, r.body) for r in got] == [(alice.bare, "unblocked 1"),
                                                 (alice.bare, "unblocked 2"),
                                                 (bob.bare, "hello again")],
          f"bob's archive after the unblock: {got}")
    passed("bob blocked carol and unblocked alice: pushes, list [carol]; alice's messages "
           "reach bob again and are archived, his reach her")

    # slixmpp's unblock() with no JIDs sends no <unblock/> at all: "unblock all" (§3.5) is
    # built from the plugin's stanza.
    request = bob.make_iq_set()
    request.enable("unblock")
    await iq("unblock all", request.send(timeout=TIMEOUT))
    await until("bob's push for unblock all", lambda: len(bob.pushes) == 4)
    check(bob.pushes[3] == ("unblock", set()), f"bob's push for unblock all: {bob.pushes[3]}")
    got = await iq("block list get", block.get_blocked_jids(timeout=TIMEOUT))
    check(got == set(), f"bob's block list after unblock all: {got}")
    await exchange(carol, bob, ["carol unblocked"], "carol after unblock all", [])
    passed("unblock all: a push without items, the list is empty, carol's messages flow")


async def exchange_unarchived(sender, recipient, body):
    """One message that arrives live; its archiving is checked by the caller."""
    sender.send_message(mto=recipient.bare, mbody=body, mtype="chat")
    got = await recipient.receive(1, body)
    check(got[0]["body"] == body, f"{body}: received {got[0]['body']!r}")
    return got


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # noqa: BLE001 - the reason is the test's output
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("PASS: slixmpp_archive.py")
