-- storage.search (the list endpoint's one level of a bucket) as an index range: the prefix
-- match was `left(lower(name), n) = prefix`, which reads every row of the bucket. It is now
-- also a range on (bucket_id, name collate "C"): names are ASCII, so every name that starts
-- with the prefix in any letter case lies between the prefix upper-cased and the prefix
-- lower-cased with its last character raised by one. The range compares plain names because
-- under RLS only leakproof conditions may run before the policies, and lower() is not
-- leakproof: a range on lower(name) would not use the index. Same signature, same answers.

set local role supabase_storage_admin;

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
  -- the range of names that can start with v_match in any letter case (see the header)
  v_lower     text := upper(v_match);
  v_upper     text := case when v_match = '' then null
                           else left(v_match, -1) || chr(ascii(right(v_match, 1)) + 1) end;
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
          and o.name collate "C" >= $7
          and ($6::text is null or o.name collate "C" < $6)
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
    using bucketname, v_prefix, v_match, v_limit, v_offset, v_upper, v_lower;
  else
    return query execute format(
      $sql$
      with matched as (
        select o.*
        from storage.objects o
        where o.bucket_id = $1
          and o.name collate "C" >= $8
          and ($7::text is null or o.name collate "C" < $7)
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
    using bucketname, v_match, v_first, v_level, v_limit, v_offset, v_upper, v_lower;
  end if;
end
$fn$;

reset role;
