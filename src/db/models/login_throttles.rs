//! Per-account login throttling, keyed by the normalised email whether or not an account exists.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::login_throttles;

/// Failures allowed before the account is locked.
pub const FREE_ATTEMPTS: i32 = 5;
/// The first lock lasts this long; each further failure doubles it, up to [`MAX_LOCK`].
const FIRST_LOCK_SECONDS: i64 = 30;
const MAX_LOCK_SECONDS: i64 = 15 * 60;

/// When the account is locked until, if it is locked now.
pub async fn locked_until(
    conn: &mut AsyncPgConnection,
    email_key: &str,
) -> QueryResult<Option<DateTime<Utc>>> {
    let until: Option<Option<DateTime<Utc>>> = login_throttles::table
        .find(email_key)
        .select(login_throttles::locked_until)
        .first(conn)
        .await
        .optional()?;
    Ok(until.flatten().filter(|until| *until > Utc::now()))
}

/// Counts a failure and returns the lock it imposes, if any.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    email_key: &str,
) -> QueryResult<Option<DateTime<Utc>>> {
    let failures: i32 = diesel::insert_into(login_throttles::table)
        .values((
            login_throttles::email_key.eq(email_key),
            login_throttles::failures.eq(1),
        ))
        .on_conflict(login_throttles::email_key)
        .do_update()
        .set((
            login_throttles::failures.eq(login_throttles::failures + 1),
            login_throttles::updated_at.eq(Utc::now()),
        ))
        .returning(login_throttles::failures)
        .get_result(conn)
        .await?;
    let Some(lock) = lock_duration(failures) else {
        return Ok(None);
    };
    let until = Utc::now() + lock;
    diesel::update(login_throttles::table.find(email_key))
        .set(login_throttles::locked_until.eq(until))
        .execute(conn)
        .await?;
    Ok(Some(until))
}

pub async fn clear(conn: &mut AsyncPgConnection, email_key: &str) -> QueryResult<usize> {
    diesel::delete(login_throttles::table.find(email_key))
        .execute(conn)
        .await
}

/// Forgets failure counts untouched since `before` whose lock (if any) has expired.
pub async fn delete_stale(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        login_throttles::table
            .filter(login_throttles::updated_at.lt(before))
            .filter(
                login_throttles::locked_until
                    .is_null()
                    .or(login_throttles::locked_until.lt(Utc::now())),
            ),
    )
    .execute(conn)
    .await
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
