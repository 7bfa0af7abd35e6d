-- The Bucket & MediaID platform, part 1: analytics as SQL functions (/rest/v1/rpc).
--
-- artist_analytics(artist_id): revenue and engagement of the caller's own artist profile, as
-- aggregates only. campaign_analytics(campaign_id): impressions, engagements, conversions and
-- audience segments by interest for a campaign of the caller's brand, counting only fans whose
-- MediaID allows sharing with brands and suppressing every group smaller than the k-anonymity
-- threshold (platform_private.settings, default 5): no identities, emails or raw events.
-- Both raise 42501 (HTTP 403 through /rest/v1) for callers who may not see them.

create function public.artist_analytics(artist_id uuid) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  result jsonb;
begin
  if not (
    exists (select 1 from public.artists a where a.id = artist_analytics.artist_id and a.user_id = auth.uid())
    or platform_private.is_admin()
  ) then
    raise exception 'permission denied for artist analytics'
      using errcode = '42501', hint = 'Only the artist and admins can read these figures.';
  end if;
  select jsonb_build_object(
    'artist_id', artist_analytics.artist_id,
    'active_subscribers', (
      select count(distinct s.fan_id) from public.subscriptions s
      where s.artist_id = artist_analytics.artist_id and s.status in ('active', 'trialing')),
    'revenue', coalesce((
      select jsonb_object_agg(r.currency, r.cents) from (
        select t.currency, sum(t.amount_cents) as cents
        from public.transactions t
        where t.artist_id = artist_analytics.artist_id and t.kind = 'subscription' and t.status = 'succeeded'
        group by t.currency) r), '{}'::jsonb),
    'engagement', coalesce((
      select jsonb_object_agg(e.event_type, e.n) from (
        select l.event_type::text as event_type, count(*) as n
        from public.media_engagement_log l
        join public.content_items c on c.id = l.content_id
        where c.artist_id = artist_analytics.artist_id
        group by l.event_type) e), '{}'::jsonb),
    'content', coalesce((
      select jsonb_agg(jsonb_build_object('content_id', c.id, 'title', c.title, 'events', coalesce(x.n, 0))
                       order by c.created_at)
      from public.content_items c
      left join (select l.content_id, count(*) as n from public.media_engagement_log l group by l.content_id) x
        on x.content_id = c.id
      where c.artist_id = artist_analytics.artist_id), '[]'::jsonb)
  ) into result;
  return result;
end $$;

create function public.campaign_analytics(campaign_id uuid) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  v_brand uuid;
  k integer;
  result jsonb;
begin
  select c.brand_id into v_brand from public.campaigns c where c.id = campaign_analytics.campaign_id;
  if v_brand is null or not (platform_private.brand_role(v_brand) is not null or platform_private.is_admin()) then
    raise exception 'permission denied for campaign analytics'
      using errcode = '42501', hint = 'Only members of the campaign''s brand can read its analytics.';
  end if;
  select s.k_anonymity_threshold into k from platform_private.settings s;
  -- Only fans who allow sharing with brands, as their settings say now.
  with events as (
    select l.user_id, l.event_type::text as event_type, p.interests
    from public.media_engagement_log l
    join public.preferences p on p.user_id = l.user_id
    where l.campaign_id = campaign_analytics.campaign_id
      and coalesce((p.privacy_settings ->> 'share_with_brands')::boolean, false)
  ), audience as (
    select count(distinct e.user_id) as n from events e
  )
  select jsonb_build_object(
    'campaign_id', campaign_analytics.campaign_id,
    'k_anonymity_threshold', k,
    'suppressed', a.n < k,
    'audience_size', case when a.n >= k then a.n end,
    'impressions', case when a.n >= k then
      (select count(*) from events e where e.event_type = 'impression') end,
    'engagements', case when a.n >= k then
      (select count(*) from events e where e.event_type in ('view', 'play', 'complete', 'like', 'share', 'click')) end,
    'conversions', case when a.n >= k then
      (select count(*) from events e where e.event_type = 'conversion') end,
    'segments', case when a.n >= k then coalesce((
      select jsonb_agg(jsonb_build_object('interest', g.interest, 'fans', g.fans, 'events', g.events)
                       order by g.fans desc, g.interest)
      from (
        select tag.value as interest, count(distinct e.user_id) as fans, count(*) as events
        from events e
        cross join lateral jsonb_array_elements_text(e.interests) as tag(value)
        group by tag.value
        having count(distinct e.user_id) >= k) g), '[]'::jsonb) else '[]'::jsonb end
  ) into result
  from audience a;
  return result;
end $$;

revoke all on function public.artist_analytics(uuid), public.campaign_analytics(uuid) from public, anon;
grant execute on function public.artist_analytics(uuid), public.campaign_analytics(uuid) to authenticated, service_role;
