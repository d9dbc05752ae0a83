-- The instant-messaging core (PostgreSQL): rosters, offline messages, shared roster groups.
-- Keep in step with ../sqlite/0002_im.sql: same version, same tables, same columns.
--
-- Everything that belongs to an account has a foreign key to accounts with ON DELETE CASCADE,
-- so Storage::delete_account removes it in the same statement. Contact JIDs are stored as
-- xmpp-core's normalised bare JID string, so one contact is always one key.

-- The roster version of each account that has ever changed its roster (RFC 6121 §2.6). It only
-- goes up: every change to the account's items bumps it in the same transaction. A new row
-- starts at the current time in microseconds, so an account deleted and made again never hands
-- out a `ver` an old client may still have cached.
CREATE TABLE roster_versions (
    domain    TEXT    NOT NULL,
    localpart TEXT    NOT NULL,
    version   BIGINT  NOT NULL,
    PRIMARY KEY (domain, localpart),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

-- One row per roster item (RFC 6121 §2.1).
CREATE TABLE roster_items (
    domain       TEXT    NOT NULL,
    localpart    TEXT    NOT NULL,
    -- The contact's normalised bare JID.
    contact      TEXT    NOT NULL,
    -- NULL: no name.
    name         TEXT,
    subscription TEXT    NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
    -- "Pending Out": ask='subscribe'.
    ask          BOOLEAN NOT NULL,
    -- Pre-approved (RFC 6121 §3.4).
    approved     BOOLEAN NOT NULL,
    -- "Pending In": a subscription request from the contact awaits an answer.
    pending_in   BOOLEAN NOT NULL,
    PRIMARY KEY (domain, localpart, contact),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

-- Whose roster holds a given contact: presence broadcasts and probes ask this.
CREATE INDEX roster_items_by_contact ON roster_items (contact, subscription);

-- The groups of a roster item, in the order the client gave them (position 0, 1, ...).
CREATE TABLE roster_groups (
    domain    TEXT    NOT NULL,
    localpart TEXT    NOT NULL,
    contact   TEXT    NOT NULL,
    position  BIGINT  NOT NULL,
    name      TEXT    NOT NULL,
    PRIMARY KEY (domain, localpart, contact, position),
    FOREIGN KEY (domain, localpart, contact)
        REFERENCES roster_items (domain, localpart, contact) ON DELETE CASCADE
);

-- Messages stored for an account without an available resource (XEP-0160), delivered and
-- deleted at its next initial presence. An identity column: an id is never used twice, so
-- "delete up to id N" can never remove a message stored after N was read.
CREATE TABLE offline_messages (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain    TEXT    NOT NULL,
    localpart TEXT    NOT NULL,
    -- Microseconds since the Unix epoch (the `<delay/>` stamp).
    stored_at BIGINT  NOT NULL,
    -- The serialised stanza.
    stanza    TEXT    NOT NULL,
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

CREATE INDEX offline_messages_by_account ON offline_messages (domain, localpart, id);

-- Shared roster groups, defined by the administrator per domain. `everyone`: every account
-- of the domain is a member (true), or only the explicit members below (false).
CREATE TABLE shared_groups (
    domain       TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    -- The roster group the members appear in.
    display_name TEXT    NOT NULL,
    everyone     BOOLEAN NOT NULL,
    PRIMARY KEY (domain, name)
);

-- Explicit members of a shared group: any local account, of any domain.
CREATE TABLE shared_group_members (
    domain           TEXT NOT NULL,
    name             TEXT NOT NULL,
    member_domain    TEXT NOT NULL,
    member_localpart TEXT NOT NULL,
    PRIMARY KEY (domain, name, member_domain, member_localpart),
    FOREIGN KEY (domain, name) REFERENCES shared_groups (domain, name) ON DELETE CASCADE,
    FOREIGN KEY (member_domain, member_localpart)
        REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

-- Deleting an account finds its memberships through this index.
CREATE INDEX shared_group_members_by_member
    ON shared_group_members (member_domain, member_localpart);
