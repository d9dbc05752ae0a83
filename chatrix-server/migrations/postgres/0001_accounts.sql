-- Accounts and their SCRAM credentials (PostgreSQL).
-- Keep in step with ../sqlite/0001_accounts.sql: same version, same tables, same columns.
--
-- An account is (domain, localpart), both normalised by xmpp-core's Jid (PRECIS). Later
-- migrations add what hangs off an account (roster, offline messages, archive, PEP) with a
-- foreign key to accounts and ON DELETE CASCADE, and extend Storage::delete_account. An account
-- class column (e.g. for quotas or admin accounts) will be added here in a later migration.

CREATE TABLE accounts (
    domain     TEXT   NOT NULL,
    localpart  TEXT   NOT NULL,
    -- Seconds since the Unix epoch.
    created_at BIGINT NOT NULL,
    PRIMARY KEY (domain, localpart)
);

-- One row per account and hash ('SHA-1', 'SHA-256', 'SHA-512'): RFC 5802 §5 stored
-- credentials. No password, and nothing that logs a user in by itself, is ever stored.
CREATE TABLE credentials (
    domain     TEXT   NOT NULL,
    localpart  TEXT   NOT NULL,
    hash       TEXT   NOT NULL,
    salt       BYTEA  NOT NULL,
    iterations BIGINT NOT NULL,
    stored_key BYTEA  NOT NULL,
    server_key BYTEA  NOT NULL,
    -- Seconds since the Unix epoch of the last password change.
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (domain, localpart, hash),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
