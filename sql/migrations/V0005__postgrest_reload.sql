-- Schema-cache reload on DDL, and the graphql_public entry point.
--
-- Mirrors:
--   supabase/postgres  migrations/db/migrations/20220321174452_fix-postgrest-alter-type-event-trigger.sql
--                      and 20260923021047_update_pgrst_watch_triggers.sql (latest bodies):
--                      extensions.pgrst_ddl_watch() / extensions.pgrst_drop_watch() and the event
--                      triggers pgrst_ddl_watch / pgrst_drop_watch, which NOTIFY pgrst with
--                      'reload schema' after DDL (DDL inside auth, storage and realtime is
--                      ignored, as upstream). The notification is delivered at commit.
--   supabase/postgres  migrations/db/migrations/20220404205710_pg_graphql-on-by-default.sql:
--                      placeholder graphql_public.graphql() used when pg_graphql is absent.
--
-- Not created: the extensions.grant_pg_* / set_graphql_placeholder event triggers (pg_cron,
-- pg_net and pg_graphql are not part of bucketbase).
--
-- Event triggers belong to one database, so their creation is guarded per database.

create or replace function extensions.pgrst_ddl_watch()
returns event_trigger
language plpgsql
as $fn$
declare
  cmd record;
begin
  for cmd in select * from pg_event_trigger_ddl_commands() loop
    if (
         cmd.command_tag in (
           'CREATE SCHEMA', 'ALTER SCHEMA',
           'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
           'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE',
           'CREATE VIEW', 'ALTER VIEW',
           'CREATE MATERIALIZED VIEW', 'ALTER MATERIALIZED VIEW',
           'CREATE FUNCTION', 'ALTER FUNCTION',
           'CREATE TYPE', 'ALTER TYPE',
           'CREATE RULE',
           'COMMENT'
         )
         -- not for temporary objects, nor for the service schemas
         and coalesce(cmd.schema_name, '') not in ('pg_temp', 'auth', 'realtime', '_realtime', 'storage')
       )
       -- triggers (except on temporary tables) change what the API does
       or (cmd.command_tag = 'CREATE TRIGGER' and cmd.object_identity not like '% pg\_temp.%')
    then
      notify pgrst, 'reload schema';
    end if;
  end loop;
end
$fn$;

create or replace function extensions.pgrst_drop_watch()
returns event_trigger
language plpgsql
as $fn$
declare
  obj record;
begin
  for obj in select * from pg_event_trigger_dropped_objects() loop
    if (
         obj.object_type in (
           'schema', 'table', 'foreign table', 'view', 'materialized view',
           'function', 'type', 'rule'
         )
         and obj.is_temporary is false
         and coalesce(obj.schema_name, '') not in ('auth', 'realtime', '_realtime', 'storage')
       )
       or (obj.object_type = 'trigger' and obj.object_identity not like '% pg\_temp.%')
    then
      notify pgrst, 'reload schema';
    end if;
  end loop;
end
$fn$;

alter function extensions.pgrst_ddl_watch() owner to supabase_admin;
alter function extensions.pgrst_drop_watch() owner to supabase_admin;
grant execute on function extensions.pgrst_ddl_watch(), extensions.pgrst_drop_watch()
  to postgres with grant option;

do $evt$
begin
  if not exists (select 1 from pg_catalog.pg_event_trigger where evtname = 'pgrst_ddl_watch') then
    create event trigger pgrst_ddl_watch
      on ddl_command_end
      execute function extensions.pgrst_ddl_watch();
  end if;
  if not exists (select 1 from pg_catalog.pg_event_trigger where evtname = 'pgrst_drop_watch') then
    create event trigger pgrst_drop_watch
      on sql_drop
      execute function extensions.pgrst_drop_watch();
  end if;
end
$evt$;

-- ---------------------------------------------------------------------------------------
-- graphql_public.graphql(): answers that GraphQL is not available (pg_graphql is not
-- installed), in the GraphQL error shape.
-- ---------------------------------------------------------------------------------------

create or replace function graphql_public.graphql(
  "operationName" text  default null,
  query           text  default null,
  variables       jsonb default null,
  extensions      jsonb default null
)
returns jsonb
language plpgsql
as $fn$
begin
  return jsonb_build_object(
    'errors', jsonb_build_array(
      jsonb_build_object('message', 'pg_graphql extension is not enabled.')
    )
  );
end
$fn$;

alter function graphql_public.graphql(text, text, jsonb, jsonb) owner to supabase_admin;
grant all on function graphql_public.graphql(text, text, jsonb, jsonb)
  to postgres, anon, authenticated, service_role;

-- Whoever caches the schema (bucketbase's REST service) reloads after these migrations.
notify pgrst, 'reload schema';
