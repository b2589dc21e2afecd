//! Deterministic randomness for the demo data: every table group draws from its own seeded
//! stream, so the same seed gives the same rows, ids included.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// The demo data's "now": every timestamp is fixed relative to it, so reruns match.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 9, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// One seeded stream of ids and choices.
pub struct Stream {
    rng: StdRng,
}

impl Stream {
    /// The stream `group` of `seed`; different groups never share draws.
    pub fn new(seed: u64, group: u64) -> Self {
        let mixed = seed ^ group.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self {
            rng: StdRng::seed_from_u64(mixed),
        }
    }

    /// A UUIDv7 whose timestamp is `at` and whose other bits come from the stream.
    pub fn id(&mut self, at: DateTime<Utc>) -> Uuid {
        let bytes: [u8; 10] = self.rng.gen();
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
    }

    /// An integer in `low..=high`.
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        self.rng.gen_range(low..=high)
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }

    /// A moment `low..=high` minutes after `from`.
    pub fn minutes_after(&mut self, from: DateTime<Utc>, low: i64, high: i64) -> DateTime<Utc> {
        from + Duration::minutes(self.range(low, high))
    }
}
