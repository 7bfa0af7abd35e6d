-- The storage schema, as Supabase Storage (supabase/storage) leaves it after its tenant
-- migrations.
--
-- Mirrors:
--   supabase/storage   migrations/tenant/0002 ... 0063 (those a fresh install runs; the
--                      "postgres-migrations ignore" ones 0026-0043 are skipped upstream too):
--                      buckets (public, avif_autodetection, file_size_limit, allowed_mime_types,
--                      owner_id, type, versioning_status), objects (path_tokens, version,
--                      owner_id, user_metadata, versioning columns), s3_multipart_uploads(_parts),
--                      the path helpers foldername/filename/extension, search, get_size_by_bucket,
--                      operation helpers, can_insert_object, and the triggers (updated_at,
--                      bucket name length, protection against direct DELETEs)
--   supabase/postgres  migrations/db/init-scripts/00000000000002-storage-schema.sql
--                      (schema grants, default privileges, supabase_storage_admin owns all)
--
-- Not created: storage.migrations (the storage server's bookkeeping), the analytics/vector
-- bucket tables (buckets_analytics, buckets_vectors, vector_indexes, iceberg_*), and the
-- storage server's internal listing functions (search_v2, search_by_timestamp,
-- list_objects_with_delimiter, list_multipart_uploads_with_delimiter).
--
-- Objects are created while acting as supabase_storage_admin, so they are owned by it exactly
-- as when the storage server runs its migrations.

grant usage on schema storage to postgres, anon, authenticated, service_role;
grant all on schema storage to supabase_storage_admin, dashboard_user, postgres;

-- What postgres creates in storage (e.g. a project's helper functions) is usable by the api
-- roles, as on Supabase.
alter default privileges for role postgres in schema storage
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema storage
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema storage
  grant all on sequences to postgres, anon, authenticated, service_role;

set local role supabase_storage_admin;

do $types$
begin
  create type storage.buckettype as enum ('STANDARD', 'ANALYTICS', 'VECTOR');
exception when duplicate_object then null;
end
$types$;

-- ---------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------

create table if not exists storage.buckets (
  id                 text not null,
  name               text not null,
  owner              uuid,
  created_at         timestamptz default now(),
  updated_at         timestamptz default now(),
  public             boolean default false,
  avif_autodetection boolean default false,
  file_size_limit    bigint,
  allowed_mime_types text[],
  owner_id           text,
  type               storage.buckettype not null default 'STANDARD',
  versioning_status  text not null default 'DISABLED',
  constraint buckets_pkey primary key (id),
  constraint buckets_versioning_status_check
    check (versioning_status in ('DISABLED', 'ENABLED', 'SUSPENDED')),
  constraint buckets_versioning_standard_only_check
    check (type = 'STANDARD' or versioning_status = 'DISABLED'),
  -- upstream ships versioning "dark": no bucket may enable it yet
  constraint buckets_versioning_dark_check check (versioning_status = 'DISABLED')
);
comment on column storage.buckets.owner is 'Field is deprecated, use owner_id instead';
create unique index if not exists bname on storage.buckets (name);

create table if not exists storage.objects (
  id               uuid not null default gen_random_uuid(),
  bucket_id        text,
  name             text,
  owner            uuid,
  created_at       timestamptz default now(),
  updated_at       timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata         jsonb,
  path_tokens      text[] generated always as (string_to_array(name, '/')) stored,
  version          text,
  owner_id         text,
  user_metadata    jsonb,
  archived_at      timestamptz,
  is_delete_marker boolean not null default false,
  is_versioned     boolean not null default false,
  constraint objects_pkey primary key (id),
  constraint "objects_bucketId_fkey" foreign key (bucket_id) references storage.buckets (id)
);
comment on column storage.objects.owner is 'Field is deprecated, use owner_id instead';
create unique index if not exists bucketid_objname on storage.objects (bucket_id, name);
create index if not exists name_prefix_search on storage.objects (name text_pattern_ops);
create index if not exists idx_objects_bucket_id_name on storage.objects (bucket_id, name collate "C");
create index if not exists idx_objects_bucket_id_name_lower on storage.objects (bucket_id, lower(name) collate "C");

create table if not exists storage.s3_multipart_uploads (
  id               text not null,
  in_progress_size bigint not null default 0,
  upload_signature text not null,
  bucket_id        text not null,
  key              text collate "C" not null,
  version          text not null,
  owner_id         text,
  created_at       timestamptz not null default now(),
  user_metadata    jsonb,
  metadata         jsonb,
  constraint s3_multipart_uploads_pkey primary key (id),
  constraint s3_multipart_uploads_bucket_id_fkey foreign key (bucket_id) references storage.buckets (id)
);
create index if not exists idx_multipart_uploads_list
  on storage.s3_multipart_uploads (bucket_id, key, created_at);

create table if not exists storage.s3_multipart_uploads_parts (
  id          uuid not null default gen_random_uuid(),
  upload_id   text not null,
  size        bigint not null default 0,
  part_number integer not null,
  bucket_id   text not null,
  key         text collate "C" not null,
  etag        text not null,
  owner_id    text,
  version     text not null,
  created_at  timestamptz not null default now(),
  constraint s3_multipart_uploads_parts_pkey primary key (id),
  constraint s3_multipart_uploads_parts_upload_id_fkey foreign key (upload_id)
    references storage.s3_multipart_uploads (id) on delete cascade,
  constraint s3_multipart_uploads_parts_bucket_id_fkey foreign key (bucket_id)
    references storage.buckets (id)
);

alter table storage.buckets                    enable row level security;
alter table storage.objects                    enable row level security;
alter table storage.s3_multipart_uploads       enable row level security;
alter table storage.s3_multipart_uploads_parts enable row level security;

-- ---------------------------------------------------------------------------------------
-- Path helpers, used in policies such as
--   (storage.foldername(name))[1] = auth.uid()::text
-- ---------------------------------------------------------------------------------------

-- 'a/b/c.png' -> {a,b}
create or replace function storage.foldername(name text)
returns text[]
language plpgsql
immutable
as $fn$
declare
  segments text[] := string_to_array(name, '/');
begin
  return segments[1 : array_length(segments, 1) - 1];
end
$fn$;

-- 'a/b/c.png' -> 'c.png'
create or replace function storage.filename(name text)
returns text
language plpgsql
immutable
as $fn$
declare
  segments text[] := string_to_array(name, '/');
begin
  return segments[array_length(segments, 1)];
end
$fn$;

-- 'a/b/c.tar.gz' -> 'gz' (text after the last dot of the file name; the whole file name when
-- it has no dot)
create or replace function storage.extension(name text)
returns text
language plpgsql
immutable
as $fn$
declare
  segments text[] := string_to_array(name, '/');
  file_name text := segments[array_length(segments, 1)];
begin
  return reverse(split_part(reverse(file_name), '.', 1));
end
$fn$;

-- The part of p_key up to and including the first delimiter after p_prefix, or null when the
-- key has no further delimiter (i.e. it is a file directly under the prefix).
create or replace function storage.get_common_prefix(p_key text, p_prefix text, p_delimiter text)
returns text
language sql
immutable
as $fn$
  select case
    when position(p_delimiter in substring(p_key from length(p_prefix) + 1)) > 0
      then left(p_key, length(p_prefix) + position(p_delimiter in substring(p_key from length(p_prefix) + 1)))
    else null
  end
$fn$;

-- ---------------------------------------------------------------------------------------
-- Listing: one level of a bucket under a prefix, folders and files, as the storage API's
-- "list" returns it. Folder rows have null id/timestamps/metadata. Runs with the caller's
-- rights, so RLS applies. `levels` is accepted and ignored, as upstream.
--   sortcolumn 'name' (the default): objects whose name starts with prefix || search,
--     compared case-insensitively; folders and files interleaved by lower-cased name in byte
--     order; names relative to prefix; folders differing only in case are listed once.
--   sortcolumn created_at / updated_at / last_accessed_at: folders first (by name), then the
--     files by that column; folders and names taken from path_tokens.
-- ---------------------------------------------------------------------------------------

create or replace function storage.search(
  prefix     text,
  bucketname text,
  limits     int  default 100,
  levels     int  default 1,
  offsets    int  default 0,
  search     text default '',
  sortcolumn text default 'name',
  sortorder  text default 'asc'
)
returns table (
  name             text,
  id               uuid,
  updated_at       timestamptz,
  created_at       timestamptz,
  last_accessed_at timestamptz,
  metadata         jsonb
)
language plpgsql
stable
as $fn$
declare
  v_prefix    text := coalesce(prefix, '');
  v_match     text := lower(coalesce(prefix, '') || coalesce(search, ''));
  v_limit     int  := least(coalesce(limits, 100), 1500);
  v_offset    int  := greatest(coalesce(offsets, 0), 0);
  v_direction text := case when lower(coalesce(sortorder, 'asc')) = 'asc' then 'asc' else 'desc' end;
  v_column    text := case lower(coalesce(sortcolumn, 'name'))
                        when 'updated_at' then 'updated_at'
                        when 'created_at' then 'created_at'
                        when 'last_accessed_at' then 'last_accessed_at'
                        else 'name'
                      end;
  -- path_tokens positions of the listed level (for the non-name sort)
  v_first     int  := coalesce(array_length(string_to_array(coalesce(prefix, ''), '/'), 1), 1);
  v_level     int  := coalesce(array_length(string_to_array(coalesce(prefix, '') || coalesce(search, ''), '/'), 1), 1);
begin
  if v_column = 'name' then
    return query execute format(
      $sql$
      with matched as (
        select o.name as full_name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata,
               storage.get_common_prefix(o.name, $3, '/') as folder_path
        from storage.objects o
        where o.bucket_id = $1
          and left(lower(o.name), length($3)) = $3
      ),
      entries as (
        select lower(m.full_name) as sort_key,
               substring(m.full_name from length($2) + 1) as name,
               m.id, m.updated_at, m.created_at, m.last_accessed_at, m.metadata
        from matched m
        where m.folder_path is null
        union all
        select lower(m.folder_path),
               (array_agg(substring(rtrim(m.folder_path, '/') from length($2) + 1)
                          order by lower(m.full_name) collate "C"))[1],
               null::uuid, null::timestamptz, null::timestamptz, null::timestamptz, null::jsonb
        from matched m
        where m.folder_path is not null
        group by lower(m.folder_path)
      )
      select e.name, e.id, e.updated_at, e.created_at, e.last_accessed_at, e.metadata
      from entries e
      order by e.sort_key collate "C" %s
      limit $4 offset $5
      $sql$,
      v_direction
    )
    using bucketname, v_prefix, v_match, v_limit, v_offset;
  else
    return query execute format(
      $sql$
      with matched as (
        select o.*
        from storage.objects o
        where o.bucket_id = $1
          and left(lower(o.name), length($2)) = $2
      ),
      entries as (
        select 0 as kind, f.folder as name,
               null::uuid as id, null::timestamptz as updated_at, null::timestamptz as created_at,
               null::timestamptz as last_accessed_at, null::jsonb as metadata
        from (
          select distinct array_to_string(m.path_tokens[$3:$4], '/') as folder
          from matched m
          where array_length(m.path_tokens, 1) <> $4
        ) f
        union all
        select 1, array_to_string(m.path_tokens[$3:$4], '/'),
               m.id, m.updated_at, m.created_at, m.last_accessed_at, m.metadata
        from matched m
        where array_length(m.path_tokens, 1) = $4
      )
      select e.name, e.id, e.updated_at, e.created_at, e.last_accessed_at, e.metadata
      from entries e
      order by e.kind, case when e.kind = 0 then e.name end %1$s, e.%2$I %1$s
      limit $5 offset $6
      $sql$,
      v_direction, v_column
    )
    using bucketname, v_match, v_first, v_level, v_limit, v_offset;
  end if;
end
$fn$;

-- Bytes stored per bucket (from the size recorded in each object's metadata).
create or replace function storage.get_size_by_bucket()
returns table (size bigint, bucket_id text)
language plpgsql
stable
as $fn$
begin
  return query
    select sum((o.metadata ->> 'size')::bigint)::bigint, o.bucket_id
    from storage.objects o
    group by o.bucket_id;
end
$fn$;

-- ---------------------------------------------------------------------------------------
-- Operation-aware policies: the storage API sets storage.operation (e.g. 'object.upload')
-- in the request transaction.
-- ---------------------------------------------------------------------------------------

create or replace function storage.operation()
returns text
language plpgsql
stable
as $fn$
begin
  return current_setting('storage.operation', true);
end
$fn$;

-- true when the current operation is the given one ('storage.' prefix optional on both sides)
create or replace function storage.allow_only_operation(expected_operation text)
returns boolean
language sql
stable
as $fn$
  with op as (
    select regexp_replace(storage.operation(), '^storage\.', '') as current_op,
           regexp_replace(expected_operation, '^storage\.', '') as wanted_op
  )
  select case
    when wanted_op is null or wanted_op = '' then false
    else coalesce(current_op = wanted_op, false)
  end
  from op
$fn$;

-- true when the current operation is any of the given ones
create or replace function storage.allow_any_operation(expected_operations text[])
returns boolean
language sql
stable
as $fn$
  select exists (
    select 1
    from unnest(expected_operations) as wanted(op)
    where wanted.op is not null
      and wanted.op <> ''
      and regexp_replace(wanted.op, '^storage\.', '') =
          regexp_replace(storage.operation(), '^storage\.', '')
  )
$fn$;

-- Probe: would the caller be allowed to insert this object? Raises PT200 ('ROLLBACK') when
-- the insert passed, so nothing is kept; raises the RLS error otherwise.
create or replace function storage.can_insert_object(bucketid text, name text, owner uuid, metadata jsonb)
returns void
language plpgsql
as $fn$
begin
  insert into storage.objects (bucket_id, name, owner, metadata)
  values (bucketid, name, owner, metadata);
  raise sqlstate 'PT200' using message = 'ROLLBACK', detail = 'rollback successful insert';
end
$fn$;

-- ---------------------------------------------------------------------------------------
-- Triggers
-- ---------------------------------------------------------------------------------------

create or replace function storage.update_updated_at_column()
returns trigger
language plpgsql
as $fn$
begin
  new.updated_at = now();
  return new;
end
$fn$;

create or replace function storage.enforce_bucket_name_length()
returns trigger
language plpgsql
as $fn$
begin
  if length(new.name) > 100 then
    raise exception 'bucket name "%" is too long (% characters). Max is 100.', new.name, length(new.name);
  end if;
  return new;
end
$fn$;

-- Rows of storage.objects / storage.buckets may only be deleted through the storage API,
-- which sets storage.allow_delete_query = 'true' in its transaction; otherwise the files in
-- the object store would be orphaned.
create or replace function storage.protect_delete()
returns trigger
language plpgsql
as $fn$
begin
  if coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' then
    raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      using hint = 'This prevents accidental data loss from orphaned objects.',
            errcode = '42501';
  end if;
  return null;
end
$fn$;

create or replace trigger update_objects_updated_at
  before update on storage.objects
  for each row execute function storage.update_updated_at_column();

create or replace trigger enforce_bucket_name_length_trigger
  before insert or update of name on storage.buckets
  for each row execute function storage.enforce_bucket_name_length();

create or replace trigger protect_buckets_delete
  before delete on storage.buckets
  for each statement execute function storage.protect_delete();

create or replace trigger protect_objects_delete
  before delete on storage.objects
  for each statement execute function storage.protect_delete();

reset role;

-- ---------------------------------------------------------------------------------------
-- Grants: buckets and objects are fully granted to the api roles (RLS decides); multipart
-- upload bookkeeping is written by service_role only.
-- ---------------------------------------------------------------------------------------

grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
grant all on storage.buckets, storage.objects to postgres with grant option;

revoke all on storage.s3_multipart_uploads, storage.s3_multipart_uploads_parts from anon, authenticated;
grant all on storage.s3_multipart_uploads, storage.s3_multipart_uploads_parts to service_role;
grant select on storage.s3_multipart_uploads, storage.s3_multipart_uploads_parts to anon, authenticated;

grant all on function storage.foldername(text), storage.filename(text), storage.extension(text)
  to postgres, anon, authenticated, service_role, dashboard_user;
