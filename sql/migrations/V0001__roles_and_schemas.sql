-- Roles, schemas, extensions and the realtime publication.
--
-- Mirrors what the Supabase Postgres image sets up before any service runs:
--   supabase/postgres  migrations/db/init-scripts/00000000000000-initial-schema.sql
--                      (api roles, authenticator, extensions schema, public default
--                      privileges, statement timeouts, empty supabase_realtime publication)
--                      migrations/db/init-scripts/00000000000003-post-setup.sql
--                      (search_path of postgres / supabase_admin, dashboard_user)
--                      migrations/db/migrations/* (api roles INHERIT, api roles granted to
--                      postgres, authenticator timeouts, graphql_public schema, realtime schema,
--                      supabase_storage_admin member of authenticator,
--                      supabase_auth_admin NOCREATEROLE)
--   supabase/auth      init role supabase_auth_admin (search_path auth)
--   supabase/storage   init role supabase_storage_admin (search_path storage)
--   supabase/realtime  role supabase_realtime_admin
--
-- Roles are cluster-global: every role is created only when missing, so this file also runs
-- in a second database of the same cluster. No role gets a password here; the server sets
-- the ones it logs in with. Runs as a superuser, inside one transaction.

-- ---------------------------------------------------------------------------------------
-- Roles
-- ---------------------------------------------------------------------------------------

do $roles$
declare
  spec record;
begin
  for spec in
    select *
    from (values
      -- name,                     attributes used when the role is missing
      ('anon',                    'nologin inherit'),
      ('authenticated',           'nologin inherit'),
      ('service_role',            'nologin inherit bypassrls'),
      ('authenticator',           'login noinherit'),
      ('supabase_admin',          'nologin noinherit'),
      ('supabase_auth_admin',     'login noinherit noreplication'),
      ('supabase_storage_admin',  'login noinherit createrole noreplication'),
      ('supabase_realtime_admin', 'nologin noinherit noreplication'),
      ('dashboard_user',          'nologin')
    ) as r(name, attrs)
  loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = spec.name) then
      begin
        execute format('create role %I %s', spec.name, spec.attrs);
      exception
        -- another database of the cluster created it concurrently
        when duplicate_object or unique_violation then null;
      end;
    end if;
  end loop;
end
$roles$;

-- The attributes that matter for security and for SET ROLE, asserted on every run (also when
-- the roles already existed). The image creates the api roles NOINHERIT; upstream turned them
-- to INHERIT in 2023
-- (20230529180330_alter_api_roles_for_inherit) and took CREATEROLE from supabase_auth_admin
-- (20260821154147_revoke_createrole_from_auth_admin).
alter role anon                    nologin inherit nobypassrls;
alter role authenticated           nologin inherit nobypassrls;
alter role service_role            nologin inherit bypassrls;
alter role authenticator           login noinherit nobypassrls;
alter role supabase_auth_admin     noinherit nocreaterole;
alter role supabase_storage_admin  noinherit createrole;
alter role supabase_realtime_admin noinherit;

-- Memberships. authenticator switches to the api roles per request (SET ROLE);
-- postgres may act as them; the storage service logs in as supabase_storage_admin and
-- reaches the api roles through authenticator; realtime probes RLS as the api roles.
-- (only the missing ones are granted, so re-runs in other databases stay quiet)
do $members$
declare
  m record;
begin
  for m in
    select *
    from (values
      ('anon', 'authenticator'), ('authenticated', 'authenticator'), ('service_role', 'authenticator'),
      ('anon', 'postgres'), ('authenticated', 'postgres'), ('service_role', 'postgres'),
      ('authenticator', 'supabase_storage_admin'),
      ('anon', 'supabase_realtime_admin'), ('authenticated', 'supabase_realtime_admin'),
      ('service_role', 'supabase_realtime_admin')
    ) as g(granted, member)
  loop
    if not exists (
      select 1 from pg_catalog.pg_auth_members am
      where am.roleid = (select oid from pg_catalog.pg_roles where rolname = m.granted)
        and am.member = (select oid from pg_catalog.pg_roles where rolname = m.member)
    ) then
      execute format('grant %I to %I', m.granted, m.member);
    end if;
  end loop;
end
$members$;

-- Per-role settings, as on Supabase.
alter role anon                    set statement_timeout = '3s';
alter role authenticated           set statement_timeout = '8s';
alter role authenticator           set statement_timeout = '8s';
alter role authenticator           set lock_timeout = '8s';
alter role supabase_auth_admin     set search_path = auth;
alter role supabase_auth_admin     set idle_in_transaction_session_timeout = 60000;
alter role supabase_storage_admin  set search_path = storage;
alter role supabase_realtime_admin set search_path = public, extensions, realtime;
alter role supabase_admin          set search_path = "$user", public, auth, extensions;
-- Supabase projects call uuid_generate_v4(), gen_random_bytes(), crypt() ... unqualified in
-- their migrations and seeds; that works because postgres has extensions on its search_path.
alter role postgres                set search_path = "$user", public, extensions;

-- ---------------------------------------------------------------------------------------
-- Schemas and extensions
-- ---------------------------------------------------------------------------------------

create schema if not exists extensions;
create schema if not exists auth           authorization supabase_admin;
create schema if not exists storage        authorization supabase_admin;
create schema if not exists realtime       authorization supabase_admin;
create schema if not exists graphql_public authorization supabase_admin;

create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto    with schema extensions;

-- ---------------------------------------------------------------------------------------
-- public: every api role may use it, and whatever postgres (or supabase_admin) creates in
-- it is granted to them, so that RLS policies are the real gate.
-- ---------------------------------------------------------------------------------------

grant usage on schema public to postgres, anon, authenticated, service_role;

alter default privileges for role postgres in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;

alter default privileges for role supabase_admin in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;

-- Objects that were already in public before this migration get the same grants, except the
-- migration runner's own history table (refinery creates refinery_schema_history in public
-- before the first migration runs; it must not become readable or writable through the API).
do $existing$
declare
  rel record;
begin
  for rel in
    select c.relname, c.relkind
    from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace
      and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
      and c.relname not like 'refinery\_%'
      -- objects belonging to extensions keep the extension's own grants
      and not exists (
        select 1 from pg_catalog.pg_depend d
        where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
      )
  loop
    execute format('grant all on %s public.%I to postgres, anon, authenticated, service_role',
                   case when rel.relkind = 'S' then 'sequence' else 'table' end, rel.relname);
  end loop;
  for rel in
    select p.oid::regprocedure as signature
    from pg_catalog.pg_proc p
    where p.pronamespace = 'public'::regnamespace
      and p.prokind in ('f', 'p', 'w')
      and not exists (
        select 1 from pg_catalog.pg_depend d
        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
      )
  loop
    execute format('grant all on routine %s to postgres, anon, authenticated, service_role', rel.signature);
  end loop;
end
$existing$;

-- ---------------------------------------------------------------------------------------
-- extensions: usable from the API.
-- ---------------------------------------------------------------------------------------

grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant all on schema extensions to dashboard_user;

grant all on all tables    in schema extensions to postgres with grant option;
grant all on all routines  in schema extensions to postgres with grant option;
grant all on all sequences in schema extensions to postgres with grant option;
grant all on all tables    in schema extensions to dashboard_user;
grant all on all routines  in schema extensions to dashboard_user;
grant all on all sequences in schema extensions to dashboard_user;

alter default privileges for role supabase_admin in schema extensions
  grant all on tables to postgres with grant option;
alter default privileges for role supabase_admin in schema extensions
  grant all on routines to postgres with grant option;
alter default privileges for role supabase_admin in schema extensions
  grant all on sequences to postgres with grant option;

-- ---------------------------------------------------------------------------------------
-- graphql_public: the schema PostgREST exposes next to public on Supabase.
-- ---------------------------------------------------------------------------------------

grant usage on schema graphql_public to postgres, anon, authenticated, service_role;

alter default privileges for role supabase_admin in schema graphql_public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema graphql_public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema graphql_public
  grant all on sequences to postgres, anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------
-- Realtime publication: created empty; projects add their tables with
-- `alter publication supabase_realtime add table ...`. Publications are per database and
-- CREATE PUBLICATION has no IF NOT EXISTS.
-- ---------------------------------------------------------------------------------------

do $pub$
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$pub$;
