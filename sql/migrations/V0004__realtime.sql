-- The realtime schema: what Supabase Realtime (supabase/realtime) creates in a tenant database
-- and what policies and triggers of a project refer to.
--
-- Mirrors:
--   supabase/realtime  lib/realtime/tenants/repo/migrations/* up to 20260709120000, whose end
--                      state upstream keeps in priv/repo/tenant_schema/realtime/**:
--                      realtime.messages (authorisation of private channels through RLS),
--                      realtime.topic(), realtime.send(), realtime.send_binary(),
--                      realtime.broadcast_changes(), realtime.subscription with its filter types,
--                      realtime.to_regrole(), realtime.cast() and the tr_check_filters trigger
--   supabase/postgres  migrations/db/init-scripts/00000000000003-realtime-schema.sql and
--                      migrations/db/migrations/2021112*_update-realtime-permissions.sql
--
-- Differences from upstream, on purpose:
--   * realtime.messages is a plain table, not partitioned by day: bucketbase does not run
--     Realtime's partition janitor, and a partitioned table without partitions rejects inserts.
--     Columns, defaults, keys, the replay index, RLS and grants are the same.
--   * The WAL-decoding machinery of Realtime's own server (apply_rls, list_changes,
--     build_prepared_statement_sql, is_visible_through_filters, check_equality_op,
--     quote_wal2json, wal2json_escape_identifier) and realtime.schema_migrations are not
--     created: bucketbase's realtime service does that work itself.
--
-- Objects are created while acting as supabase_realtime_admin, which owns them upstream.

grant usage on schema realtime to postgres with grant option;
grant usage on schema realtime to anon, authenticated, service_role;
grant all on schema realtime to supabase_realtime_admin with grant option;

alter default privileges for role supabase_admin in schema realtime
  grant all on tables to postgres, dashboard_user;
alter default privileges for role supabase_admin in schema realtime
  grant all on functions to postgres, dashboard_user;
alter default privileges for role supabase_admin in schema realtime
  grant all on sequences to postgres, dashboard_user;

set local role supabase_realtime_admin;

-- ---------------------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------------------

do $types$
begin
  begin
    create type realtime.action as enum ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'ERROR');
  exception when duplicate_object then null;
  end;
  begin
    create type realtime.equality_op as enum (
      'eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in',
      'like', 'ilike', 'is', 'match', 'imatch', 'isdistinct'
    );
  exception when duplicate_object then null;
  end;
  begin
    create type realtime.user_defined_filter as (
      column_name text,
      op          realtime.equality_op,
      value       text,
      negate      boolean
    );
  exception when duplicate_object then null;
  end;
  begin
    create type realtime.wal_column as (
      name          text,
      type_name     text,
      type_oid      oid,
      value         jsonb,
      is_pkey       boolean,
      is_selectable boolean
    );
  exception when duplicate_object then null;
  end;
  begin
    create type realtime.wal_rls as (
      wal              jsonb,
      is_rls_enabled   boolean,
      subscription_ids uuid[],
      errors           text[]
    );
  exception when duplicate_object then null;
  end;
end
$types$;

-- ---------------------------------------------------------------------------------------
-- Broadcast / presence authorisation: a channel join or send is allowed when an RLS policy
-- on realtime.messages lets the caller's role see (SELECT) or write (INSERT) a row of that
-- topic. realtime.topic() returns the channel being checked.
-- ---------------------------------------------------------------------------------------

create table if not exists realtime.messages (
  topic          text not null,
  extension      text not null,
  payload        jsonb,
  event          text,
  private        boolean default false,
  updated_at     timestamp not null default now(),
  inserted_at    timestamp not null default now(),
  id             uuid not null default gen_random_uuid(),
  binary_payload bytea,
  constraint messages_pkey primary key (id, inserted_at)
);

do $check$
begin
  if not exists (
    select 1 from pg_catalog.pg_constraint
    where conrelid = 'realtime.messages'::regclass and conname = 'messages_payload_exclusive'
  ) then
    alter table realtime.messages
      add constraint messages_payload_exclusive
      check (payload is null or binary_payload is null) not valid;
  end if;
end
$check$;

-- replay of recent private broadcasts
create index if not exists messages_inserted_at_topic_index
  on realtime.messages (inserted_at desc, topic)
  where (extension = 'broadcast' and private is true);

alter table realtime.messages enable row level security;

create or replace function realtime.topic()
returns text
language sql
stable
as $fn$
  select nullif(current_setting('realtime.topic', true), '')::text
$fn$;

-- Broadcast from the database: store a message for `topic`; the realtime service forwards it
-- to the channel's subscribers. Errors are reported as warnings so that the caller's
-- transaction is never aborted by a broadcast.
create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $fn$
declare
  message_id uuid := gen_random_uuid();
begin
  begin
    -- the payload carries the message id unless the caller already set one
    if not (payload ? 'id') then
      payload := jsonb_set(payload, '{id}', to_jsonb(message_id));
    end if;
    -- policies evaluated during the insert may use realtime.topic()
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (message_id, payload, event, topic, private, 'broadcast');
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$fn$;

create or replace function realtime.send_binary(payload bytea, event text, topic text, private boolean default true)
returns void
language plpgsql
as $fn$
begin
  begin
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, binary_payload, event, topic, private, extension)
    values (gen_random_uuid(), payload, event, topic, private, 'broadcast');
  exception when others then
    raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
  end;
end
$fn$;

-- For row triggers: broadcast the change of a row as
--   {"old_record": ..., "record": ..., "operation": ..., "table": ..., "schema": ...}
-- e.g. perform realtime.broadcast_changes('room:' || new.room_id, tg_op, tg_op,
--        tg_table_name, tg_table_schema, new, old);
create or replace function realtime.broadcast_changes(
  topic_name   text,
  event_name   text,
  operation    text,
  table_name   text,
  table_schema text,
  new          record,
  old          record,
  level        text default 'ROW'
)
returns void
language plpgsql
as $fn$
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation not in ('INSERT', 'UPDATE', 'DELETE') then
    raise exception 'Unexpected operation type: %', operation;
  end if;
  perform realtime.send(
    jsonb_build_object(
      'old_record', old,
      'record', new,
      'operation', operation,
      'table', table_name,
      'schema', table_schema
    ),
    event_name,
    topic_name
  );
exception when others then
  raise exception 'Failed to process the row: %', sqlerrm;
end
$fn$;

-- ---------------------------------------------------------------------------------------
-- Postgres-changes subscriptions (one row per subscribed channel filter).
-- ---------------------------------------------------------------------------------------

-- immutable so that it may be used in the generated column below
create or replace function realtime.to_regrole(role_name text)
returns regrole
language sql
immutable
as $fn$ select role_name::regrole $fn$;

-- value cast to the column type, as json (raises when the value does not fit the type)
create or replace function realtime."cast"(val text, type_ regtype)
returns jsonb
language plpgsql
immutable
as $fn$
declare
  result jsonb;
begin
  if type_ = 'bytea'::regtype then
    return to_jsonb(val);
  end if;
  execute format('select to_jsonb(%L::%s)', val, type_::text) into result;
  return result;
end
$fn$;

create table if not exists realtime.subscription (
  id               bigint generated always as identity not null,
  subscription_id  uuid not null,
  entity           regclass not null,
  filters          realtime.user_defined_filter[] not null default '{}',
  claims           jsonb not null,
  claims_role      regrole not null generated always as (realtime.to_regrole(claims ->> 'role')) stored,
  created_at       timestamp not null default timezone('utc', now()),
  action_filter    text default '*',
  selected_columns text[],
  constraint pk_subscription primary key (id),
  constraint subscription_action_filter_check
    check (action_filter in ('*', 'INSERT', 'UPDATE', 'DELETE'))
);
create index if not exists ix_realtime_subscription_entity on realtime.subscription (entity);
create unique index if not exists subscription_subscription_id_entity_filters_action_filter_selec
  on realtime.subscription (subscription_id, entity, filters, action_filter, coalesce(selected_columns, '{}'));

-- Validates a subscription before it is stored: every filter and selected column must name a
-- column the claimed role may SELECT, every filter value must make sense for its operator and
-- the column type. Filters and selected columns are stored in a canonical order so that the
-- unique index cannot be dodged by reordering them.
create or replace function realtime.subscription_check_filters()
returns trigger
language plpgsql
as $fn$
declare
  visible_columns text[];
  f realtime.user_defined_filter;
  col_type regtype;
  in_values jsonb;
  wanted_column text;
begin
  select coalesce(array_agg(a.attname::text order by a.attnum), '{}')
    into visible_columns
  from pg_catalog.pg_attribute a
  where a.attrelid = new.entity
    and a.attnum > 0
    and not a.attisdropped
    and pg_catalog.has_column_privilege(new.claims ->> 'role', a.attrelid, a.attnum, 'SELECT');

  foreach f in array new.filters loop
    if not f.column_name = any (visible_columns) then
      raise exception 'invalid column for filter %', f.column_name;
    end if;

    select a.atttypid::regtype into col_type
    from pg_catalog.pg_attribute a
    where a.attrelid = new.entity and a.attname = f.column_name;
    if col_type is null then
      raise exception 'failed to lookup type for column %', f.column_name;
    end if;

    if f.op = 'in' then
      in_values := realtime."cast"(f.value, (col_type::text || '[]')::regtype);
      if coalesce(jsonb_array_length(in_values), 0) > 100 then
        raise exception 'too many values for `in` filter. Maximum 100';
      end if;
    elsif f.op = 'is' then
      if f.value not in ('null', 'true', 'false', 'unknown') then
        raise exception 'invalid value for is filter: must be null, true, false, or unknown';
      end if;
      if f.value <> 'null' and col_type <> 'boolean'::regtype then
        raise exception 'is % filter requires a boolean column, got %', f.value, col_type::text;
      end if;
    elsif f.op in ('like', 'ilike') then
      if not exists (
        select 1 from pg_catalog.pg_operator
        where oprname = '~~' and oprleft = col_type
      ) then
        raise exception 'operator % requires a text-compatible column type, got %', f.op::text, col_type::text;
      end if;
    elsif f.op in ('match', 'imatch') then
      if not exists (
        select 1 from pg_catalog.pg_operator
        where oprname = case when f.op = 'imatch' then '~*' else '~' end
          and oprleft = col_type
          and oprright = col_type
          and oprresult = 'boolean'::regtype
      ) then
        raise exception 'operator % requires a text-compatible column type, got %', f.op::text, col_type::text;
      end if;
      begin
        perform '' ~ f.value;
      exception when others then
        raise exception 'invalid regular expression for % filter: %', f.op::text, sqlerrm;
      end;
    else
      -- eq, neq, lt, lte, gt, gte, isdistinct: the value must cast to the column type
      perform realtime."cast"(f.value, col_type);
    end if;
  end loop;

  if new.selected_columns is not null then
    foreach wanted_column in array new.selected_columns loop
      if not wanted_column = any (visible_columns) then
        raise exception 'invalid column for select %', wanted_column;
      end if;
    end loop;
  end if;

  new.filters := coalesce(
    (select array_agg(x order by x.column_name, x.op, x.value, x.negate) from unnest(new.filters) x),
    '{}'
  );
  new.selected_columns := (select array_agg(c order by c) from unnest(new.selected_columns) c);
  return new;
end
$fn$;

create or replace trigger tr_check_filters
  before insert or update on realtime.subscription
  for each row execute function realtime.subscription_check_filters();

reset role;

-- ---------------------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------------------

grant select, insert, update on realtime.messages to anon, authenticated, service_role;
grant all on realtime.messages to postgres, dashboard_user;

grant select on realtime.subscription to anon, authenticated, service_role;
grant all on realtime.subscription to postgres, dashboard_user;
grant usage on sequence realtime.subscription_id_seq to anon, authenticated, service_role;
grant all on sequence realtime.subscription_id_seq to postgres, dashboard_user;

grant execute on all functions in schema realtime to postgres, dashboard_user;
grant execute on function
  realtime.to_regrole(text),
  realtime."cast"(text, regtype),
  realtime.subscription_check_filters()
  to anon, authenticated, service_role;
