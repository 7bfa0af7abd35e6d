-- Faster content visibility: the subscriber check of `content_artist_or_subscriber` called a
-- function per row. It now compares (artist_id, required tier) against the set of pairs the
-- caller's active subscriptions unlock, computed once per statement (a hashed subplan).

create function platform_private.my_unlocked_tiers() returns table (artist_id uuid, tier smallint)
language sql stable security definer set search_path = '' as $$
  select s.artist_id, t.tier::smallint
  from public.subscriptions s
  join public.fans f on f.id = s.fan_id
  cross join lateral generate_series(1, s.tier) as t(tier)
  where f.user_id = auth.uid()
    and s.status in ('active', 'trialing')
    and (s.current_period_end is null or s.current_period_end > now())
$$;
grant execute on function platform_private.my_unlocked_tiers() to anon, authenticated, service_role;

drop policy content_artist_or_subscriber on public.content_items;
create policy content_artist_or_subscriber on public.content_items for select to authenticated
  using (artist_id in (select platform_private.my_artist_ids())
         or (artist_id, coalesce(min_tier, 1)) in (select u.artist_id, u.tier from platform_private.my_unlocked_tiers() u)
         or (select platform_private.is_admin()));
