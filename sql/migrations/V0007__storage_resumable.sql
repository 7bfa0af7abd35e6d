-- The state of TUS resumable uploads (`/storage/v1/upload/resumable`).
--
-- Mirrors:
--   supabase/storage   src/storage/protocols/tus/* with @tus/server's data stores, which keep an
--                      upload's id, size, offset, metadata and creation date beside its bytes
--                      (the file store's JSON config store, the S3 store's `.info` object). Here
--                      that record is one row per upload, and the bytes received so far are part
--                      objects in the object store (one per PATCH), joined into the object's
--                      version key when the last byte arrives.
--
-- Only the storage service writes this schema, on its privileged connection; the API roles
-- (anon, authenticated, service_role) get nothing, so PostgREST never exposes it.

create schema if not exists storage_resumable;
revoke all on schema storage_resumable from public;

create table if not exists storage_resumable.uploads (
  -- The id of the upload's URL: base64url of `<bucket>/<name>/<version>`, as upstream's.
  id             text primary key,
  bucket_id      text not null,
  name           text not null,
  -- The version key the object is published at (`<bucket>/<name>/<version>`), a UUID.
  version        text not null unique,
  -- The owner the object row gets (the caller's `sub`, or the signed upload token's `owner`).
  owner_id       text,
  -- Whether the object may replace an existing one (`x-upsert`, or the token's `upsert`).
  upsert         boolean not null default false,
  -- `Upload-Length` and the bytes stored so far.
  upload_length  bigint not null check (upload_length >= 0),
  upload_offset  bigint not null default 0,
  -- The `Upload-Metadata` pairs as HEAD echoes them (cacheControl normalised as upstream's).
  metadata       jsonb not null default '{}'::jsonb,
  content_type   text not null,
  cache_control  text not null,
  user_metadata  jsonb,
  created_at     timestamptz not null default now(),
  expires_at     timestamptz not null,
  -- Set once the object row was written; HEAD then reports the whole length until expiry.
  completed_at   timestamptz,
  constraint uploads_offset_within_length
    check (upload_offset >= 0 and upload_offset <= upload_length)
);

create index if not exists uploads_expires_at on storage_resumable.uploads (expires_at);

revoke all on all tables in schema storage_resumable from public;
