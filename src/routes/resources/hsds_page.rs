//! HSDS's numbered pages for `GET /hsds/services`: the one list that is not keyset-paged.
//! Directory tools that speak Open Referral send `?page=&per_page=` and read the HSDS API
//! reference's `Page` envelope; the directory is small (hundreds of resources, not millions),
//! so counting it and skipping to a page is cheap (see `docs/decisions/directory.md`).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::models::resources::ResourceCategory;
use crate::http::error::{AppError, AppResult};
use crate::http::limits::{self, DEFAULT_PAGE_SIZE, HSDS_PAGE, PAGE_SIZE};

/// `GET /hsds/services`: the directory's filters (as on `GET /resources`) and the page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HsdsServicesQuery {
    /// Words to find, as `q` on `GET /resources`: best match first.
    #[param(value_type = Option<limits::Search>, inline)]
    pub q: Option<String>,
    /// Only services offering this category.
    pub category: Option<ResourceCategory>,
    /// Only services offered in this language (a tag such as `es`).
    #[param(value_type = Option<limits::LanguageTag>, inline)]
    pub language: Option<String>,
    /// Only services at this postal code.
    #[param(value_type = Option<limits::PostalCode>, inline)]
    pub postal_code: Option<String>,
    /// Only services that do (`true`) or do not (`false`) take referrals.
    pub accepts_referrals: Option<bool>,
    /// The page, from 1 (the default). A page past the last is empty.
    #[param(minimum = 1, maximum = 1_000_000, default = 1)]
    pub page: Option<i64>,
    /// Services per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub per_page: Option<i64>,
}

/// A validated page: its number (from 1) and size.
#[derive(Debug, Clone, Copy)]
pub struct Numbered {
    pub number: i64,
    pub size: i64,
}

impl Numbered {
    /// 400 naming `page` or `per_page` when out of range.
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> AppResult<Self> {
        let number = page.unwrap_or(1);
        if !HSDS_PAGE.contains(number) {
            return Err(AppError::BadRequest(format!(
                "Query parameter `page` must be between {} and {}.",
                HSDS_PAGE.min, HSDS_PAGE.max
            )));
        }
        let size = per_page.unwrap_or(DEFAULT_PAGE_SIZE);
        if !PAGE_SIZE.contains(size) {
            return Err(AppError::BadRequest(format!(
                "Query parameter `per_page` must be between {} and {}.",
                PAGE_SIZE.min, PAGE_SIZE.max
            )));
        }
        Ok(Self { number, size })
    }

    /// How many rows come before the page.
    pub fn skip(self) -> i64 {
        (self.number - 1) * self.size
    }

    /// The envelope of `contents`, the page's items out of `total` in all.
    pub fn envelope<T>(self, total: i64, contents: Vec<T>) -> HsdsPage<T> {
        let total_pages = (total + self.size - 1) / self.size;
        HsdsPage {
            total_items: total,
            total_pages,
            page_number: self.number,
            size: self.size,
            first_page: self.number == 1,
            last_page: self.number >= total_pages,
            empty: contents.is_empty(),
            contents,
        }
    }
}

/// The HSDS API reference's `Page`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsPage<T> {
    /// How many services pass the filters, on all pages.
    pub total_items: i64,
    /// How many pages of `size` they fill (0 when there are none).
    pub total_pages: i64,
    /// This page's number, from 1.
    pub page_number: i64,
    /// The page size asked for (`per_page`); the last page may hold fewer.
    pub size: i64,
    pub first_page: bool,
    /// `true` on the last page, and on any page past it.
    pub last_page: bool,
    /// `true` when `contents` is empty.
    pub empty: bool,
    pub contents: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_count_from_one_and_the_envelope_adds_up() {
        let page = Numbered::new(Some(2), Some(10)).unwrap();
        assert_eq!(page.skip(), 10);
        let envelope = page.envelope(25, vec![0; 10]);
        assert_eq!(
            (
                envelope.total_pages,
                envelope.first_page,
                envelope.last_page
            ),
            (3, false, false)
        );
        let last = Numbered::new(Some(3), Some(10))
            .unwrap()
            .envelope(25, vec![0; 5]);
        assert!(last.last_page && !last.empty);
        let none = Numbered::new(None, None)
            .unwrap()
            .envelope(0, Vec::<u8>::new());
        assert_eq!(
            (
                none.total_pages,
                none.first_page,
                none.last_page,
                none.empty
            ),
            (0, true, true, true)
        );
        for (page, per_page) in [
            (Some(0), None),
            (Some(-1), None),
            (Some(HSDS_PAGE.max + 1), None),
            (None, Some(0)),
            (None, Some(201)),
        ] {
            assert!(
                Numbered::new(page, per_page).is_err(),
                "{page:?} {per_page:?}"
            );
        }
    }
}
