//! Keyset pagination shared by every list: `limit` ([`crate::http::limits::PAGE_SIZE`]) and an
//! opaque `cursor`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::limits::{DEFAULT_PAGE_SIZE, PAGE_SIZE};

/// Where the previous page ended. Lists ordered by id use `After`; lists ordered by another
/// key carry that key too, so the next page starts strictly after the last row seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cursor {
    After(Uuid),
    AfterKey(String, Uuid),
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A `limit` or `cursor` the API cannot page with; the web layer answers it with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPage(pub String);

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// Validates the raw `limit` and `cursor` query parameters (400 when out of range or garbled).
    pub fn new(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, InvalidPage> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !PAGE_SIZE.contains(limit) {
            return Err(InvalidPage(format!(
                "Query parameter `limit` must be between {} and {}.",
                PAGE_SIZE.min, PAGE_SIZE.max
            )));
        }
        // An empty `cursor=` is the first page, as if it were absent.
        let cursor = match cursor {
            None | Some("") => None,
            Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| {
                InvalidPage("Query parameter `cursor` is not a cursor this API issued.".into())
            })?),
        };
        Ok(Self { limit, cursor })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// The rows of `rows` (fetched with [`Self::fetch_limit`]) that the page shows, e.g. to
    /// name them in the audit row.
    pub fn shown<'a, T>(&self, rows: &'a [T]) -> &'a [T] {
        &rows[..rows.len().min(self.limit as usize)]
    }

    /// Cuts the fetched rows to the page and computes the next cursor from the last row kept.
    pub fn finish<T, R>(
        &self,
        mut rows: Vec<R>,
        cursor_of: impl Fn(&R) -> Cursor,
        render: impl Fn(R) -> T,
    ) -> Page<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|row| cursor_of(row).encode())
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(render).collect(),
            next_cursor,
        }
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The query of a list with no filters of its own.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor::AfterKey("smith".into(), Uuid::now_v7());
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not-a-cursor"), None);
    }

    #[test]
    fn limit_must_be_in_range() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(201), None).is_err());
        assert_eq!(PageRequest::new(None, None).map(|p| p.limit).ok(), Some(50));
    }

    #[test]
    fn finish_sets_next_cursor_only_when_more_rows_exist() {
        let page = PageRequest::new(Some(2), None).unwrap();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let result = page.finish(ids.clone(), |id| Cursor::After(*id), |id| id);
        assert_eq!(result.items, ids[..2]);
        assert_eq!(result.next_cursor, Some(Cursor::After(ids[1]).encode()));
        let result = page.finish(ids[..2].to_vec(), |id| Cursor::After(*id), |id| id);
        assert_eq!(result.next_cursor, None);
    }
}
