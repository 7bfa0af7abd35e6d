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

/// Applies every pending migration to the database at `url`, then asks the schema cache to reload.
pub async fn run(url: &str, sets: MigrationSets) -> Result<Applied> {
    let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let conn_task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "migration connection closed");
        }
    });
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
    client
        .batch_execute("notify pgrst, 'reload schema'")
        .await
        .map_err(DbError::from)?;
    drop(client);
    let _ = conn_task.await;
    Ok(applied)
}
