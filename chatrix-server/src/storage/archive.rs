//! Message archives (XEP-0313) and their preferences, on both backends: xmpp-mam's
//! [`ArchiveStore`] for [`Storage`].
//!
//! Tables (`0004_archive.sql`): `archive` holds one row per message in one owner's archive,
//! with a global sequence `seq` that is the archive order; `archive_prefs` and
//! `archive_prefs_jids` hold the preferences (the default policy, and the `always`/`never`
//! lists in the client's order).
//!
//! A fetch is keyset paging. The ids it names (the RSM cursor, `after-id`, `before-id`, the
//! `ids` list) are first resolved to their `seq` in one statement on the unique index on
//! `(domain, localpart, id)`; one of them missing is [`Fetched::UnknownId`]. Then one
//! statement reads `seq > lower AND seq < upper ORDER BY seq LIMIT n` (descending for a
//! backwards cursor) on the `(domain, localpart, seq)` or `(domain, localpart, with_bare, seq)`
//! index, so a page costs the same at the start and the end of a large archive. That statement
//! is assembled from fixed fragments according to which filters are set (every value is
//! bound, never spliced), so neither backend plans for a filter that is absent.
//!
//! Archive times never decrease along `seq`: an append whose time is earlier than the owner's
//! newest message (the server's clock stepped back) is stored with that message's time. The
//! store's contract says times follow archive order; this makes it so, and lets a `start` or
//! `end` filter become a `seq` range found on the `(domain, localpart, ts, seq)` index, so a
//! page filtered by time costs the same wherever the time falls in the archive.
//!
//! An append is one statement, so one round trip and one commit for a whole group of
//! messages (the archive writer hands over groups). On PostgreSQL it locks its owners'
//! `accounts` rows first (`FOR NO KEY UPDATE`, sorted, so that two appends never wait for each
//! other in a cycle), in the same statement, and inserts nothing when one of them is missing;
//! on SQLite the statement takes the database write lock first, on a connection kept for
//! archive appends. Either way it holds the lock before it draws a `seq`: within one archive,
//! a larger `seq` is then always committed later, and a client paging forwards from the last
//! id it saw never misses a message committed after its query. (On SQLite an append of more
//! than [`ROWS_PER_INSERT`] rows is a transaction of several statements.) What made an append
//! fail (which id, which missing account) is looked up only after it failed.
//!
//! Stanzas are stored as xmpp-core serialises them (namespace declared, so a row parses on its
//! own) and parsed back with the limits for its own output.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::time::SystemTime;

use xmpp_core::xml::{Limits, parse_element};
use xmpp_core::{BareJid, Element, Jid};
use xmpp_mam::{
    ArchiveStore, ArchivedMessage, Bounds, Cursor, DefaultPolicy, Fetched, Filter, NewEntry, Prefs,
};

use super::roster::owner_account;
use super::unix_time::{self, micros, micros_ceil};
use super::{AccountJid, Storage, StorageError, dispatch};

/// The most ids an archive query's `ids` filter may name (each is a bound parameter);
/// [`ArchiveStore::fetch`] refuses more with [`StorageError::InvalidArchiveQuery`].
pub const MAX_ARCHIVE_IDS: usize = xmpp_mam::query::MAX_IDS;

/// xmpp-mam's archive logic runs on the server's storage directly. An owner without a
/// localpart is [`StorageError::NotAnAccount`]; appending to, or setting the preferences of, an
/// account that does not exist is [`StorageError::NotFound`]; an id already in the owner's
/// archive (or twice in one append) is [`StorageError::DuplicateArchiveId`], and then nothing
/// of that append is stored. A message appended with a time earlier than the owner's newest
/// message is stored (and returned) with that message's time, to the microsecond.
impl ArchiveStore for Storage {
    type Error = StorageError;

    async fn append(&self, entries: &[NewEntry<'_>]) -> Result<(), StorageError> {
        let mut rows = entries
            .iter()
            .map(NewRow::of)
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(());
        }
        if let Some(row) = repeated_id(&rows) {
            return Err(StorageError::DuplicateArchiveId {
                owner: row.owner.clone(),
                id: row.id.to_owned(),
            });
        }
        keep_times_in_order(&mut rows);
        dispatch!(self.archive_append(&rows))
    }

    async fn fetch(
        &self,
        owner: &BareJid,
        filter: &Filter,
        cursor: &Cursor,
        limit: usize,
    ) -> Result<Fetched, StorageError> {
        let owner = owner_account(owner)?;
        if filter.ids.len() > MAX_ARCHIVE_IDS {
            return Err(StorageError::InvalidArchiveQuery(
                "more ids than MAX_ARCHIVE_IDS",
            ));
        }
        dispatch!(self.archive_fetch(&owner, filter, cursor, limit))
    }

    async fn bounds(&self, owner: &BareJid) -> Result<Option<Bounds>, StorageError> {
        let owner = owner_account(owner)?;
        dispatch!(self.archive_bounds(&owner))
    }

    async fn prefs(&self, owner: &BareJid) -> Result<Option<Prefs>, StorageError> {
        let owner = owner_account(owner)?;
        dispatch!(self.archive_prefs(&owner))
    }

    async fn set_prefs(&self, owner: &BareJid, prefs: &Prefs) -> Result<(), StorageError> {
        let owner = owner_account(owner)?;
        dispatch!(self.set_archive_prefs(&owner, prefs))
    }

    async fn remove_older_than(&self, before: SystemTime) -> Result<u64, StorageError> {
        dispatch!(self.archive_remove_older_than(micros_ceil(before)))
    }

    async fn trim(&self, owner: &BareJid, keep: u64) -> Result<u64, StorageError> {
        let owner = owner_account(owner)?;
        dispatch!(self.archive_trim(&owner, i64::try_from(keep).unwrap_or(i64::MAX)))
    }

    /// Sorted (as `BareJid`s sort).
    async fn owners_over(&self, keep: u64) -> Result<Vec<BareJid>, StorageError> {
        let mut owners =
            dispatch!(self.archive_owners_over(i64::try_from(keep).unwrap_or(i64::MAX)))?;
        owners.sort();
        Ok(owners)
    }
}

/// One entry as its columns.
struct NewRow<'a> {
    owner: AccountJid,
    id: &'a str,
    with_bare: &'a str,
    with_resource: Option<&'a str>,
    origin_id: Option<&'a str>,
    ts: i64,
    stanza: String,
}

impl<'a> NewRow<'a> {
    fn of(entry: &NewEntry<'a>) -> Result<Self, StorageError> {
        Ok(Self {
            owner: owner_account(entry.owner)?,
            id: entry.id,
            with_bare: entry.with.bare_str(),
            with_resource: entry.with.resource(),
            origin_id: entry.origin_id,
            ts: micros(entry.timestamp),
            stanza: stanza_column(entry.stanza),
        })
    }
}

/// The most rows one SQLite `INSERT` writes (8 bound values each: far below SQLite's limit on
/// parameters). Each row count is a statement text of its own, prepared once on the archive
/// connection and kept in its statement cache; a larger append takes several statements in one
/// transaction.
pub(super) const ROWS_PER_INSERT: usize = 64;

/// The owners of `rows`, each once, in the order their account rows are locked: by domain,
/// then localpart, compared as bytes (PostgreSQL sorts them `COLLATE "C"` the same way), so
/// that two appends naming the same owners never wait for each other in a cycle, even when
/// their locks take more than one statement.
fn owners_in_lock_order<'r>(rows: &'r [NewRow<'_>]) -> Vec<&'r AccountJid> {
    let mut owners: Vec<&AccountJid> = rows.iter().map(|r| &r.owner).collect();
    owners.sort_by(|a, b| (a.domain(), a.localpart()).cmp(&(b.domain(), b.localpart())));
    owners.dedup();
    owners
}

/// One column of `rows`, as an array to bind.
fn column<'r, 'a: 'r, T>(rows: &'r [NewRow<'a>], f: fn(&'r NewRow<'a>) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// The first row whose id an earlier row of the same append already gives its owner.
fn repeated_id<'r, 'a>(rows: &'r [NewRow<'a>]) -> Option<&'r NewRow<'a>> {
    let mut seen = HashSet::with_capacity(rows.len());
    rows.iter().find(|r| !seen.insert((&r.owner, r.id)))
}

/// Times never decrease along one owner's rows of an append. The `INSERT` compares each row
/// with the archive's newest message as it was before the statement, so it cannot see the rows
/// of its own statement: they must already be in order among themselves.
fn keep_times_in_order(rows: &mut [NewRow<'_>]) {
    // A group commit holds up to 512 rows of as many owners: one lookup per row, not a scan.
    let times: Vec<i64> = {
        let mut newest: HashMap<&AccountJid, i64> = HashMap::with_capacity(rows.len());
        rows.iter()
            .map(|row| {
                let ts = newest.entry(&row.owner).or_insert(row.ts);
                *ts = (*ts).max(row.ts);
                *ts
            })
            .collect()
    };
    for (row, ts) in rows.iter_mut().zip(times) {
        row.ts = ts;
    }
}

/// The `stanza` column of a message: xmpp-core's serialisation, which declares the element's
/// namespace so the row parses on its own (and is UTF-8, so nothing is lost).
fn stanza_column(stanza: &Element) -> String {
    String::from_utf8_lossy(&stanza.to_bytes()).into_owned()
}

/// A stored message back as the archive's type.
fn message_from_columns(
    owner: &AccountJid,
    id: String,
    with_bare: &str,
    with_resource: Option<&str>,
    ts: i64,
    stanza: &str,
) -> Result<ArchivedMessage, StorageError> {
    let corrupt =
        |what: String| StorageError::Corrupt(format!("archived message {id} of {owner}: {what}"));
    let with = match with_resource {
        None => Jid::new(with_bare),
        Some(resource) => Jid::new(&format!("{with_bare}/{resource}")),
    }
    .map_err(|e| corrupt(format!("with: {e}")))?;
    let timestamp = unix_time::from_micros(ts).ok_or_else(|| corrupt(format!("time {ts}")))?;
    let stanza = parse_element(stanza.as_bytes(), &Limits::default().for_own_output())
        .map_err(|e| corrupt(format!("stanza: {e}")))?;
    Ok(ArchivedMessage {
        id,
        with,
        timestamp,
        stanza,
    })
}

/// The ids a fetch must find in the archive before it can run: the cursor's and the filter's
/// `after-id`/`before-id` and `ids`.
struct Anchors<'a> {
    after: Vec<&'a str>,
    before: Vec<&'a str>,
    listed: &'a [String],
}

impl<'a> Anchors<'a> {
    fn of(filter: &'a Filter, cursor: &'a Cursor) -> Self {
        let mut after: Vec<&str> = filter.after_id.as_deref().into_iter().collect();
        let mut before: Vec<&str> = filter.before_id.as_deref().into_iter().collect();
        match cursor {
            Cursor::After(id) => after.push(id),
            Cursor::Before(id) => before.push(id),
            Cursor::First | Cursor::Last => {}
        }
        Self {
            after,
            before,
            listed: &filter.ids,
        }
    }

    fn ids(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.after
            .iter()
            .chain(&self.before)
            .copied()
            .chain(self.listed.iter().map(String::as_str))
    }

    /// The statement that resolves the ids to their `seq`; `None` when there is none.
    fn resolve_statement(&self, owner: &'a AccountJid) -> Option<Statement<'a>> {
        if self.after.is_empty() && self.before.is_empty() && self.listed.is_empty() {
            return None;
        }
        let mut s = Statement::owned_by(
            "SELECT id, seq FROM archive WHERE domain = $1 AND localpart = $2",
            owner,
        );
        s.push_in("id", self.ids());
        Some(s)
    }

    /// The exclusive `seq` range the ids give, from their resolved `seq`s; `None` when one of
    /// them (including one of `ids`) is not in the archive.
    fn range(&self, seqs: &BTreeMap<String, i64>) -> Option<SeqRange> {
        if !self.listed.iter().all(|id| seqs.contains_key(id)) {
            return None;
        }
        let seq = |id: &&str| seqs.get(*id).copied();
        let after = self.after.iter().map(seq).collect::<Option<Vec<_>>>()?;
        let before = self.before.iter().map(seq).collect::<Option<Vec<_>>>()?;
        Some(SeqRange {
            above: after.into_iter().max(),
            below: before.into_iter().min(),
        })
    }
}

/// `seq > above AND seq < below`, each bound when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeqRange {
    above: Option<i64>,
    below: Option<i64>,
}

/// A value bound to a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value<'a> {
    Text(&'a str),
    Int(i64),
}

/// A statement assembled at run time: fixed fragments with `$N` placeholders, and the values
/// for them in order. Nothing a peer sends is ever part of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement<'a> {
    sql: String,
    values: Vec<Value<'a>>,
}

impl<'a> Statement<'a> {
    /// `sql` must use `$1` for the owner's domain and `$2` for its localpart.
    fn owned_by(sql: &str, owner: &'a AccountJid) -> Self {
        Self {
            sql: sql.to_owned(),
            values: vec![Value::Text(owner.domain()), Value::Text(owner.localpart())],
        }
    }

    /// Appends SQL text (writing to a `String` cannot fail).
    fn push_sql(&mut self, text: std::fmt::Arguments<'_>) {
        let _ = self.sql.write_fmt(text);
    }

    /// The placeholder for a new value.
    fn placeholder(&mut self, value: Value<'a>) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Appends ` AND {column} {op} $N`.
    fn push_condition(&mut self, column: &str, op: &str, value: Value<'a>) {
        let p = self.placeholder(value);
        self.push_sql(format_args!(" AND {column} {op} {p}"));
    }

    /// Appends ` AND {column} IN ($N, ...)`; `values` must not be empty.
    fn push_in(&mut self, column: &str, values: impl Iterator<Item = &'a str>) {
        let placeholders: Vec<String> = values.map(|v| self.placeholder(Value::Text(v))).collect();
        self.push_sql(format_args!(
            " AND {column} IN ({})",
            placeholders.join(", ")
        ));
    }
}

/// The page statement of a fetch: the owner's messages that match `filter`, within `range`,
/// in the cursor's direction, at most `limit`.
fn page_statement<'a>(
    owner: &'a AccountJid,
    filter: &'a Filter,
    range: SeqRange,
    backwards: bool,
    limit: usize,
) -> Statement<'a> {
    let mut s = Statement::owned_by(
        "SELECT id, with_bare, with_resource, ts, stanza FROM archive \
         WHERE domain = $1 AND localpart = $2",
        owner,
    );
    if let Some(with) = &filter.with {
        // A domain JID is a bare JID here: `with_bare` equal to the domain.
        s.push_condition("with_bare", "=", Value::Text(with.bare_str()));
        if let Some(resource) = with.resource() {
            s.push_condition("with_resource", "=", Value::Text(resource));
        }
    }
    // Times become `seq` bounds: archive times never decrease along `seq` (see `sql::insert`),
    // so the first message at or after `start` (the last at or before `end`), found at once on
    // the `(domain, localpart, ts, seq)` index, bounds the page's walk along `seq`. Without
    // them, a `start` near the end of a large archive would walk all of it. None found: the
    // comparison with NULL matches nothing, as it should. The time conditions stay, so what
    // matches is decided by the stored times alone.
    if let Some(start) = filter.start {
        let p = s.placeholder(Value::Int(micros_ceil(start)));
        s.push_sql(format_args!(
            " AND seq >= (SELECT seq FROM archive WHERE domain = $1 AND localpart = $2 \
             AND ts >= {p} ORDER BY ts ASC, seq ASC LIMIT 1) AND ts >= {p}"
        ));
    }
    if let Some(end) = filter.end {
        let p = s.placeholder(Value::Int(micros(end)));
        s.push_sql(format_args!(
            " AND seq <= (SELECT seq FROM archive WHERE domain = $1 AND localpart = $2 \
             AND ts <= {p} ORDER BY ts DESC, seq DESC LIMIT 1) AND ts <= {p}"
        ));
    }
    if let Some(above) = range.above {
        s.push_condition("seq", ">", Value::Int(above));
    }
    if let Some(below) = range.below {
        s.push_condition("seq", "<", Value::Int(below));
    }
    if !filter.ids.is_empty() {
        s.push_in("id", filter.ids.iter().map(String::as_str));
    }
    let order = if backwards { "DESC" } else { "ASC" };
    let limit = s.placeholder(Value::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
    s.push_sql(format_args!(" ORDER BY seq {order} LIMIT {limit}"));
    s
}

/// Folds the rows of the preferences query (the policy, then each list JID in order, or one
/// row with no JID) into preferences.
fn prefs_from_rows(
    owner: &AccountJid,
    rows: impl IntoIterator<Item = (String, Option<String>, Option<String>)>,
) -> Result<Option<Prefs>, StorageError> {
    let corrupt = |what: String| StorageError::Corrupt(format!("archive prefs of {owner}: {what}"));
    let mut prefs: Option<Prefs> = None;
    for (policy, list, jid) in rows {
        let prefs = match &mut prefs {
            Some(p) => p,
            None => prefs.insert(Prefs {
                default: DefaultPolicy::parse(&policy)
                    .ok_or_else(|| corrupt(format!("policy `{policy}`")))?,
                ..Prefs::default()
            }),
        };
        let (Some(list), Some(jid)) = (list, jid) else {
            continue;
        };
        let jid = Jid::new(&jid).map_err(|e| corrupt(format!("`{jid}`: {e}")))?;
        match list.as_str() {
            "always" => prefs.always.push(jid),
            "never" => prefs.never.push(jid),
            _ => return Err(corrupt(format!("list `{list}`"))),
        }
    }
    Ok(prefs)
}

/// The archive SQL both backends run, beside what [`page_statement`] and
/// [`Anchors::resolve_statement`] assemble.
mod sql {
    use std::fmt::Write as _;

    /// PostgreSQL: a whole append in one statement, so in one transaction of its own. `$1`,
    /// `$2`: the owners' domains and localparts, each owner once; `$3`..`$10`: the rows'
    /// columns as arrays, in append order; `$11`: the number of owners. The owners' account
    /// rows are locked first, in a fixed order (sorted as bytes), which serialises appends to
    /// one archive so that `seq` order is commit order (not a key update, so inserts that
    /// merely refer to an account do not wait). When an owner is missing nothing is inserted.
    /// The time stored for a row is its own, or the time of the owner's newest message when
    /// that is later (see [`insert`]). Rows appear in `seq` in the order they are listed.
    pub(super) const PG_APPEND: &str = "WITH locked AS ( \
             SELECT 1 FROM accounts \
             WHERE (domain, localpart) IN (SELECT * FROM unnest($1::text[], $2::text[])) \
             ORDER BY domain COLLATE \"C\", localpart COLLATE \"C\" \
             FOR NO KEY UPDATE) \
         INSERT INTO archive \
             (domain, localpart, id, with_bare, with_resource, origin_id, ts, stanza) \
         SELECT v.domain, v.localpart, v.id, v.with_bare, v.with_resource, v.origin_id, \
             GREATEST(v.ts, COALESCE((SELECT a.ts FROM archive a \
                 WHERE a.domain = v.domain AND a.localpart = v.localpart \
                 ORDER BY a.seq DESC LIMIT 1), v.ts)), \
             v.stanza \
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
                     $9::int8[], $10::text[]) \
             WITH ORDINALITY AS v(domain, localpart, id, with_bare, with_resource, origin_id, \
                                  ts, stanza, n) \
         WHERE (SELECT count(*) FROM locked) = $11 \
         ORDER BY v.n";

    /// Whether an account exists: what a failed append looks up.
    pub(super) const ACCOUNT: &str =
        "SELECT 1 AS one FROM accounts WHERE domain = $1 AND localpart = $2";
    /// Whether an archive holds an id: what a failed append looks up.
    pub(super) const HOLDS_ID: &str =
        "SELECT 1 AS one FROM archive WHERE domain = $1 AND localpart = $2 AND id = $3";

    /// The values of one row in [`insert`], in bind order.
    const INSERT_VALUES_PER_ROW: usize = 8;

    /// SQLite: inserts `rows` rows. The time stored for a row is its own, or the time of the
    /// owner's newest message when that is later: times never decrease along an archive's
    /// `seq`, even when the server's clock steps back, so `start`/`end` can be turned into
    /// `seq` bounds (see `page_statement`). Rows appear in `seq` in the order they are listed.
    pub(super) fn insert(rows: usize) -> String {
        let mut sql = String::from(
            "INSERT INTO archive \
             (domain, localpart, id, with_bare, with_resource, origin_id, ts, stanza) VALUES ",
        );
        for i in 0..rows {
            let p = |n: usize| INSERT_VALUES_PER_ROW * i + n;
            let (domain, localpart, ts) = (p(1), p(2), p(7));
            let _ = write!(
                sql,
                "{sep}(${domain}, ${localpart}, ${}, ${}, ${}, ${}, \
                 COALESCE((SELECT CASE WHEN a.ts > ${ts} THEN a.ts ELSE ${ts} END FROM archive a \
                 WHERE a.domain = ${domain} AND a.localpart = ${localpart} \
                 ORDER BY a.seq DESC LIMIT 1), ${ts}), ${})",
                p(3),
                p(4),
                p(5),
                p(6),
                p(8),
                sep = if i == 0 { "" } else { ", " },
            );
        }
        sql
    }
    /// The oldest and newest row, each found at one end of the owner's `seq` index.
    pub(super) const BOUNDS: &str = "SELECT id, ts FROM archive \
         WHERE seq = (SELECT seq FROM archive WHERE domain = $1 AND localpart = $2 \
                      ORDER BY seq ASC LIMIT 1) \
            OR seq = (SELECT seq FROM archive WHERE domain = $1 AND localpart = $2 \
                      ORDER BY seq DESC LIMIT 1) \
         ORDER BY seq";
    pub(super) const REMOVE_OLDER_THAN: &str = "DELETE FROM archive WHERE ts < $1";
    /// Everything up to the newest row beyond the `$3` newest (none when there are fewer).
    /// The OFFSET walks `keep` index entries: meant for a background task, not a request.
    pub(super) const TRIM: &str = "DELETE FROM archive \
         WHERE domain = $1 AND localpart = $2 \
         AND seq <= (SELECT seq FROM archive WHERE domain = $1 AND localpart = $2 \
                     ORDER BY seq DESC LIMIT 1 OFFSET $3)";
    pub(super) const OWNERS_OVER: &str = "SELECT domain, localpart FROM archive \
         GROUP BY domain, localpart HAVING COUNT(*) > $1";
    pub(super) const SELECT_PREFS: &str = "SELECT p.default_policy, j.list, j.jid \
         FROM archive_prefs p \
         LEFT JOIN archive_prefs_jids j ON j.domain = p.domain AND j.localpart = p.localpart \
         WHERE p.domain = $1 AND p.localpart = $2 \
         ORDER BY j.list, j.position";
    pub(super) const UPSERT_PREFS: &str = "INSERT INTO archive_prefs \
         (domain, localpart, default_policy) VALUES ($1, $2, $3) \
         ON CONFLICT (domain, localpart) DO UPDATE SET default_policy = excluded.default_policy";
    pub(super) const DELETE_PREFS_JIDS: &str =
        "DELETE FROM archive_prefs_jids WHERE domain = $1 AND localpart = $2";
    pub(super) const INSERT_PREFS_JID: &str = "INSERT INTO archive_prefs_jids \
         (domain, localpart, list, position, jid) VALUES ($1, $2, $3, $4, $5)";
}

/// Adds the archive methods both backends share to `$storage`, whose `pool()` is a pool of
/// `$db`. Appends differ (see `backends`).
macro_rules! archive_queries {
    ($storage:ty, $db:ty) => {
        impl $storage {
            /// What made an append of `rows` fail with `e`, looked up after the rollback: an
            /// id one of the archives already holds, or an owner that does not exist (the
            /// foreign key), named; anything else as it is.
            async fn archive_append_error(
                &self,
                rows: &[NewRow<'_>],
                e: StorageError,
            ) -> StorageError {
                let StorageError::Backend(db) = &e else {
                    return e;
                };
                if matches!(db, sqlx::Error::Database(d) if d.is_unique_violation()) {
                    for row in rows {
                        let held = sqlx::query(sql::HOLDS_ID)
                            .bind(row.owner.domain())
                            .bind(row.owner.localpart())
                            .bind(row.id)
                            .fetch_optional(self.pool())
                            .await;
                        if let Ok(Some(_)) = held {
                            return StorageError::DuplicateArchiveId {
                                owner: row.owner.clone(),
                                id: row.id.to_owned(),
                            };
                        }
                    }
                } else if is_foreign_key_violation(db) {
                    return self.archive_missing_owner(rows).await;
                }
                e
            }

            /// The first owner of `rows` whose account does not exist, as the error of an
            /// append that failed for want of one. (Should every owner exist by now, the
            /// account was deleted and made again meanwhile: the first owner is named.)
            async fn archive_missing_owner(&self, rows: &[NewRow<'_>]) -> StorageError {
                let owners = owners_in_lock_order(rows);
                for owner in &owners {
                    let found = sqlx::query(sql::ACCOUNT)
                        .bind(owner.domain())
                        .bind(owner.localpart())
                        .fetch_optional(self.pool())
                        .await;
                    match found {
                        Ok(None) => return StorageError::NotFound((*owner).clone()),
                        Ok(Some(_)) => {}
                        Err(e) => return StorageError::Backend(e),
                    }
                }
                match owners.first() {
                    Some(owner) => StorageError::NotFound((*owner).clone()),
                    None => StorageError::Corrupt("an append without rows failed".to_owned()),
                }
            }

            pub(super) async fn archive_fetch(
                &self,
                owner: &AccountJid,
                filter: &Filter,
                cursor: &Cursor,
                limit: usize,
            ) -> Result<Fetched, StorageError> {
                let anchors = Anchors::of(filter, cursor);
                let mut seqs = BTreeMap::new();
                if let Some(statement) = anchors.resolve_statement(owner) {
                    let rows = Self::archive_statement(&statement).fetch_all(self.pool()).await?;
                    for row in &rows {
                        seqs.insert(row.try_get::<String, _>("id")?, row.try_get("seq")?);
                    }
                }
                let Some(range) = anchors.range(&seqs) else {
                    return Ok(Fetched::UnknownId);
                };
                let backwards = matches!(cursor, Cursor::Last | Cursor::Before(_));
                let statement = page_statement(owner, filter, range, backwards, limit);
                let rows = Self::archive_statement(&statement).fetch_all(self.pool()).await?;
                rows.iter()
                    .map(|row| {
                        message_from_columns(
                            owner,
                            row.try_get("id")?,
                            row.try_get::<&str, _>("with_bare")?,
                            row.try_get::<Option<&str>, _>("with_resource")?,
                            row.try_get("ts")?,
                            row.try_get::<&str, _>("stanza")?,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Fetched::Messages)
            }

            pub(super) async fn archive_bounds(
                &self,
                owner: &AccountJid,
            ) -> Result<Option<Bounds>, StorageError> {
                let rows = sqlx::query(sql::BOUNDS)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .fetch_all(self.pool())
                    .await?;
                let end = |row: &<$db as sqlx::Database>::Row| {
                    let id: String = row.try_get("id")?;
                    let ts: i64 = row.try_get("ts")?;
                    let at = unix_time::from_micros(ts).ok_or_else(|| {
                        StorageError::Corrupt(format!(
                            "archived message {id} of {owner}: time {ts}"
                        ))
                    })?;
                    Ok::<_, StorageError>((id, at))
                };
                let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                    return Ok(None);
                };
                Ok(Some(Bounds {
                    first: end(first)?,
                    last: end(last)?,
                }))
            }

            pub(super) async fn archive_prefs(
                &self,
                owner: &AccountJid,
            ) -> Result<Option<Prefs>, StorageError> {
                let rows = sqlx::query(sql::SELECT_PREFS)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .fetch_all(self.pool())
                    .await?;
                let rows = rows
                    .iter()
                    .map(|row| {
                        Ok((
                            row.try_get("default_policy")?,
                            row.try_get("list")?,
                            row.try_get("jid")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                prefs_from_rows(owner, rows)
            }

            pub(super) async fn set_archive_prefs(
                &self,
                owner: &AccountJid,
                prefs: &Prefs,
            ) -> Result<(), StorageError> {
                let mut tx = self.pool().begin().await?;
                // First: a missing account fails before anything else, and the row lock (or
                // SQLite's write lock) serialises writers of these preferences.
                sqlx::query(sql::UPSERT_PREFS)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .bind(prefs.default.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        if is_foreign_key_violation(&e) {
                            StorageError::NotFound(owner.clone())
                        } else {
                            StorageError::Backend(e)
                        }
                    })?;
                sqlx::query(sql::DELETE_PREFS_JIDS)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .execute(&mut *tx)
                    .await?;
                for (list, jids) in [("always", &prefs.always), ("never", &prefs.never)] {
                    for (position, jid) in (0_i64..).zip(jids) {
                        sqlx::query(sql::INSERT_PREFS_JID)
                            .bind(owner.domain())
                            .bind(owner.localpart())
                            .bind(list)
                            .bind(position)
                            .bind(jid.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            pub(super) async fn archive_remove_older_than(
                &self,
                before: i64,
            ) -> Result<u64, StorageError> {
                Ok(sqlx::query(sql::REMOVE_OLDER_THAN)
                    .bind(before)
                    .execute(self.pool())
                    .await?
                    .rows_affected())
            }

            pub(super) async fn archive_trim(
                &self,
                owner: &AccountJid,
                keep: i64,
            ) -> Result<u64, StorageError> {
                Ok(sqlx::query(sql::TRIM)
                    .bind(owner.domain())
                    .bind(owner.localpart())
                    .bind(keep)
                    .execute(self.pool())
                    .await?
                    .rows_affected())
            }

            pub(super) async fn archive_owners_over(
                &self,
                keep: i64,
            ) -> Result<Vec<BareJid>, StorageError> {
                let rows = sqlx::query(sql::OWNERS_OVER)
                    .bind(keep)
                    .fetch_all(self.pool())
                    .await?;
                rows.iter()
                    .map(|row| {
                        let domain: String = row.try_get("domain")?;
                        let localpart: String = row.try_get("localpart")?;
                        AccountJid::from_parts(&localpart, &domain)
                            .map(BareJid::from)
                            .map_err(|e| {
                                StorageError::Corrupt(format!(
                                    "archive of `{localpart}@{domain}`: {e}"
                                ))
                            })
                    })
                    .collect()
            }

            /// An assembled statement with its values bound.
            pub(super) fn archive_statement<'s>(
                statement: &'s Statement<'_>,
            ) -> sqlx::query::Query<'s, $db, <$db as sqlx::Database>::Arguments> {
                // The text is fixed fragments and placeholders only (see `Statement`).
                let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.sql.as_str()));
                for value in &statement.values {
                    query = match *value {
                        Value::Text(s) => query.bind(s),
                        Value::Int(i) => query.bind(i),
                    };
                }
                query
            }
        }
    };
}

mod backends {
    use std::collections::BTreeMap;

    use sqlx::Row as _;
    use xmpp_core::BareJid;
    use xmpp_mam::{Bounds, Cursor, Fetched, Filter, Prefs};

    use super::super::{
        AccountJid, PostgresStorage, SqliteStorage, StorageError, is_foreign_key_violation,
        unix_time,
    };
    use super::{
        Anchors, NewRow, ROWS_PER_INSERT, Statement, Value, column, message_from_columns,
        owners_in_lock_order, page_statement, prefs_from_rows, sql,
    };

    archive_queries!(SqliteStorage, sqlx::Sqlite);
    archive_queries!(PostgresStorage, sqlx::Postgres);

    impl SqliteStorage {
        /// On the archive connection. One statement is its own transaction, and a writing
        /// statement takes the write lock when it starts, before it draws a `seq`; several
        /// run in a transaction that takes it first (IMMEDIATE), so that it never has to
        /// upgrade a read transaction.
        pub(super) async fn archive_append(&self, rows: &[NewRow<'_>]) -> Result<(), StorageError> {
            let pool = self.archive_pool();
            let written = if rows.len() <= ROWS_PER_INSERT {
                Self::archive_insert(rows).execute(pool).await.map(drop)
            } else {
                async {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    for chunk in rows.chunks(ROWS_PER_INSERT) {
                        Self::archive_insert(chunk).execute(&mut *tx).await?;
                    }
                    tx.commit().await
                }
                .await
            };
            match written {
                Ok(()) => Ok(()),
                Err(e) => Err(self.archive_append_error(rows, e.into()).await),
            }
        }

        /// The `INSERT` of `rows` (at most [`ROWS_PER_INSERT`]), its values bound.
        fn archive_insert<'q>(
            rows: &'q [NewRow<'_>],
        ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql::insert(rows.len())));
            for row in rows {
                query = query
                    .bind(row.owner.domain())
                    .bind(row.owner.localpart())
                    .bind(row.id)
                    .bind(row.with_bare)
                    .bind(row.with_resource)
                    .bind(row.origin_id)
                    .bind(row.ts)
                    .bind(row.stanza.as_str());
            }
            query
        }
    }

    impl PostgresStorage {
        /// One statement, whatever the number of rows (see [`sql::PG_APPEND`]).
        pub(super) async fn archive_append(&self, rows: &[NewRow<'_>]) -> Result<(), StorageError> {
            let owners = owners_in_lock_order(rows);
            let written = sqlx::query(sql::PG_APPEND)
                .bind(owners.iter().map(|o| o.domain()).collect::<Vec<_>>())
                .bind(owners.iter().map(|o| o.localpart()).collect::<Vec<_>>())
                .bind(column(rows, |r| r.owner.domain()))
                .bind(column(rows, |r| r.owner.localpart()))
                .bind(column(rows, |r| r.id))
                .bind(column(rows, |r| r.with_bare))
                .bind(column(rows, |r| r.with_resource))
                .bind(column(rows, |r| r.origin_id))
                .bind(column(rows, |r| r.ts))
                .bind(column(rows, |r| r.stanza.as_str()))
                .bind(i64::try_from(owners.len()).unwrap_or(i64::MAX))
                .execute(self.pool())
                .await;
            match written {
                Ok(done) if usize::try_from(done.rows_affected()) == Ok(rows.len()) => Ok(()),
                // The lock found fewer accounts than owners: nothing was inserted.
                Ok(_) => Err(self.archive_missing_owner(rows).await),
                Err(e) => Err(self.archive_append_error(rows, e.into()).await),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use sqlx::Row as _;

    use super::*;
    use crate::storage::{DatabaseUrl, SqliteStorage, StorageOptions};

    fn owner() -> AccountJid {
        AccountJid::parse("alice@example.org").unwrap()
    }

    #[test]
    fn a_page_statement_has_only_the_filters_given() {
        let owner = owner();
        let none = Filter::default();
        let all = SeqRange {
            above: None,
            below: None,
        };
        let s = page_statement(&owner, &none, all, false, 50);
        assert_eq!(
            s.sql,
            "SELECT id, with_bare, with_resource, ts, stanza FROM archive \
             WHERE domain = $1 AND localpart = $2 ORDER BY seq ASC LIMIT $3"
        );
        assert_eq!(
            s.values,
            [
                Value::Text("example.org"),
                Value::Text("alice"),
                Value::Int(50)
            ]
        );

        let filter = Filter {
            with: Some(Jid::new("bob@example.net/phone").unwrap()),
            start: Some(UNIX_EPOCH + Duration::from_nanos(1_500)),
            end: Some(UNIX_EPOCH + Duration::from_nanos(9_500)),
            ids: vec!["a".to_owned(), "b".to_owned()],
            ..Filter::default()
        };
        let range = SeqRange {
            above: Some(7),
            below: Some(70),
        };
        let s = page_statement(&owner, &filter, range, true, 10);
        assert_eq!(
            s.sql,
            "SELECT id, with_bare, with_resource, ts, stanza FROM archive \
             WHERE domain = $1 AND localpart = $2 AND with_bare = $3 AND with_resource = $4 \
             AND seq >= (SELECT seq FROM archive WHERE domain = $1 AND localpart = $2 \
             AND ts >= $5 ORDER BY ts ASC, seq ASC LIMIT 1) AND ts >= $5 \
             AND seq <= (SELECT seq FROM archive WHERE domain = $1 AND localpart = $2 \
             AND ts <= $6 ORDER BY ts DESC, seq DESC LIMIT 1) AND ts <= $6 \
             AND seq > $7 AND seq < $8 AND id IN ($9, $10) \
             ORDER BY seq DESC LIMIT $11"
        );
        assert_eq!(
            s.values[2..],
            [
                Value::Text("bob@example.net"),
                Value::Text("phone"),
                // Inclusive bounds on truncated microseconds: start rounds up, end down.
                Value::Int(2),
                Value::Int(9),
                Value::Int(7),
                Value::Int(70),
                Value::Text("a"),
                Value::Text("b"),
                Value::Int(10),
            ]
        );
    }

    fn row(owner: &str, id: &'static str, ts: i64) -> NewRow<'static> {
        NewRow {
            owner: AccountJid::parse(owner).unwrap(),
            id,
            with_bare: "peer@example.net",
            with_resource: None,
            origin_id: None,
            ts,
            stanza: String::new(),
        }
    }

    #[test]
    fn times_are_put_in_order_per_owner_and_repeated_ids_found() {
        let mut rows = [
            row("a@x.org", "1", 10),
            row("b@x.org", "1", 5),
            row("a@x.org", "2", 7),
            row("b@x.org", "2", 6),
            row("a@x.org", "3", 12),
            row("a@x.org", "4", 11),
        ];
        keep_times_in_order(&mut rows);
        let times: Vec<i64> = rows.iter().map(|r| r.ts).collect();
        assert_eq!(times, [10, 5, 10, 6, 12, 12]);
        assert!(repeated_id(&rows).is_none());
        let rows = [
            row("a@x.org", "1", 1),
            row("b@x.org", "1", 1),
            row("b@x.org", "1", 1),
        ];
        let repeated = repeated_id(&rows).unwrap();
        assert_eq!((repeated.owner.as_str(), repeated.id), ("b@x.org", "1"));
        let rows = [
            row("b@x.org", "2", 1),
            row("a@x.org", "1", 1),
            row("b@x.org", "1", 1),
        ];
        let owners: Vec<&str> = owners_in_lock_order(&rows)
            .iter()
            .map(|o| o.as_str())
            .collect();
        assert_eq!(owners, ["a@x.org", "b@x.org"]);
    }

    #[test]
    fn multi_row_statements_number_their_placeholders_per_row() {
        let insert = sql::insert(2);
        assert!(
            insert.contains(
                "VALUES ($1, $2, $3, $4, $5, $6, COALESCE((SELECT CASE WHEN a.ts > $7 THEN a.ts \
             ELSE $7 END FROM archive a WHERE a.domain = $1 AND a.localpart = $2 \
             ORDER BY a.seq DESC LIMIT 1), $7), $8), \
             ($9, $10, $11, $12, $13, $14, COALESCE((SELECT CASE WHEN a.ts > $15"
            ),
            "{insert}"
        );
        assert!(insert.ends_with("LIMIT 1), $15), $16)"), "{insert}");
    }

    #[test]
    fn anchors_give_the_narrowest_range_or_unknown() {
        let filter = Filter {
            after_id: Some("a".to_owned()),
            before_id: Some("d".to_owned()),
            ..Filter::default()
        };
        let seqs: BTreeMap<String, i64> = [("a", 1), ("b", 5), ("c", 9), ("d", 12)]
            .map(|(id, seq)| (id.to_owned(), seq))
            .into();
        let range = |cursor: Cursor| Anchors::of(&filter, &cursor).range(&seqs);
        let both = |above, below| {
            Some(SeqRange {
                above: Some(above),
                below: Some(below),
            })
        };
        assert_eq!(range(Cursor::First), both(1, 12));
        assert_eq!(range(Cursor::After("b".to_owned())), both(5, 12));
        assert_eq!(range(Cursor::Before("c".to_owned())), both(1, 9));
        // A cursor outside the filter's range narrows nothing.
        assert_eq!(range(Cursor::Before("d".to_owned())), both(1, 12));
        assert_eq!(range(Cursor::After("x".to_owned())), None);
        let owner = owner();
        let cursor = Cursor::Before("c".to_owned());
        let s = Anchors::of(&filter, &cursor)
            .resolve_statement(&owner)
            .unwrap();
        assert_eq!(
            s.sql,
            "SELECT id, seq FROM archive WHERE domain = $1 AND localpart = $2 \
             AND id IN ($3, $4, $5)"
        );
        // Every listed id must be known too, and is resolved with the others.
        let listed = Filter {
            ids: vec!["b".to_owned(), "x".to_owned()],
            ..Filter::default()
        };
        assert_eq!(Anchors::of(&listed, &Cursor::First).range(&seqs), None);
        let listed = Filter {
            ids: vec!["b".to_owned(), "c".to_owned()],
            ..Filter::default()
        };
        let cursor = Cursor::After("a".to_owned());
        let anchors = Anchors::of(&listed, &cursor);
        assert_eq!(
            anchors.range(&seqs),
            Some(SeqRange {
                above: Some(1),
                below: None
            })
        );
        assert_eq!(
            anchors.resolve_statement(&owner).unwrap().values[2..],
            [Value::Text("a"), Value::Text("b"), Value::Text("c")]
        );
        let none = Filter::default();
        assert!(
            Anchors::of(&none, &Cursor::Last)
                .resolve_statement(&owner)
                .is_none()
        );
    }

    #[test]
    fn prefs_rows_fold_in_order_and_corruption_is_an_error() {
        let owner = owner();
        let row = |p: &str, l: Option<&str>, j: Option<&str>| {
            (p.to_owned(), l.map(str::to_owned), j.map(str::to_owned))
        };
        let prefs = prefs_from_rows(
            &owner,
            [
                row("roster", Some("always"), Some("b@x.org")),
                row("roster", Some("always"), Some("a@x.org")),
                row("roster", Some("never"), Some("x.org")),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(prefs.default, DefaultPolicy::Roster);
        assert_eq!(
            prefs.always,
            [Jid::new("b@x.org").unwrap(), Jid::new("a@x.org").unwrap()]
        );
        assert_eq!(prefs.never, [Jid::new("x.org").unwrap()]);
        assert_eq!(
            prefs_from_rows(&owner, [row("never", None, None)]).unwrap(),
            Some(Prefs {
                default: DefaultPolicy::Never,
                ..Prefs::default()
            })
        );
        assert_eq!(prefs_from_rows(&owner, []).unwrap(), None);
        for bad in [
            row("sometimes", None, None),
            row("always", Some("maybe"), Some("a@x.org")),
            row("always", Some("never"), Some("@@")),
        ] {
            let e = prefs_from_rows(&owner, [bad]);
            assert!(matches!(e, Err(StorageError::Corrupt(_))), "{e:?}");
        }
    }

    /// Every page statement SQLite runs walks an index in archive order: no full scan and no
    /// sort, so a page costs the same wherever it is in the archive.
    #[tokio::test]
    async fn sqlite_pages_walk_an_index_without_sorting() {
        let storage = Storage::open(&DatabaseUrl::SqliteMemory, &StorageOptions::default())
            .await
            .unwrap();
        let Storage::Sqlite(sqlite) = &storage else {
            unreachable!("a SQLite URL")
        };
        let owner = owner();
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let filters = [
            Filter::default(),
            Filter {
                with: Some(Jid::new("bob@example.net").unwrap()),
                ..Filter::default()
            },
            Filter {
                with: Some(Jid::new("bob@example.net/phone").unwrap()),
                ..Filter::default()
            },
            Filter {
                with: Some(Jid::new("example.net").unwrap()),
                start: Some(t),
                end: Some(t),
                ..Filter::default()
            },
            Filter {
                start: Some(t),
                ..Filter::default()
            },
            Filter {
                with: Some(Jid::new("bob@example.net").unwrap()),
                end: Some(t),
                ..Filter::default()
            },
        ];
        let ranges = [
            SeqRange {
                above: None,
                below: None,
            },
            SeqRange {
                above: Some(10),
                below: Some(1_000),
            },
        ];
        for filter in &filters {
            for range in ranges {
                for backwards in [false, true] {
                    let mut s = page_statement(&owner, filter, range, backwards, 50);
                    s.sql.insert_str(0, "EXPLAIN QUERY PLAN ");
                    let plan: Vec<String> = SqliteStorage::archive_statement(&s)
                        .fetch_all(sqlite.pool())
                        .await
                        .unwrap()
                        .iter()
                        .map(|row| row.try_get("detail").unwrap())
                        .collect();
                    let plan = plan.join("; ");
                    assert!(
                        plan.contains("USING INDEX archive_by_owner")
                            || plan.contains("USING INDEX archive_by_with"),
                        "{filter:?} {range:?}: {plan}"
                    );
                    assert!(!plan.contains("TEMP B-TREE"), "{filter:?}: {plan}");
                    // A time becomes a `seq` bound found on the time index, not a filter
                    // applied to every row of the walk.
                    if filter.start.is_some() || filter.end.is_some() {
                        assert!(
                            plan.contains("USING COVERING INDEX archive_by_time")
                                && (plan.contains("seq>?") || plan.contains("seq<?")),
                            "{filter:?}: {plan}"
                        );
                    }
                }
            }
        }
        storage.close().await;
    }
}
