//! Embedded migrations, applied with refinery: the kit's own schemas (`migrations/`: roles,
//! `auth`, `storage`, `realtime`, grants, the PostgREST reload triggers) and, unless switched
//! off, the Bucket & MediaID platform (`platform/`). Each set keeps its own history table so the
//! platform can be enabled later without reordering versions.

use tokio_postgres::NoTls;

use crate::{DbError, Result};

mod kit {
    refinery::embed_migrations!("migrations");
}

mod platform {
    refinery::embed_migrations!("platform");
}

/// History table of the kit's migrations.
pub const KIT_HISTORY: &str = "bucketbase.schema_history";
/// History table of the platform's migrations.
pub const PLATFORM_HISTORY: &str = "bucketbase.platform_history";

/// One set of embedded migrations, applied in order and recorded in a history table of its
/// own, so each set can be enabled later (or versioned) without reordering the others. A
/// user's own migrations folder becomes another set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationSet {
    /// The kit: roles, the `auth`, `storage` and `realtime` schemas, grants, reload triggers.
    Kit,
    /// The Bucket & MediaID platform's schema, policies and functions.
    Platform,
}

impl MigrationSet {
    /// The table that records which of this set's migrations ran.
    pub fn history_table(self) -> &'static str {
        match self {
            MigrationSet::Kit => KIT_HISTORY,
            MigrationSet::Platform => PLATFORM_HISTORY,
        }
    }

    fn runner(self) -> refinery::Runner {
        match self {
            MigrationSet::Kit => kit::migrations::runner(),
            MigrationSet::Platform => platform::migrations::runner(),
        }
    }
}

/// The sets a server applies: the kit, then the platform unless it is switched off.
pub fn server_sets(platform: bool) -> Vec<MigrationSet> {
    let mut sets = vec![MigrationSet::Kit];
    if platform {
        sets.push(MigrationSet::Platform);
    }
    sets
}

/// What [`run`] applied.
#[derive(Debug, Default)]
pub struct Applied {
    /// Names of the migrations applied by this run, in order.
    pub names: Vec<String>,
}

/// Lets `authenticator` log in with the password of `admin_url`, as Supabase's database image
/// gives every service role `POSTGRES_PASSWORD`: the request pool then connects with the admin
/// URL's credentials and `authenticator` as the user. Nothing is done when the URL carries no
/// password (trust or peer authentication needs none). Returns whether a password was set.
pub async fn set_authenticator_password(admin_url: &str) -> Result<bool> {
    let config: tokio_postgres::Config = admin_url
        .parse()
        .map_err(|e| DbError::Config(format!("invalid database URL: {e}")))?;
    let Some(password) = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter(|p| !p.is_empty())
    else {
        return Ok(false);
    };
    let (client, connection) = config.connect(NoTls).await?;
    let conn_task = tokio::spawn(connection);
    // The SCRAM verifier is computed here, as psql's `\password` does, so the password itself
    // never crosses the connection nor reaches the server's statement log.
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    client
        .batch_execute(&format!(
            "alter role authenticator with login password {}",
            crate::quote_literal(&verifier)
        ))
        .await?;
    drop(client);
    let _ = conn_task.await;
    Ok(true)
}

/// Applies every pending migration to the database at `url`, then asks the schema cache to reload.
pub async fn run(url: &str, sets: &[MigrationSet]) -> Result<Applied> {
    let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let conn_task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "migration connection closed");
        }
    });
    // Nothing pending: answer without DDL (which would fire the schema-reload event triggers
    // and take locks on every start).
    if up_to_date(&client, sets).await? {
        drop(client);
        let _ = conn_task.await;
        return Ok(Applied::default());
    }
    // The history tables live in their own schema, never exposed through the API.
    client
        .batch_execute(
            "create schema if not exists bucketbase; revoke all on schema bucketbase from public",
        )
        .await?;
    let mut applied = Applied::default();
    for set in sets {
        let report = set
            .runner()
            .set_migration_table_name(set.history_table())
            .run_async(&mut client)
            .await?;
        applied
            .names
            .extend(report.applied_migrations().iter().map(|m| m.to_string()));
    }
    if !applied.names.is_empty() {
        client
            .batch_execute("notify pgrst, 'reload schema'")
            .await
            .map_err(DbError::from)?;
    }
    drop(client);
    let _ = conn_task.await;
    Ok(applied)
}

/// The highest version recorded in `table`, or `None` when the table does not exist.
async fn recorded_version(client: &tokio_postgres::Client, table: &str) -> Result<Option<i64>> {
    let row = client
        .query_one("select to_regclass($1) is not null", &[&table])
        .await?;
    if !row.get::<_, bool>(0) {
        return Ok(None);
    }
    // `table` is one of the sets' constants, never user input.
    let row = client
        .query_one(&format!("select max(version)::int8 from {table}"), &[])
        .await?;
    Ok(row.get(0))
}

/// True when every embedded migration of the chosen sets is already recorded.
async fn up_to_date(client: &tokio_postgres::Client, sets: &[MigrationSet]) -> Result<bool> {
    for set in sets {
        let newest = set
            .runner()
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max();
        if recorded_version(client, set.history_table()).await? < newest {
            return Ok(false);
        }
    }
    Ok(true)
}
