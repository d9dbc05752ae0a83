#!/usr/bin/env python3
"""Interop test: XEP-0077 in-band registration driven by slixmpp's own xep_0077 plugin.

slixmpp registers the way its example (examples/register_account.py) does: the plugin handles
the ``register`` stream feature after STARTTLS, fetches the form, and fires the ``register``
event; the handler submits, and slixmpp goes on to SASL with the same credentials on the same
stream. Two modes, each against its own server:

Without --captcha (a server with ``[registration] captcha = false``, ``per_address`` >= 5):

1. The register feature is advertised after TLS (not before). The form has instructions, the
   legacy username and password fields and a data form (xep_0004) of FORM_TYPE
   jabber:iq:register with username and password fields.
2. A new account is registered by submitting that data form (what XEP-0077 asks of clients
   that understand data forms), then logs in on the same stream; a second one by the legacy
   fields (slixmpp's example), and logs in too.
3. Registering the second account's name again, and a new name with a weak password, fail
   (and the weak one made no account).
4. The first account logs in on a new stream and changes its password in band
   (``xep_0077.change_password``, addressed to the server); the new password logs in, the old
   one fails.
5. It removes itself (``xep_0077.cancel_registration``, slixmpp's default: no 'to'): the
   server answers result, then closes the stream with a not-authorized stream error; logging
   in afterwards fails, and the name cannot be registered again at once.

With --captcha (a server with the default ``captcha = true``): the form is a XEP-0158 CAPTCHA
form (FORM_TYPE urn:xmpp:captcha; fields from, challenge, sid, username, password, ocr) whose
ocr field carries a XEP-0221 media element naming, by cid, XEP-0231 data (an image) in the
same query, its cid the SHA-1 of the data. slixmpp cannot read the image: the test submits a
wrong answer, checks it is refused and that no account was made, and stops.

Exits 0 on success, 1 on failure (with a reason). --debug shows slixmpp's stanza log.

    slixmpp_register.py --host 127.0.0.1 --starttls-port 5222 --ca data/cert.pem \
        --domain localhost [--captcha]
"""

import argparse
import asyncio
import copy
import hashlib
import logging
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins.xep_0077 import Register
from slixmpp.plugins.xep_0231.stanza import BitsOfBinary
from slixmpp.stanza import StreamFeatures
from slixmpp.xmlstream import register_stanza_plugin

TIMEOUT = 20
PASSWORD = "correct horse battery staple 42"
NEW_PASSWORD = "tr0ubadour and three more horses"
DATA_FORMS = "jabber:x:data"
CAPTCHA_FIELDS = ("from", "challenge", "sid", "username", "password", "ocr")

# XEP-0231 data sits in the registration query beside the CAPTCHA form (XEP-0158);
# slixmpp's xep_0231 plugin registers it on iq, message and presence only.
register_stanza_plugin(Register, BitsOfBinary)


class Failure(Exception):
    pass


# Every client of the run, kept referenced: slixmpp leaves tasks pending on a closed stream,
# which asyncio reports as "destroyed but pending" when the client is collected mid-run;
# asyncio.run cancels them cleanly at the end instead.
CLIENTS = []


def check(ok, why):
    if not ok:
        raise Failure(why)


def error_of(e):
    """The defined condition (and text) of an IqError, for messages."""
    err = e.iq["error"]
    return f"{err['type']}/{err['condition']}" + (f" ({err['text']})" if err["text"] else "")


class Client(slixmpp.ClientXMPP):
    """One stream to the server, over STARTTLS verified against the CA file.

    ``register`` is None (log in only), ``"form"`` (submit the data form), ``"legacy"``
    (submit the legacy fields) or ``"fetch"`` (only fetch the form: no SASL is attempted).
    ``answer`` fills the CAPTCHA's ocr field when submitting a CAPTCHA form."""

    def __init__(self, jid, password, ca, register=None, answer=None):
        super().__init__(jid, password)
        CLIENTS.append(self)
        self.ca_certs = ca
        self.enable_plaintext = False
        self.enable_starttls = True
        self.enable_direct_tls = False
        self.how = register
        self.answer = answer
        self.online = asyncio.get_event_loop().create_future()
        self.form = None  # the registration form (an Iq) the server sent
        self.registered = None  # None: not tried; True; or the IqError of the submission
        self.feature_sets = []  # the children of each <stream:features>, in order
        self.stream_errors = []
        self.end_reason = None
        if register is not None:
            for plugin in ("xep_0004", "xep_0066", "xep_0077", "xep_0221", "xep_0231"):
                self.register_plugin(plugin)
            self.add_event_handler("register", self.on_register)
            if register == "fetch":
                # Without this slixmpp would go on to SASL with an account that does not exist.
                self.unregister_feature("mechanisms", self.plugin["feature_mechanisms"].order)
                self.add_event_handler("stream_negotiated", self.on_negotiated)
        else:
            self.register_plugin("xep_0077")  # for change_password and cancel_registration
        self.add_filter("in", self.on_incoming)
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("stream_error", self.on_stream_error)
        self.add_event_handler("disconnected", self.on_disconnected)

    def on_incoming(self, stanza):
        if isinstance(stanza, StreamFeatures):
            self.feature_sets.append({child.tag for child in stanza.xml})
        return stanza

    async def on_register(self, iq):
        self.form = iq
        if self.how == "fetch":
            return
        reg = self.Iq()
        reg["type"] = "set"
        if self.how == "legacy":
            reg["register"]["username"] = self.boundjid.user
            reg["register"]["password"] = self.password
        else:
            form = iq["register"]["form"]
            submit = copy.copy(form)
            submit.reply()  # type submit, labels and options dropped
            # Instructions are for the user, not sent back (XEP-0004); slixmpp's
            # del_instructions misses them (its findall lacks the namespace).
            for inst in submit.xml.findall(f"{{{DATA_FORMS}}}instructions"):
                submit.xml.remove(inst)
            values = {"username": self.boundjid.user, "password": self.password}
            if "ocr" in form.get_fields():
                values["ocr"] = self.answer or ""
            unknown = [var for var, f in form.get_fields().items()
                       if f["required"] and var not in values and f["value"] in (None, "")]
            if unknown:
                self.registered = Failure(f"the form requires fields this test cannot fill: "
                                          f"{unknown}")
                self._stop_before_sasl()
                return
            submit.set_values(values)
            if "ocr" in submit.get_fields():
                del submit.get_fields()["ocr"]["media"]  # the answer is the value alone
            reg["register"].append(submit)
        try:
            await reg.send(timeout=TIMEOUT)
            self.registered = True
        except (IqError, IqTimeout) as e:
            self.registered = e
            self._stop_before_sasl()

    def _stop_before_sasl(self):
        # The registration failed: slixmpp would try to log in next; don't.
        self.unregister_feature("mechanisms", self.plugin["feature_mechanisms"].order)
        if not self.online.done():
            self.online.set_result(False)

    def on_negotiated(self, _event):
        if not self.online.done():
            self.online.set_result(False)

    async def on_start(self, _event):
        if not self.online.done():
            self.online.set_result(True)

    def on_failed_auth(self, stanza):
        if not self.online.done():
            self.online.set_exception(Failure(f"SASL failure {stanza['condition']}"))

    def on_stream_error(self, error):
        self.stream_errors.append(error["condition"])
        if not self.online.done():
            self.online.set_exception(Failure(f"stream error {error['condition']}"))

    def on_disconnected(self, reason):
        self.end_reason = reason
        if not self.online.done():
            self.online.set_exception(Failure(f"disconnected before a session: {reason}"))


async def session(host, port, jid, password, ca, what, **kw):
    """Connects and waits until the stream is ready (logged in, or the form fetched)."""
    c = Client(jid, password, ca, **kw)
    c.connect(host, port)
    try:
        await asyncio.wait_for(asyncio.shield(c.online), TIMEOUT)
    except asyncio.TimeoutError:
        c.abort()
        raise Failure(f"{what}: nothing within {TIMEOUT}s") from None
    except Failure as e:
        await close(c)
        if kw.get("register") and c.form is None:
            raise Failure(f"{what}: the register feature was not used (features seen: "
                          f"{c.feature_sets}), then: {e}") from None
        raise Failure(f"{what}: {e}") from None
    return c


async def until(predicate, what):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not predicate():
        if loop.time() > deadline:
            raise Failure(f"timed out after {TIMEOUT}s waiting for {what}")
        await asyncio.sleep(0.05)


async def close(c):
    if c.end_reason is None:
        await asyncio.wait_for(c.disconnect(wait=5), TIMEOUT)


async def login_fails(host, port, jid, password, ca, what):
    """Checks that a login is refused (SASL failure); returns the condition."""
    try:
        c = await session(host, port, jid, password, ca, what)
    except Failure as e:
        check("SASL failure" in str(e), f"{what}: expected a SASL failure, got: {e}")
        return str(e).rsplit(" ", 1)[-1]
    await close(c)
    raise Failure(f"{what}: the login succeeded (bound {c.boundjid})")


async def register(host, port, jid, password, ca, how, what, answer=None):
    """Registers in band; returns the client, logged in on the same stream."""
    c = await session(host, port, jid, password, ca, what, register=how, answer=answer)
    if c.registered is not True:
        await close(c)
        detail = error_of(c.registered) if isinstance(c.registered, IqError) else c.registered
        raise Failure(f"{what}: registration refused: {detail}")
    return c


async def register_fails(host, port, jid, password, ca, how, what, answer=None):
    """Checks that a registration is refused with an error; returns the error."""
    c = Client(jid, password, ca, register=how, answer=answer)
    c.connect(host, port)
    try:
        ok = await asyncio.wait_for(asyncio.shield(c.online), TIMEOUT)
    except asyncio.TimeoutError:
        c.abort()
        raise Failure(f"{what}: nothing within {TIMEOUT}s") from None
    except Failure as e:
        await close(c)
        if c.registered is True:
            raise Failure(f"{what}: the registration was accepted (then: {e})") from None
        raise Failure(f"{what}: {e}") from None
    await close(c)
    check(c.form is not None, f"{what}: the register feature was not used (no form fetched)")
    check(not ok and c.registered is not True,
          f"{what}: the registration was accepted{' and logged in' if ok else ''}")
    check(isinstance(c.registered, IqError),
          f"{what}: expected an error reply, got: {c.registered!r}")
    return error_of(c.registered)


def check_features(c, what):
    sets = c.feature_sets
    check(len(sets) >= 2, f"{what}: fewer than two feature sets (before and after TLS): {sets}")
    before, after = sets[0], sets[1]
    check("{urn:ietf:params:xml:ns:xmpp-tls}starttls" in before,
          f"{what}: no starttls in the first features: {before}")
    reg = "{http://jabber.org/features/iq-register}register"
    check(reg not in before, f"{what}: the register feature is offered before TLS: {before}")
    check(reg in after, f"{what}: no register feature after TLS: {after}")


def value(field):
    """A single-valued field's value; slixmpp gives hidden fields' values as lists."""
    v = field["value"]
    if isinstance(v, list):
        return v[0] if len(v) == 1 else v
    return v


def forms_in(reg):
    return reg.xml.findall(f"{{{DATA_FORMS}}}x")


async def open_mode(a):
    host, port, ca, domain = a.host, a.starttls_port, a.ca, a.domain
    dora, eve = f"dora@{domain}", f"eve@{domain}"

    # --- 1 and 2: the form, and a registration by data form, then SASL on the same stream
    c = await register(host, port, dora, PASSWORD, ca, "form", "registering dora (data form)")
    check_features(c, "dora's registration stream")
    reg = c.form["register"]
    check(reg["instructions"], f"the form has no instructions: {reg}")
    check({"username", "password"} <= reg["fields"],
          f"the form lacks the legacy username/password fields: {reg['fields']}")
    check(not reg["registered"], "the form says <registered/> to a new client")
    check(len(forms_in(reg)) == 1, f"expected one data form, found {len(forms_in(reg))}")
    form = reg["form"]
    fields = form.get_fields()
    check(form["type"] == "form", f"data form type {form['type']!r}")
    check("FORM_TYPE" in fields and fields["FORM_TYPE"]["type"] == "hidden"
          and value(fields["FORM_TYPE"]) == "jabber:iq:register",
          f"FORM_TYPE is not hidden jabber:iq:register: {form}")
    check({"username", "password"} <= set(fields),
          f"the data form lacks username/password: {sorted(fields)}")
    check(str(c.boundjid.bare) == dora, f"bound {c.boundjid}, not {dora}")
    print("register feature offered after STARTTLS only; form: instructions, legacy fields "
          f"{sorted(reg['fields'])}, data form (type form, FORM_TYPE jabber:iq:register) "
          f"with fields {sorted(fields)}")
    print(f"dora registered by submitting the data form, then logged in on the same stream "
          f"as {c.boundjid}")
    await close(c)

    # --- 2: the legacy way (slixmpp's register_account.py example)
    c = await register(host, port, eve, PASSWORD, ca, "legacy", "registering eve (legacy)")
    check(str(c.boundjid.bare) == eve, f"bound {c.boundjid}, not {eve}")
    print(f"eve registered by the legacy fields, then logged in on the same stream as "
          f"{c.boundjid}")
    await close(c)

    # --- 3: refused registrations
    cond = await register_fails(host, port, eve, PASSWORD, ca, "form",
                                "registering eve again")
    check("conflict" in cond, f"registering an existing name: expected conflict, got {cond}")
    print(f"registering eve again: refused with {cond}")
    cond = await register_fails(host, port, f"frank@{domain}", "abc", ca, "form",
                                "registering with a weak password")
    print(f"registering frank with the password 'abc': refused with {cond}")
    cond = await login_fails(host, port, f"frank@{domain}", "abc", ca, "frank's login")
    print(f"frank's login is refused ({cond}): no account was made")

    # --- 4: a new stream with the registered password; the password change in band, addressed
    # to the server as in XEP-0077's example
    c = await session(host, port, dora, PASSWORD, ca, "dora's second login")
    print(f"dora logged in again on a new stream as {c.boundjid}")
    try:
        await c.plugin["xep_0077"].change_password(NEW_PASSWORD, jid=domain, timeout=TIMEOUT)
    except (IqError, IqTimeout) as e:
        raise Failure(f"password change refused: "
                      f"{error_of(e) if isinstance(e, IqError) else 'timeout'}") from None
    print(f"dora changed her password in band (iq to {domain}: result)")
    await close(c)
    c = await session(host, port, dora, NEW_PASSWORD, ca, "dora's login with the new password")
    print(f"dora logged in with the new password as {c.boundjid}")
    await close(c)
    cond = await login_fails(host, port, dora, PASSWORD, ca, "dora's login, old password")
    print(f"dora's old password is refused ({cond})")

    # --- 5: removal, with slixmpp's default addressing (no 'to': the account itself), as in
    # XEP-0077's example
    c = await session(host, port, dora, NEW_PASSWORD, ca, "dora's login before removal")
    try:
        await c.plugin["xep_0077"].cancel_registration(timeout=TIMEOUT)
    except (IqError, IqTimeout) as e:
        raise Failure(f"<remove/> refused: "
                      f"{error_of(e) if isinstance(e, IqError) else 'timeout'}") from None
    await until(lambda: c.end_reason is not None,
                f"the server to close the stream after <remove/> (stream errors so far: "
                f"{c.stream_errors})")
    check(c.stream_errors == ["not-authorized"],
          f"expected one not-authorized stream error after <remove/>, got {c.stream_errors}")
    print(f"dora removed her account (iq without 'to'): result, then stream error "
          f"not-authorized and the stream closed ({c.end_reason!r})")
    cond = await login_fails(host, port, dora, NEW_PASSWORD, ca, "dora's login after removal")
    print(f"dora's login after removal is refused ({cond})")
    cond = await register_fails(host, port, dora, PASSWORD, ca, "form",
                                "registering dora again after removal")
    print(f"registering the removed name dora again: refused with {cond}")


async def captcha_mode(a):
    host, port, ca, domain = a.host, a.starttls_port, a.ca, a.domain
    gus = f"gus@{domain}"
    c = await session(host, port, gus, PASSWORD, ca, "fetching the CAPTCHA form",
                      register="fetch")
    await close(c)
    check_features(c, "the CAPTCHA server's stream")
    check(c.form is not None, "no registration form was fetched")
    reg = c.form["register"]
    check(reg["instructions"], f"the form has no instructions: {reg}")
    check(len(forms_in(reg)) == 1, f"expected one data form, found {len(forms_in(reg))}")
    form = reg["form"]
    fields = form.get_fields()
    check(fields.get("FORM_TYPE") is not None
          and value(fields["FORM_TYPE"]) == "urn:xmpp:captcha",
          f"FORM_TYPE is not urn:xmpp:captcha: {form}")
    missing = [f for f in CAPTCHA_FIELDS if f not in fields]
    check(not missing, f"the CAPTCHA form lacks {missing}: has {sorted(fields)}")
    for var in ("from", "challenge", "sid"):
        check(value(fields[var]), f"the CAPTCHA field {var} has no value")
    ocr = fields["ocr"]
    uris = [(u["type"], u["value"]) for u in ocr["media"]["uris"]]
    check(uris, f"the ocr field has no XEP-0221 media URI: {ocr}")
    cids = [v[4:] for t, v in uris if v and v.startswith("cid:")]
    check(cids, f"no cid: URI in the ocr media element: {uris}")
    bobs = [BitsOfBinary(xml=x) for x in reg.xml.findall("{urn:xmpp:bob}data")]
    check(bobs, "no XEP-0231 <data xmlns='urn:xmpp:bob'> in the query")
    by_cid = {b["cid"]: b for b in bobs}
    check(cids[0] in by_cid, f"the media cid {cids[0]} names no data in the query "
          f"(data cids: {sorted(by_cid)})")
    bob = by_cid[cids[0]]
    try:
        image = bob["data"]
    except (ValueError, TypeError) as e:
        raise Failure(f"the XEP-0231 data is not base64: {e}") from None
    check(image, "the XEP-0231 data is empty")
    check(bob["type"].startswith("image/"), f"the XEP-0231 data type is {bob['type']!r}")
    magic = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}.get(bob["type"])
    check(magic is None or image.startswith(magic),
          f"the {bob['type']} data does not start with its magic bytes: {image[:8]!r}")
    algo, _, rest = cids[0].partition("+")
    digest = rest.split("@", 1)[0]
    check(algo != "sha1" or hashlib.sha1(image).hexdigest() == digest,
          f"the cid {cids[0]} is not the SHA-1 of the data (XEP-0231)")
    shown = [(t, v if len(v) <= 80 else v[:40] + "...") for t, v in uris]
    print(f"CAPTCHA form parsed by slixmpp: FORM_TYPE urn:xmpp:captcha, fields {sorted(fields)}; "
          f"ocr media URIs {shown}; XEP-0231 data {bob['type']}, {len(image)} bytes, "
          f"cid {cids[0]}")

    cond = await register_fails(host, port, gus, PASSWORD, ca, "form",
                                "submitting a wrong CAPTCHA answer", answer="wrong answer")
    print(f"a wrong CAPTCHA answer is refused with {cond}")
    await login_fails(host, port, gus, PASSWORD, ca, "gus's login after the wrong answer")
    print("no account was made (login refused); slixmpp cannot read the image: stopping here")


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--starttls-port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--domain", default="localhost")
    p.add_argument("--captcha", action="store_true",
                   help="the server asks for a CAPTCHA (default configuration)")
    p.add_argument("--debug", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if a.debug else logging.WARNING)
    await (captcha_mode(a) if a.captcha else open_mode(a))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # noqa: BLE001 - the reason is the test's output
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("1 passed, 0 failed")
