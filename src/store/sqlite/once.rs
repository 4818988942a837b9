//! The one shape of every single-use record: authorization codes (D2), upstream OAuth state
//! (§3.15) and browser connect tickets (§3.14). [`consume_once`] finds the record by the hash
//! of its token, refuses it when it was used before or has expired (in that order), lets the
//! caller refuse it too, and stamps it as used, all in the caller's transaction, so a token
//! opens its record at most once.

use super::rows::{exec, query_opt};
use crate::crypto::hash_token;
use crate::secret::Secret;
use crate::store::{ConsumeOutcome, StoreError};
use rusqlite::{Connection, Row, params};
use std::convert::Infallible;

/// A table of single-use records, keyed by `hash` (the token's hash) with an `expires_at`
/// column and a time-of-use column that stays NULL until the record is used.
pub(super) trait SingleUse: Sized {
    const TABLE: &'static str;
    /// The columns [`SingleUse::from_row`] reads, in its order; they include `expires_at`.
    const COLUMNS: &'static str;
    /// The time-of-use column.
    const USED_AT: &'static str;
    /// More assignments made on use, as `", column = value"`, or `""`.
    const ALSO_ON_USE: &'static str = "";

    fn from_row(r: &Row<'_>) -> Result<Self, StoreError>;
}

/// What [`consume_once`] found.
pub(super) enum Once<T, R> {
    /// It was live and is now marked used.
    Consumed(T),
    /// It was live but the caller's check refused it; it stays unused.
    Refused(R),
    /// It was used before; the stored record (a reused code revokes what its first use made).
    Used(T),
    Expired,
    Missing,
}

/// Consumes the record of `T` whose token hashes to `hash`, unless `refuse` answers a reason
/// not to (the binding checks of a code exchange, which leave the code unused).
pub(super) fn consume_once<T: SingleUse, R>(
    c: &Connection,
    hash: &str,
    now: i64,
    refuse: impl FnOnce(&T) -> Option<R>,
) -> Result<Once<T, R>, StoreError> {
    let found = query_opt(
        c,
        &format!(
            "SELECT {}, {} FROM {} WHERE hash = ?1",
            T::COLUMNS,
            T::USED_AT,
            T::TABLE
        ),
        [hash],
        |r| {
            let used_at: Option<i64> = r.get(T::USED_AT)?;
            let expires_at: i64 = r.get("expires_at")?;
            Ok((T::from_row(r)?, used_at, expires_at))
        },
    )?;
    let Some((record, used_at, expires_at)) = found else {
        return Ok(Once::Missing);
    };
    if used_at.is_some() {
        return Ok(Once::Used(record));
    }
    if now >= expires_at {
        return Ok(Once::Expired);
    }
    if let Some(reason) = refuse(&record) {
        return Ok(Once::Refused(reason));
    }
    exec(
        c,
        &format!(
            "UPDATE {} SET {} = ?2{} WHERE hash = ?1",
            T::TABLE,
            T::USED_AT,
            T::ALSO_ON_USE
        ),
        params![hash, now],
    )?;
    Ok(Once::Consumed(record))
}

/// Consumes the record of `T` that `token` opens, with no check of the caller's: upstream
/// OAuth state and browser connect tickets.
pub(super) fn consume_token<T: SingleUse>(
    c: &Connection,
    token: &Secret,
    now: i64,
) -> Result<ConsumeOutcome<T>, StoreError> {
    let no_check = |_: &T| None::<Infallible>;
    let found = consume_once(c, &hash_token(token.expose()), now, no_check)?;
    Ok(match found {
        Once::Consumed(record) => ConsumeOutcome::Consumed(record),
        Once::Used(_) => ConsumeOutcome::AlreadyConsumed,
        Once::Expired => ConsumeOutcome::Expired,
        Once::Missing => ConsumeOutcome::Missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in single-use table: `note` plays the part of the upstream state's blob.
    #[derive(Debug, PartialEq)]
    struct Note(String);

    impl SingleUse for Note {
        const TABLE: &'static str = "notes";
        const COLUMNS: &'static str = "note, expires_at";
        const USED_AT: &'static str = "used_at";
        const ALSO_ON_USE: &'static str = ", note = ''";

        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(Note(r.get(0)?))
        }
    }

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE notes (hash TEXT PRIMARY KEY, note TEXT NOT NULL, \
             expires_at INTEGER NOT NULL, used_at INTEGER);
             INSERT INTO notes VALUES ('h1', 'one', 100, NULL), ('h2', 'two', 100, NULL);",
        )
        .unwrap();
        c
    }

    fn row(c: &Connection, hash: &str) -> (String, Option<i64>) {
        c.query_row(
            "SELECT note, used_at FROM notes WHERE hash = ?1",
            [hash],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    fn take(c: &Connection, hash: &str, now: i64) -> Once<Note, Infallible> {
        consume_once(c, hash, now, |_: &Note| None).unwrap()
    }

    #[test]
    fn missing_then_used_before_expired() {
        let c = db();
        assert!(matches!(take(&c, "nope", 0), Once::Missing));
        assert!(matches!(take(&c, "h1", 99), Once::Consumed(Note(n)) if n == "one"));
        assert_eq!(row(&c, "h1"), (String::new(), Some(99)));
        // Used wins over expired: a late second redemption is still a reuse (D2).
        assert!(matches!(take(&c, "h1", 500), Once::Used(_)));
        assert!(matches!(take(&c, "h2", 100), Once::Expired));
        assert_eq!(row(&c, "h2"), ("two".to_string(), None));
    }

    #[test]
    fn a_refusal_leaves_the_record_unused() {
        let c = db();
        let refused = consume_once(&c, "h1", 10, |n: &Note| Some(n.0.clone())).unwrap();
        assert!(matches!(refused, Once::Refused(r) if r == "one"));
        assert_eq!(row(&c, "h1"), ("one".to_string(), None));
        assert!(matches!(take(&c, "h1", 10), Once::Consumed(_)));
    }
}
