//! Small helpers every table uses: cached statements, JSON lists and enum columns, with a
//! corrupt value reported as [`StoreError::CorruptRow`] rather than a panic.

use crate::store::StoreError;
use rusqlite::{Connection, Params, Row};

pub(super) fn exec(c: &Connection, sql: &str, params: impl Params) -> Result<usize, StoreError> {
    Ok(c.prepare_cached(sql)?.execute(params)?)
}

pub(super) fn query_opt<T>(
    c: &Connection,
    sql: &str,
    params: impl Params,
    f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    match rows.next()? {
        Some(row) => Ok(Some(f(row)?)),
        None => Ok(None),
    }
}

pub(super) fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}

pub(super) fn from_json(
    table: &'static str,
    column: &str,
    text: &str,
) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::CorruptRow {
        table,
        detail: format!("{column}: {e}"),
    })
}

pub(super) fn parse_col<T>(
    table: &'static str,
    column: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::CorruptRow {
        table,
        detail: format!("{column}: unknown value {text:?}"),
    })
}
