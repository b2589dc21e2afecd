//! `GET /fhir/r4/Task?…`: the search parameters a clinic polls with, read from the query
//! string (a parameter may repeat, as `_lastUpdated=ge…&_lastUpdated=lt…` does).
//!
//! - `_lastUpdated`: `gt`, `ge`, `lt` or `le` (no prefix: `eq`) and an instant, or a date,
//!   which stands for the whole day (UTC);
//! - `status`: one or more Task statuses, comma-separated;
//! - `owner`: `HealthcareService/<id>` (or the bare id);
//! - `_count`: 1 to 200, 50 when left out;
//! - `_cursor`: the page a `next` link names;
//! - `_format`: a JSON format only.
//!
//! Any other parameter is refused (400 naming it) rather than ignored, so a filter a client
//! thinks it applies is never silently dropped.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use uuid::Uuid;

use crate::db::models::referrals::changes::{Bound, ChangeFilter};
use crate::db::models::referrals::ReferralStatus;
use crate::db::pagination::Cursor;
use crate::http::error::{AppError, AppResult};

pub const DEFAULT_COUNT: i64 = 50;
pub const MAX_COUNT: i64 = 200;

/// The JSON spellings of `_format`.
const JSON_FORMATS: [&str; 4] = [
    "json",
    "application/json",
    "application/fhir+json",
    "fhir+json",
];

/// The filter a query string asks for, and the parameters to repeat in page links.
pub struct Search {
    pub filter: ChangeFilter,
    /// The query's parameters but `_cursor`, in order, to build `self` and `next` links.
    pub kept: Vec<(String, String)>,
}

pub fn parse(query: &str) -> AppResult<Search> {
    let mut filter = ChangeFilter {
        limit: DEFAULT_COUNT,
        ..ChangeFilter::default()
    };
    let mut kept = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        match name.as_str() {
            "_lastUpdated" => filter.bounds.extend(last_updated(&value)?),
            "status" => filter.statuses.extend(statuses(&value)?),
            "owner" => filter.resource_id = Some(owner(&value)?),
            "_count" => filter.limit = count(&value)?,
            "_cursor" => {
                filter.after = Some(cursor(&value)?);
                continue;
            }
            "_format" => format(&value)?,
            _ => return Err(bad(&name, "is not a search parameter of Task here")),
        }
        kept.push((name, value));
    }
    Ok(Search { filter, kept })
}

/// `_format`: a JSON format only.
pub fn format(value: &str) -> AppResult<()> {
    match JSON_FORMATS.contains(&value) {
        true => Ok(()),
        false => Err(bad("_format", "only a JSON format is served")),
    }
}

/// The cursor of a `next` link: after the last Task of this page.
pub fn next_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    Cursor::AfterKey(at.timestamp_micros().to_string(), id).encode()
}

fn cursor(value: &str) -> AppResult<(DateTime<Utc>, Uuid)> {
    match Cursor::decode(value) {
        Some(Cursor::AfterKey(micros, id)) => micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .map(|at| (at, id))
            .ok_or_else(|| bad("_cursor", "is not a cursor this server gave")),
        _ => Err(bad("_cursor", "is not a cursor this server gave")),
    }
}

/// 400 naming a search parameter and what is wrong with it.
pub fn bad(name: &str, why: &str) -> AppError {
    AppError::BadRequest(format!("The search parameter `{name}` {why}."))
}

/// `_count`: 1 to [`MAX_COUNT`].
pub fn count(value: &str) -> AppResult<i64> {
    value
        .parse::<i64>()
        .ok()
        .filter(|count| (1..=MAX_COUNT).contains(count))
        .ok_or_else(|| {
            bad(
                "_count",
                &format!("must be a whole number from 1 to {MAX_COUNT}"),
            )
        })
}

fn owner(value: &str) -> AppResult<Uuid> {
    let id = value.strip_prefix("HealthcareService/").unwrap_or(value);
    Uuid::parse_str(id).map_err(|_| bad("owner", "must be `HealthcareService/<id>`"))
}

fn statuses(value: &str) -> AppResult<Vec<ReferralStatus>> {
    value
        .split(',')
        .map(|code| {
            ReferralStatus::parse(code.trim())
                .ok_or_else(|| bad("status", &format!("has `{code}`, not a Task status")))
        })
        .collect()
}

/// The bounds one `_lastUpdated` value sets.
fn last_updated(value: &str) -> AppResult<Vec<Bound>> {
    let prefixes = ["gt", "ge", "lt", "le", "eq"];
    let (prefix, moment) = match value.get(..2) {
        Some(prefix) if prefixes.contains(&prefix) => (prefix, &value[2..]),
        _ => ("eq", value),
    };
    let (start, end) = span(moment).ok_or_else(|| {
        bad(
            "_lastUpdated",
            "must be an optional prefix (gt, ge, lt, le, eq) and a date or an instant",
        )
    })?;
    Ok(match prefix {
        "gt" => vec![Bound::AtOrAfter(end)],
        "ge" => vec![Bound::AtOrAfter(start)],
        "lt" => vec![Bound::Before(start)],
        "le" => vec![Bound::Before(end)],
        _ => vec![Bound::AtOrAfter(start), Bound::Before(end)],
    })
}

/// The instants `moment` covers, `[start, end)`: a whole day for a date, one microsecond for
/// an instant (FHIR compares at the precision given).
fn span(moment: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if let Ok(at) = DateTime::parse_from_rfc3339(moment) {
        let at = at.with_timezone(&Utc);
        return Some((at, at + Duration::microseconds(1)));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(moment, "%Y-%m-%dT%H:%M:%S%.f") {
        let at = at.and_utc();
        return Some((at, at + Duration::microseconds(1)));
    }
    let day = NaiveDate::parse_from_str(moment, "%Y-%m-%d").ok()?;
    let start = day.and_hms_opt(0, 0, 0)?.and_utc();
    Some((start, start + Duration::days(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(query: &str) -> Vec<Bound> {
        parse(query).unwrap().filter.bounds
    }

    #[test]
    fn last_updated_takes_prefixes_instants_and_days() {
        let at = DateTime::parse_from_rfc3339("2026-12-08T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = at + Duration::microseconds(1);
        assert_eq!(
            bounds("_lastUpdated=gt2026-12-08T10:00:00Z"),
            [Bound::AtOrAfter(next)]
        );
        assert_eq!(
            bounds("_lastUpdated=ge2026-12-08T10:00:00%2B00:00"),
            [Bound::AtOrAfter(at)]
        );
        let day = DateTime::parse_from_rfc3339("2026-12-08T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            bounds("_lastUpdated=2026-12-08"),
            [
                Bound::AtOrAfter(day),
                Bound::Before(day + Duration::days(1))
            ]
        );
        assert_eq!(bounds("_lastUpdated=lt2026-12-08"), [Bound::Before(day)]);
    }

    #[test]
    fn statuses_owner_and_count_are_read_and_anything_else_refused() {
        let id = Uuid::now_v7();
        let search = parse(&format!(
            "status=requested,on-hold&owner=HealthcareService/{id}&_count=10&_format=json"
        ))
        .unwrap();
        assert_eq!(
            search.filter.statuses,
            [ReferralStatus::Requested, ReferralStatus::OnHold]
        );
        assert_eq!(search.filter.resource_id, Some(id));
        assert_eq!(search.filter.limit, 10);
        for query in [
            "status=received",
            "_count=0",
            "_count=201",
            "owner=Organization/x",
            "_lastUpdated=gt2026-13-01",
            "patient=Patient/1",
            "_format=xml",
            "_cursor=abc",
        ] {
            assert!(parse(query).is_err(), "{query}");
        }
    }
}
