-- The platform's media in storage (seed §4, issue 12): two buckets and their policies on
-- storage.objects, written the way a Supabase project writes them, so the storage service's
-- RLS decides with no application code in between.
--
--   content   private. Objects live under `<artist id>/…`. Only that artist writes there.
--             Reading follows content_items: an object is readable when a content item the
--             caller may see (content_items' own policies apply inside the check: public for
--             anyone, subscribers at or above the item's tier, the artist) names it in
--             `storage_path` and its unlock date has passed; the artist reads everything in
--             their own folder.
--   avatars   public (downloads need no token). Users write only their own folder
--             `<user id>/…`.
--
-- A content item may only name a file in its own artist's folder; otherwise an artist could
-- publish another artist's paid file as their own public item.

insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values
  ('content', 'content', false, null, array['audio/*', 'video/*', 'image/*']),
  ('avatars', 'avatars', true, 5000000, array['image/*'])
on conflict (id) do nothing;

alter table public.content_items
  add constraint content_items_storage_path_own_folder
  check (storage_path is null or storage_path like artist_id::text || '/%');
create index content_items_storage_path_idx on public.content_items (storage_path)
  where storage_path is not null;

-- The caller's artist id, as text (the folder name), or null.
create or replace function platform_private.my_artist_folder() returns text
language plpgsql stable security definer set search_path = '' as $$
begin
  return (select a.id::text from public.artists a where a.user_id = auth.uid());
end $$;
grant execute on function platform_private.my_artist_folder() to anon, authenticated, service_role;

create policy content_files_artist_insert on storage.objects for insert to authenticated
  with check (bucket_id = 'content'
              and (storage.foldername(name))[1] = (select platform_private.my_artist_folder()));
create policy content_files_artist_update on storage.objects for update to authenticated
  using (bucket_id = 'content'
         and (storage.foldername(name))[1] = (select platform_private.my_artist_folder()))
  with check (bucket_id = 'content'
              and (storage.foldername(name))[1] = (select platform_private.my_artist_folder()));
create policy content_files_artist_delete on storage.objects for delete to authenticated
  using (bucket_id = 'content'
         and (storage.foldername(name))[1] = (select platform_private.my_artist_folder()));
create policy content_files_read on storage.objects for select to anon, authenticated
  using (bucket_id = 'content'
         and ((storage.foldername(name))[1] = (select platform_private.my_artist_folder())
              or exists (select 1 from public.content_items c
                         where c.storage_path = objects.name
                           and (c.unlock_at is null or c.unlock_at <= now()))));

create policy avatars_read on storage.objects for select to anon, authenticated
  using (bucket_id = 'avatars');
create policy avatars_own_insert on storage.objects for insert to authenticated
  with check (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid()::text));
create policy avatars_own_update on storage.objects for update to authenticated
  using (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid()::text))
  with check (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid()::text));
create policy avatars_own_delete on storage.objects for delete to authenticated
  using (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid()::text));
