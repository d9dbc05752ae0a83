-- Message archives (XEP-0313), their preferences, and block lists (XEP-0191) (PostgreSQL).
-- Keep in step with ../sqlite/0004_archive.sql: same version, same tables, same columns.
--
-- Everything here belongs to an account: a foreign key to accounts (directly, or through
-- archive_prefs) with ON DELETE CASCADE, so Storage::delete_account removes it. JIDs are
-- stored as xmpp-core's normalised strings, so one address is always one key.

-- One row per message in one owner's archive. `seq` is the archive order: it only grows
-- (an identity column: never reused), and an append locks the owner's accounts row before it
-- draws one, so within one archive a larger `seq` was committed later and a client paging
-- forwards from its last id misses nothing. Pages are
-- read by keyset (`seq > $n ORDER BY seq LIMIT $m`) on the indexes below, never by OFFSET,
-- so a page costs the same at the start and at the end of a large archive.
CREATE TABLE archive (
    seq           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain        TEXT    NOT NULL,
    localpart     TEXT    NOT NULL,
    -- The XEP-0359 stanza-id the owner saw, also the RSM/MAM id.
    id            TEXT    NOT NULL,
    -- The other party: its bare JID, and its resource when the message was to or from a full
    -- JID. Separate, so that a bare `with` filter is an index range and a full one compares
    -- both.
    with_bare     TEXT    NOT NULL,
    with_resource TEXT    NULL,
    -- The sender's XEP-0359 origin-id, if it gave one.
    origin_id     TEXT    NULL,
    -- Microseconds since the Unix epoch: MAM's start/end filters need sub-second order.
    -- Never less than the time of the owner's previous message (see archive_by_time).
    ts            BIGINT  NOT NULL,
    -- The message, serialised with its namespace declared (xmpp-core's writer).
    stanza        TEXT    NOT NULL,
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

-- A page of one archive, and deleting an account's archive.
CREATE INDEX archive_by_owner ON archive (domain, localpart, seq);
-- A page of one archive filtered by a bare `with` (a full `with` narrows the same range).
CREATE INDEX archive_by_with ON archive (domain, localpart, with_bare, seq);
-- An id is unique in its archive; RSM cursors and after-id/before-id resolve through it.
CREATE UNIQUE INDEX archive_by_id ON archive (domain, localpart, id);
-- A `start` or `end` filter: the first (last) message of one archive at or after (before)
-- a time, found at once, bounds the page's walk along `seq` (times never decrease along
-- `seq`: an append earlier than the archive's newest message takes that message's time).
CREATE INDEX archive_by_time ON archive (domain, localpart, ts, seq);
-- Retention: removing every message older than a time, in every archive.
CREATE INDEX archive_by_ts ON archive (ts);

-- An owner's archiving preferences (XEP-0313 §5); no row: the server's default applies.
CREATE TABLE archive_prefs (
    domain         TEXT NOT NULL,
    localpart      TEXT NOT NULL,
    default_policy TEXT NOT NULL CHECK (default_policy IN ('always', 'never', 'roster')),
    PRIMARY KEY (domain, localpart),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

-- The JIDs of the preferences' <always/> and <never/> lists, in the order the client gave
-- them (position 0, 1, ... within each list). They go with the preferences row.
CREATE TABLE archive_prefs_jids (
    domain    TEXT    NOT NULL,
    localpart TEXT    NOT NULL,
    list      TEXT    NOT NULL CHECK (list IN ('always', 'never')),
    position  BIGINT  NOT NULL,
    jid       TEXT    NOT NULL,
    PRIMARY KEY (domain, localpart, list, position),
    FOREIGN KEY (domain, localpart)
        REFERENCES archive_prefs (domain, localpart) ON DELETE CASCADE
);

-- The JIDs an account blocks (XEP-0191), each once, in the order they were blocked (`seq`).
CREATE TABLE blocklist (
    seq       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain    TEXT    NOT NULL,
    localpart TEXT    NOT NULL,
    jid       TEXT    NOT NULL,
    UNIQUE (domain, localpart, jid),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
