//! Persistence: plain functions over `&mut DbConn`, so that several compose in one transaction.

pub mod accounts;
pub mod audit;
pub mod datasets;
pub mod orgs;

/// Rows on one page of a list.
pub const PAGE_SIZE: i64 = 50;

/// One page of a list, with what the pager needs.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub total: i64,
    pub per_page: i64,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            page: 1,
            total: 0,
            per_page: PAGE_SIZE,
        }
    }

    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    pub fn offset(page: i64, per_page: i64) -> i64 {
        (page.max(1) - 1).saturating_mul(per_page)
    }
}

/// The smallest string greater than every string starting with `prefix` (for prefix search by
/// an index range: `key >= prefix AND key < upper`). `prefix` is ASCII (names are).
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).expect("ASCII");
        }
    }
    "\u{7f}".to_string()
}
