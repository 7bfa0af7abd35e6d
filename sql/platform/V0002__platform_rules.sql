-- The Bucket & MediaID platform, part 1: its rules as privileges and RLS policies.
--
-- Roles of the seed, enforced in the database:
--   anon      → the `anon` role: the public artist directory and public, unlocked content.
--   user      → `authenticated`: their own profile, fan account, preferences, events.
--   artist    → a user with an `artists` row: their own content; aggregates of it.
--   brand     → a user with a `brand_members` row: their brand's campaigns; k-anonymous analytics.
--   admin     → `app_metadata.role = 'admin'` in the JWT (only the service role can set
--               app_metadata, through the auth admin API): reads everything.
-- Subscriptions and transactions are written only by the service role (the payment flow).

-- Helpers. SECURITY DEFINER where a policy must look at rows the caller cannot see itself
-- (and to avoid recursive policies); all of them only answer about the caller.
create function platform_private.is_admin() returns boolean
language sql stable as $$
  select coalesce(auth.jwt() -> 'app_metadata' ->> 'role' = 'admin', false)
$$;

create function platform_private.my_artist_ids() returns setof uuid
language sql stable security definer set search_path = '' as $$
  select a.id from public.artists a where a.user_id = auth.uid()
$$;

create function platform_private.subscription_tier(p_artist uuid) returns smallint
language sql stable security definer set search_path = '' as $$
  select max(s.tier)
  from public.subscriptions s
  join public.fans f on f.id = s.fan_id
  where f.user_id = auth.uid()
    and s.artist_id = p_artist
    and s.status in ('active', 'trialing')
    and (s.current_period_end is null or s.current_period_end > now())
$$;

create function platform_private.brand_role(p_brand uuid) returns text
language sql stable security definer set search_path = '' as $$
  select m.role from public.brand_members m where m.brand_id = p_brand and m.user_id = auth.uid()
$$;

create function platform_private.campaign_accepts_events(p_campaign uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (select 1 from public.campaigns c where c.id = p_campaign and c.status = 'active')
$$;

grant execute on all functions in schema platform_private to anon, authenticated, service_role;

-- Privileges: start from nothing for the API roles, then grant what the rules need.
revoke all on public.profiles, public.artists, public.fans, public.brands, public.brand_members,
  public.subscriptions, public.content_items, public.campaigns, public.preferences,
  public.media_engagement_log, public.transactions from anon, authenticated;
grant all on public.profiles, public.artists, public.fans, public.brands, public.brand_members,
  public.subscriptions, public.content_items, public.campaigns, public.preferences,
  public.media_engagement_log, public.transactions to service_role;

grant select on public.artists, public.content_items to anon;

grant select on public.profiles to authenticated;
grant update (display_name, avatar_url) on public.profiles to authenticated;
grant select on public.artists to authenticated;
grant insert (user_id, name, bio, avatar_url) on public.artists to authenticated;
grant update (name, bio, avatar_url) on public.artists to authenticated;
grant delete on public.artists to authenticated;
grant select, delete on public.fans to authenticated;
grant insert (user_id) on public.fans to authenticated;
grant select on public.brands to authenticated;
grant insert (name, contact_email, billing_details) on public.brands to authenticated;
grant update (name, contact_email, billing_details) on public.brands to authenticated;
grant select, delete on public.brand_members to authenticated;
grant insert (brand_id, user_id, role) on public.brand_members to authenticated;
grant select on public.subscriptions to authenticated;
grant select, delete on public.content_items to authenticated;
grant insert (id, artist_id, media_type, title, description, storage_path, unlock_at, audience, min_tier)
  on public.content_items to authenticated;
grant update (media_type, title, description, storage_path, unlock_at, audience, min_tier)
  on public.content_items to authenticated;
grant select, delete on public.campaigns to authenticated;
grant insert (id, brand_id, artist_id, name, targeting_criteria, payout_model, budget_cents, currency, status, starts_at, ends_at)
  on public.campaigns to authenticated;
grant update (artist_id, name, targeting_criteria, payout_model, budget_cents, currency, status, starts_at, ends_at)
  on public.campaigns to authenticated;
grant select, delete on public.preferences to authenticated;
grant insert (user_id, interests, privacy_settings) on public.preferences to authenticated;
grant update (interests, privacy_settings) on public.preferences to authenticated;
grant select on public.media_engagement_log to authenticated;
grant insert (content_id, campaign_id, event_type, metadata, user_id) on public.media_engagement_log to authenticated;
grant select on public.transactions to authenticated;

alter table public.profiles enable row level security;
alter table public.artists enable row level security;
alter table public.fans enable row level security;
alter table public.brands enable row level security;
alter table public.brand_members enable row level security;
alter table public.subscriptions enable row level security;
alter table public.content_items enable row level security;
alter table public.campaigns enable row level security;
alter table public.preferences enable row level security;
alter table public.media_engagement_log enable row level security;
alter table public.transactions enable row level security;

-- Profiles: private to their owner.
create policy profiles_own_read on public.profiles for select to authenticated
  using (id = (select auth.uid()) or (select platform_private.is_admin()));
create policy profiles_own_update on public.profiles for update to authenticated
  using (id = (select auth.uid())) with check (id = (select auth.uid()));

-- Artists: a public directory; a user creates and edits only the artist profile of their own user.
create policy artists_directory on public.artists for select to anon, authenticated using (true);
create policy artists_own_insert on public.artists for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy artists_own_update on public.artists for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy artists_own_delete on public.artists for delete to authenticated
  using (user_id = (select auth.uid()));

-- Fans: own account only.
create policy fans_own_read on public.fans for select to authenticated
  using (user_id = (select auth.uid()) or (select platform_private.is_admin()));
create policy fans_own_insert on public.fans for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy fans_own_delete on public.fans for delete to authenticated
  using (user_id = (select auth.uid()));

-- Brands: members see their brand; anyone signed in may found a brand (and owns it); owners edit.
create policy brands_member_read on public.brands for select to authenticated
  using (platform_private.brand_role(id) is not null
         or created_by = (select auth.uid())
         or (select platform_private.is_admin()));
create policy brands_create on public.brands for insert to authenticated
  with check (created_by = (select auth.uid()));
create policy brands_owner_update on public.brands for update to authenticated
  using (platform_private.brand_role(id) = 'owner') with check (platform_private.brand_role(id) = 'owner');

-- Brand members: visible to fellow members; only an owner adds or removes members (nobody joins
-- a brand by themselves); a member may leave.
create policy brand_members_read on public.brand_members for select to authenticated
  using (platform_private.brand_role(brand_id) is not null or (select platform_private.is_admin()));
create policy brand_members_owner_insert on public.brand_members for insert to authenticated
  with check (platform_private.brand_role(brand_id) = 'owner');
create policy brand_members_remove on public.brand_members for delete to authenticated
  using (platform_private.brand_role(brand_id) = 'owner' or user_id = (select auth.uid()));

-- Subscriptions: a fan sees their own; nobody but the service role writes.
create policy subscriptions_own_read on public.subscriptions for select to authenticated
  using (fan_id in (select f.id from public.fans f where f.user_id = (select auth.uid()))
         or (select platform_private.is_admin()));

-- Content: public and unlocked for everyone; otherwise its artist and fans with an active
-- subscription at the required tier. Only the artist writes it.
create policy content_public on public.content_items for select to anon, authenticated
  using (audience = 'public' and (unlock_at is null or unlock_at <= now()));
create policy content_artist_or_subscriber on public.content_items for select to authenticated
  using (artist_id in (select platform_private.my_artist_ids())
         or platform_private.subscription_tier(artist_id) >= coalesce(min_tier, 1)
         or (select platform_private.is_admin()));
create policy content_artist_insert on public.content_items for insert to authenticated
  with check (artist_id in (select platform_private.my_artist_ids()));
create policy content_artist_update on public.content_items for update to authenticated
  using (artist_id in (select platform_private.my_artist_ids()))
  with check (artist_id in (select platform_private.my_artist_ids()));
create policy content_artist_delete on public.content_items for delete to authenticated
  using (artist_id in (select platform_private.my_artist_ids()));

-- Campaigns: the brand's members manage them; the targeted artist may read them.
create policy campaigns_read on public.campaigns for select to authenticated
  using (platform_private.brand_role(brand_id) is not null
         or artist_id in (select platform_private.my_artist_ids())
         or (select platform_private.is_admin()));
create policy campaigns_insert on public.campaigns for insert to authenticated
  with check (platform_private.brand_role(brand_id) is not null);
create policy campaigns_update on public.campaigns for update to authenticated
  using (platform_private.brand_role(brand_id) is not null)
  with check (platform_private.brand_role(brand_id) is not null);
create policy campaigns_delete on public.campaigns for delete to authenticated
  using (platform_private.brand_role(brand_id) = 'owner');

-- MediaID preferences: the user's own, nobody else's (admins read).
create policy preferences_own_read on public.preferences for select to authenticated
  using (user_id = (select auth.uid()) or (select platform_private.is_admin()));
create policy preferences_own_insert on public.preferences for insert to authenticated
  with check (user_id = (select auth.uid()));
create policy preferences_own_update on public.preferences for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy preferences_own_delete on public.preferences for delete to authenticated
  using (user_id = (select auth.uid()));

-- Engagement: a user records events for themselves, only on content they can see (the
-- content_items policies apply inside the check), and only for an active campaign.
create policy engagement_own_read on public.media_engagement_log for select to authenticated
  using (user_id = (select auth.uid()) or (select platform_private.is_admin()));
create policy engagement_own_insert on public.media_engagement_log for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and exists (select 1 from public.content_items c where c.id = content_id)
    and (campaign_id is null or platform_private.campaign_accepts_events(campaign_id))
  );

-- Transactions: own rows only; written by the service role.
create policy transactions_own_read on public.transactions for select to authenticated
  using (user_id = (select auth.uid()) or (select platform_private.is_admin()));
