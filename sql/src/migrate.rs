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

/// Which migration sets to apply.
#[derive(Debug, Clone, Copy)]
pub struct MigrationSets {
    /// Apply the Bucket & MediaID platform schema after the kit.
    pub platform: bool,
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
pub async fn run(url: &str, sets: MigrationSets) -> Result<Applied> {
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
    let report = kit::migrations::runner()
        .set_migration_table_name(KIT_HISTORY)
        .run_async(&mut client)
        .await?;
    applied
        .names
        .extend(report.applied_migrations().iter().map(|m| m.to_string()));
    if sets.platform {
        let report = platform::migrations::runner()
            .set_migration_table_name(PLATFORM_HISTORY)
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
    // `table` is one of our two constants, never user input.
    let row = client
        .query_one(&format!("select max(version)::int8 from {table}"), &[])
        .await?;
    Ok(row.get(0))
}

/// True when every embedded migration of the chosen sets is already recorded.
async fn up_to_date(client: &tokio_postgres::Client, sets: MigrationSets) -> Result<bool> {
    let newest = |migrations: &[refinery::Migration]| {
        migrations.iter().map(|m| i64::from(m.version())).max()
    };
    let kit_newest = newest(kit::migrations::runner().get_migrations());
    if recorded_version(client, KIT_HISTORY).await? < kit_newest {
        return Ok(false);
    }
    if sets.platform {
        let platform_newest = newest(platform::migrations::runner().get_migrations());
        if recorded_version(client, PLATFORM_HISTORY).await? < platform_newest {
            return Ok(false);
        }
    }
    Ok(true)
}
