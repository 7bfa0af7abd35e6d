-- The Bucket & MediaID platform, part 1: the seed's read endpoints that are more than a table
-- read, as functions under /rest/v1/rpc (docs/platform.md maps every endpoint).
--
-- unlocked_content(artist_id): `GET /artists/:id/content?status=unlocked`: the artist's items
-- whose unlock time has passed, among those the caller may see (SECURITY INVOKER: the
-- content_items policies decide). brand_analytics(brand_id): `GET /analytics/brand/:id`: the
-- k-anonymous analytics of each of the brand's campaigns.

create function public.unlocked_content(artist_id uuid) returns setof public.content_items
language sql stable as $$
  select c.*
  from public.content_items c
  where c.artist_id = unlocked_content.artist_id
    and (c.unlock_at is null or c.unlock_at <= now())
  order by c.created_at desc
$$;

create function public.brand_analytics(brand_id uuid) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
begin
  if not (platform_private.brand_role(brand_analytics.brand_id) is not null or platform_private.is_admin()) then
    raise exception 'permission denied for brand analytics'
      using errcode = '42501', hint = 'Only members of the brand can read its analytics.';
  end if;
  return coalesce((
    select jsonb_agg(public.campaign_analytics(c.id) || jsonb_build_object('name', c.name, 'status', c.status)
                     order by c.created_at)
    from public.campaigns c
    where c.brand_id = brand_analytics.brand_id), '[]'::jsonb);
end $$;

revoke all on function public.brand_analytics(uuid) from public, anon;
grant execute on function public.brand_analytics(uuid) to authenticated, service_role;
grant execute on function public.unlocked_content(uuid) to anon, authenticated, service_role;
