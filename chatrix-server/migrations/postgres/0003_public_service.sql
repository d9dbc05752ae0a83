-- Accounts for a public service (PostgreSQL): account classes, where an account was registered
-- from, tombstones of deleted names, bans of addresses after failed logins.
-- Keep in step with ../sqlite/0003_public_service.sql: same version, same tables, same columns.

-- The account's class (quotas such as the offline-message limit are set per class in the
-- configuration). NULL: the configured default class, so existing accounts and accounts made
-- before a class was configured need no rewrite, and changing the default moves them all.
ALTER TABLE accounts ADD COLUMN class TEXT NULL;

-- The address an account was registered from (in-band or on the web), in canonical text form
-- (an IPv4-mapped IPv6 address as the IPv4 one), so the server can limit how many accounts one
-- address registers. NULL for accounts made by the administrator (the admin CLI).
ALTER TABLE accounts ADD COLUMN registered_ip TEXT NULL;

-- Counting the accounts of one address must not scan every account; admin-made accounts
-- (NULL) are left out of the index.
CREATE INDEX accounts_by_registered_ip ON accounts (registered_ip)
    WHERE registered_ip IS NOT NULL;

-- A deleted account's name cannot be registered again before `until`: someone else taking
-- it at once would receive messages and subscriptions meant for the previous owner. No
-- foreign key to accounts: the row outlives the account by design. Registration and deletion
-- both write this row before they touch accounts, so one waits for the other (see
-- Storage::register_account).
CREATE TABLE tombstones (
    domain    TEXT    NOT NULL,
    localpart TEXT    NOT NULL,
    -- Seconds since the Unix epoch.
    until     BIGINT  NOT NULL,
    PRIMARY KEY (domain, localpart)
);

-- Addresses refused after too many failed logins. In the database rather than in memory: the
-- admin CLI, another process, lists and lifts them while the server runs, and a restart does
-- not lift them. `ip` is the canonical text form, so one host is one key.
CREATE TABLE bans (
    ip         TEXT    PRIMARY KEY,
    -- Seconds since the Unix epoch: the ban ends then.
    until      BIGINT  NOT NULL,
    reason     TEXT    NOT NULL,
    -- Seconds since the Unix epoch.
    created_at BIGINT  NOT NULL
);
