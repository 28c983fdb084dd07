//! Cursor pagination as the seed's `GET /usermapping` does it: `last_value` and `page_size` in,
//! a page and `LastEvaluatedValue` (`""` on the last page) out.

use axum::http::Uri;
use utoipa::IntoParams;

use super::extract::raw_query_param;
use crate::envelope::{ApiError, Result};

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;

/// The query parameters of a page, as the document lists them ([`PageRequest::from_query`] reads them).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation only
pub struct PageParams {
    /// The cursor from the previous page's `LastEvaluatedValue`; default 0 (the first page).
    #[param(minimum = 0)]
    last_value: Option<i64>,
    /// Items per page, 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<i64>,
}

/// Which page a client asked for.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Return rows whose cursor is greater than this.
    pub after: i64,
    pub size: i64,
}

impl PageRequest {
    /// Reads `last_value` (≥ 0, default 0) and `page_size` (1–100, default 20); a bad one is a 400 naming it.
    pub fn from_query(uri: &Uri) -> Result<Self> {
        Ok(Self {
            after: int_param(uri, "last_value", 0, 0..=i64::MAX, "a whole number of at least 0")?,
            size: int_param(uri, "page_size", DEFAULT_PAGE_SIZE, 1..=MAX_PAGE_SIZE, "a whole number from 1 to 100")?,
        })
    }

    /// For a list read newest first: return rows whose cursor is less than this. Cursors start at
    /// 1, so `last_value` 0 (the default) asks for the first page, the newest rows.
    pub fn before(self) -> i64 {
        if self.after == 0 {
            i64::MAX
        } else {
            self.after
        }
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(self) -> i64 {
        self.size + 1
    }

    /// Cuts the fetched rows to the page and gives the cursor of the next one (`""` when this is the last).
    pub fn finish<T>(self, mut rows: Vec<T>, cursor: impl Fn(&T) -> i64) -> (Vec<T>, String) {
        let more = rows.len() as i64 > self.size;
        rows.truncate(self.size as usize);
        let next = match rows.last() {
            Some(last) if more => cursor(last).to_string(),
            _ => String::new(),
        };
        (rows, next)
    }
}

fn int_param(uri: &Uri, name: &str, default: i64, range: std::ops::RangeInclusive<i64>, rule: &str) -> Result<i64> {
    match raw_query_param(uri, name)? {
        None => Ok(default),
        Some(text) if text.trim().is_empty() => Ok(default),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!("query parameter {name} must be {rule} (got {text:?})"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_more_behind_it_names_its_last_cursor() {
        let page = PageRequest { after: 0, size: 2 };
        assert_eq!(page.finish(vec![5, 7, 9], |n| *n), (vec![5, 7], "7".to_string()));
        assert_eq!(page.finish(vec![5, 7], |n| *n), (vec![5, 7], String::new()));
    }

    #[test]
    fn a_newest_first_list_starts_above_every_cursor_and_then_goes_below_the_last() {
        assert_eq!(PageRequest { after: 0, size: 2 }.before(), i64::MAX);
        let page = PageRequest { after: 9, size: 2 };
        assert_eq!(page.before(), 9);
        assert_eq!(page.finish(vec![8, 5, 2], |n| *n), (vec![8, 5], "5".to_string()));
    }

    #[test]
    fn bad_numbers_are_400s_naming_the_parameter() {
        for query in ["page_size=0", "page_size=101", "page_size=abc", "last_value=-1"] {
            let uri: Uri = format!("/x?{query}").parse().unwrap();
            let err = PageRequest::from_query(&uri).unwrap_err().to_string();
            assert!(err.contains(query.split('=').next().unwrap()), "{err}");
        }
        let uri: Uri = "/x".parse().unwrap();
        let page = PageRequest::from_query(&uri).unwrap();
        assert_eq!((page.after, page.size), (0, DEFAULT_PAGE_SIZE));
    }
}
