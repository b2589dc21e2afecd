//! Guess counting. Per key (a sign-in email whether or not an account exists, a user changing
//! their password, an integration client) with locks that grow; and per client address in
//! fixed windows.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{address_throttles, login_throttles};

/// Failures allowed before the account is locked.
pub const FREE_ATTEMPTS: i32 = 5;
/// The first lock lasts this long; each further failure doubles it, up to [`MAX_LOCK`].
const FIRST_LOCK_SECONDS: i64 = 30;
const MAX_LOCK_SECONDS: i64 = 15 * 60;

/// What became of an attempt presented under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted: the attempt may be checked. `locks` is set when this attempt, if wrong, is
    /// the one that locks the key (until then).
    Admitted { locks: Option<DateTime<Utc>> },
    /// The key is locked until then: the attempt was not counted and must not be checked.
    Locked(DateTime<Utc>),
}

/// Counts an attempt under `key` before it is checked, unless `key` is locked, and imposes the
/// lock that this many attempts earn. The upsert holds the row lock until the transaction
/// ends, so concurrent attempts are counted one after another and each sees the lock set by
/// the one before: no more than [`FREE_ATTEMPTS`] are admitted before a lock.
pub async fn reserve(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Reservation> {
    conn.transaction(async |conn| {
        let now = Utc::now();
        let count = diesel::insert_into(login_throttles::table)
            .values((
                login_throttles::email_key.eq(key),
                login_throttles::failures.eq(1),
                login_throttles::updated_at.eq(now),
            ))
            .on_conflict(login_throttles::email_key)
            .do_update()
            .set((
                login_throttles::failures.eq(login_throttles::failures + 1),
                login_throttles::updated_at.eq(now),
            ));
        // `ON CONFLICT ... DO UPDATE ... WHERE`: a locked key is neither counted nor returned.
        let unlocked = login_throttles::locked_until
            .is_null()
            .or(login_throttles::locked_until.le(now));
        let counted: Option<i32> = diesel::query_dsl::methods::FilterDsl::filter(count, unlocked)
            .returning(login_throttles::failures)
            .get_result(conn)
            .await
            .optional()?;
        let Some(attempts) = counted else {
            let until: Option<DateTime<Utc>> = login_throttles::table
                .find(key)
                .select(login_throttles::locked_until)
                .first(conn)
                .await?;
            return Ok(Reservation::Locked(until.unwrap_or(now).max(now)));
        };
        let Some(lock) = lock_duration(attempts) else {
            return Ok(Reservation::Admitted { locks: None });
        };
        diesel::update(login_throttles::table.find(key))
            .set(login_throttles::locked_until.eq(now + lock))
            .execute(conn)
            .await?;
        Ok(Reservation::Admitted {
            locks: Some(now + lock),
        })
    })
    .await
}

/// Forgets the attempts counted under `key`, and its lock: the last attempt was right.
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<usize> {
    diesel::delete(login_throttles::table.find(key))
        .execute(conn)
        .await
}

#[derive(QueryableByName)]
struct AddressCount {
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    window_started_at: DateTime<Utc>,
}

/// Counts an attempt from `address` in its current window, starting a new window when the
/// last one is over; returns the attempts counted in the window, this one included, and when
/// the window ends. One statement, so concurrent attempts are each counted.
pub async fn count_address(
    conn: &mut AsyncPgConnection,
    address: &str,
    window: Duration,
) -> QueryResult<(i32, DateTime<Utc>)> {
    let now = Utc::now();
    let count: AddressCount = diesel::sql_query(
        "INSERT INTO address_throttles AS t (address, window_started_at, attempts) \
         VALUES ($1, $2, 1) \
         ON CONFLICT (address) DO UPDATE SET \
           attempts = CASE WHEN t.window_started_at <= $3 THEN 1 ELSE t.attempts + 1 END, \
           window_started_at = CASE WHEN t.window_started_at <= $3 THEN $2 \
             ELSE t.window_started_at END \
         RETURNING attempts, window_started_at",
    )
    .bind::<Text, _>(address)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now - window)
    .get_result(conn)
    .await?;
    Ok((count.attempts, count.window_started_at + window))
}

/// Takes back an attempt counted from `address`: it was right, or was never checked.
pub async fn uncount_address(conn: &mut AsyncPgConnection, address: &str) -> QueryResult<usize> {
    diesel::update(
        address_throttles::table
            .find(address)
            .filter(address_throttles::attempts.gt(0)),
    )
    .set(address_throttles::attempts.eq(address_throttles::attempts - 1))
    .execute(conn)
    .await
}

/// Forgets failure counts untouched since `before` whose lock (if any) has expired, and address
/// windows that began before `before`.
pub async fn delete_stale(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    let windows = diesel::delete(
        address_throttles::table.filter(address_throttles::window_started_at.lt(before)),
    )
    .execute(conn)
    .await?;
    let counts = diesel::delete(
        login_throttles::table
            .filter(login_throttles::updated_at.lt(before))
            .filter(
                login_throttles::locked_until
                    .is_null()
                    .or(login_throttles::locked_until.lt(Utc::now())),
            ),
    )
    .execute(conn)
    .await?;
    Ok(windows + counts)
}

/// No lock for the first [`FREE_ATTEMPTS`] failures, then 30 s, 60 s, 120 s … capped at 15 minutes.
pub fn lock_duration(failures: i32) -> Option<Duration> {
    let over = failures - FREE_ATTEMPTS;
    if over < 0 {
        return None;
    }
    let seconds = FIRST_LOCK_SECONDS
        .saturating_mul(1_i64 << over.min(20))
        .min(MAX_LOCK_SECONDS);
    Some(Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_and_are_capped() {
        assert_eq!(lock_duration(4), None);
        assert_eq!(lock_duration(5), Some(Duration::seconds(30)));
        assert_eq!(lock_duration(6), Some(Duration::seconds(60)));
        assert_eq!(lock_duration(40), Some(Duration::seconds(900)));
    }
}
