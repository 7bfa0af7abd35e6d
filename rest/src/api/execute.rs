//! Running a rendered statement in the request transaction and reading its one result row, as
//! PostgREST's `Query.hs` does with its statements' `(total, page, body, …)` columns.

use bucketbase_sql::RequestTx;

use super::response::Gucs;
use crate::error::Error;
use crate::render::sql_text::SqlText;

/// The result row every generated statement returns: total count, page count, body.
pub(crate) struct Outcome {
    /// `count=exact` total (or None).
    pub(crate) total: Option<i64>,
    /// Rows in this response.
    pub(crate) page: i64,
    /// The JSON (or CSV) text PostgreSQL built.
    pub(crate) body: Option<String>,
    /// Extra text column (Location values, insert flags) when the statement has one.
    pub(crate) extra: Option<String>,
    /// The response GUCs, when the statement reads them.
    pub(crate) gucs: Gucs,
}

/// Runs `sql` in `tx` and reads its one result row.
pub(crate) async fn run_statement(
    tx: &mut RequestTx,
    sql: &SqlText,
    anon: bool,
) -> Result<Outcome, Error> {
    let rows = tx
        .query(&sql.sql, &sql.param_refs())
        .await
        .map_err(|e| Error::db(&e, anon))?;
    outcome(rows)
}

/// Runs a read-only `sql` and commits in the same round trip.
pub(crate) async fn run_read(tx: RequestTx, sql: &SqlText, anon: bool) -> Result<Outcome, Error> {
    let rows = tx
        .query_and_commit(&sql.sql, &sql.param_refs())
        .await
        .map_err(|e| Error::db(&e, anon))?;
    outcome(rows)
}

fn outcome(rows: Vec<bucketbase_sql::tokio_postgres::Row>) -> Result<Outcome, Error> {
    let Some(row) = rows.first() else {
        return Err(Error::internal("statement returned no row"));
    };
    let mut outcome = Outcome {
        total: row.try_get(0).map_err(Error::internal)?,
        page: row.try_get(1).map_err(Error::internal)?,
        body: row.try_get(2).map_err(Error::internal)?,
        extra: None,
        gucs: Gucs::default(),
    };
    for (i, column) in row.columns().iter().enumerate().skip(3) {
        let value: Option<String> = row.try_get(i).map_err(Error::internal)?;
        match column.name() {
            "response_headers" => outcome.gucs.headers = value,
            "response_status" => outcome.gucs.status = value,
            _ => outcome.extra = value,
        }
    }
    Ok(outcome)
}
