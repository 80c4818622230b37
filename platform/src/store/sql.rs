//! The query layer both engines share: every query of the store is written once, against this.
//!
//! Statements are written in PostgreSQL's `$1` style (SQLite reads them as `?1`, see
//! [`sqlite_dialect`]); arguments are text, 64-bit integers or bytes (columns are TEXT, BIGINT
//! or BYTEA/BLOB), answers come back as rows of [`Cell`]s. Work of several statements that must
//! stand or fall together is a [`Transaction`], written once against an [`Executor`]; each
//! engine provides the executor (a SQLite connection inside its group commit, a PostgreSQL
//! transaction) and decides how the work is committed.

use std::borrow::Cow;

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::StoreError;

/// Runs statements: a connection or transaction of either engine.
///
/// The methods are `async` because PostgreSQL's are; SQLite's finish without waiting (its
/// calls block the thread they run on, a blocking-pool or committer thread).
pub(crate) trait Executor {
    /// Runs one statement that answers rows (a SELECT, or a change with RETURNING).
    async fn rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError>;

    /// Runs one statement; the number of rows it changed.
    async fn exec(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError>;

    /// Keeps every other writer of `table` out until this transaction ends, for a change that
    /// reads and writes the same rows (publishing a catalog). A SQLite write transaction
    /// already holds the database's one write lock; PostgreSQL locks the table.
    async fn lock_table(&mut self, table: &'static str) -> Result<(), StoreError>;

    /// Runs one statement and answers its first row, if any.
    async fn row(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }
}

/// Statements that stand or fall together: all of them commit, or (on an error) none.
///
/// Written once against an [`Executor`]; the store runs it inside a SQLite group commit or a
/// PostgreSQL transaction (see `Store::transaction`).
pub(crate) trait Transaction: Send + 'static {
    /// What the work answers once committed.
    type Output: Send + 'static;

    /// Does the work; an error rolls all of it back.
    async fn run(self, on: &mut impl Executor) -> Result<Self::Output, StoreError>;
}

/// Several independent statements in one transaction (tags added and removed together, a
/// rollout's members, an upload completed).
pub(crate) struct Statements(pub Vec<(&'static str, Vec<Arg>)>);

impl Transaction for Statements {
    type Output = ();

    async fn run(self, on: &mut impl Executor) -> Result<(), StoreError> {
        for (sql, args) in self.0 {
            on.exec(sql, args).await?;
        }
        Ok(())
    }
}

/// A statement argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    /// TEXT, or NULL.
    Text(Option<String>),
    /// BIGINT, or NULL.
    Int(Option<i64>),
    /// BLOB (SQLite) / BYTEA (PostgreSQL).
    Bytes(Vec<u8>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(Some(s.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(Some(s))
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(Some(s.clone()))
    }
}

impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Self {
        Arg::Text(s)
    }
}

impl From<Option<&str>> for Arg {
    fn from(s: Option<&str>) -> Self {
        Arg::Text(s.map(str::to_owned))
    }
}

impl From<Vec<u8>> for Arg {
    fn from(b: Vec<u8>) -> Self {
        Arg::Bytes(b)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(Some(n))
    }
}

impl From<Option<i64>> for Arg {
    fn from(n: Option<i64>) -> Self {
        Arg::Int(n)
    }
}

/// Builds a `Vec<Arg>` from values.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::store::sql::Arg::from($value)),*]
    };
}
pub(crate) use args;

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(v) => rusqlite::ToSql::to_sql(v),
            Arg::Int(v) => rusqlite::ToSql::to_sql(v),
            Arg::Bytes(v) => rusqlite::ToSql::to_sql(v),
        }
    }
}

impl ToSql for Arg {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Arg::Text(v) => ToSql::to_sql(v, ty, out),
            // The one INTEGER column (a rating's level, 1 to 5) takes a 32-bit value.
            Arg::Int(Some(n)) if *ty == Type::INT4 => ToSql::to_sql(&i32::try_from(*n)?, ty, out),
            Arg::Int(v) => ToSql::to_sql(v, ty, out),
            Arg::Bytes(v) => ToSql::to_sql(v, ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <String as ToSql>::accepts(ty)
            || <i64 as ToSql>::accepts(ty)
            || <i32 as ToSql>::accepts(ty)
            || <Vec<u8> as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// One value of an answer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// One answer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row(pub Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Task(format!("answer has no column {i}")))
    }

    /// Column `i` as text.
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.cell(i)? {
            Cell::Text(s) => Ok(s.clone()),
            Cell::Int(n) => Ok(n.to_string()),
            Cell::Bytes(_) | Cell::Null => Err(StoreError::Task(format!("column {i} is not text"))),
        }
    }

    /// Column `i` as bytes.
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.cell(i)? {
            Cell::Bytes(b) => Ok(b.clone()),
            Cell::Text(s) => Ok(s.clone().into_bytes()),
            _ => Err(StoreError::Task(format!("column {i} is not bytes"))),
        }
    }

    /// Column `i` as text, or `None` for NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    /// Column `i` as an integer.
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.cell(i)? {
            Cell::Int(n) => Ok(*n),
            other => Err(StoreError::Task(format!(
                "column {i} is not an integer: {other:?}"
            ))),
        }
    }
}

/// `$1` → `?1` for SQLite (a `$` followed by a digit, outside nothing else: our statements
/// never hold a literal `$`).
pub(crate) fn sqlite_dialect(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlite_style() {
        assert_eq!(
            sqlite_dialect("SELECT a FROM t WHERE b = $1 AND c = $12"),
            "SELECT a FROM t WHERE b = ?1 AND c = ?12"
        );
        assert!(matches!(sqlite_dialect("SELECT 1"), Cow::Borrowed(_)));
    }
}
