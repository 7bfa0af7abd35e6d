-- The Bucket & MediaID platform, part 1: its data model (../../docs/platform.md).
--
-- Everything lives in `public`, the schema supabase-js talks to by default, so the platform's
-- tables are reachable through /rest/v1 and its functions through /rest/v1/rpc. Internal helpers
-- live in `platform_private`, which is never exposed.
--
-- Conventions: ids are UUIDs, money is integer cents with an ISO currency code, times are
-- timestamptz. Stripe ids, storage paths and a job outbox are here so the later parts (payments,
-- media storage, background jobs) plug in without reshaping the tables.

create schema if not exists platform_private;
revoke all on schema platform_private from public;
grant usage on schema platform_private to anon, authenticated, service_role;

-- Profiles: one per auth user, created by a trigger on auth.users.
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text check (char_length(display_name) <= 120),
  avatar_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.profiles is 'One row per auth user; private to its owner (and admins).';

create table public.artists (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null unique references public.profiles (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 200),
  bio text,
  avatar_url text,
  stripe_account_id text unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.artists is 'An artist profile, owned by one user. Public directory.';

create table public.fans (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null unique references public.profiles (id) on delete cascade,
  stripe_customer_id text unique,
  created_at timestamptz not null default now()
);
comment on table public.fans is 'A fan (subscriber) account, owned by one user.';

create table public.brands (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 200),
  contact_email text,
  billing_details jsonb not null default '{}'::jsonb,
  stripe_customer_id text unique,
  created_by uuid not null default auth.uid() references public.profiles (id),
  created_at timestamptz not null default now()
);

create table public.brand_members (
  brand_id uuid not null references public.brands (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  role text not null default 'member' check (role in ('owner', 'member')),
  created_at timestamptz not null default now(),
  primary key (brand_id, user_id)
);
create index brand_members_user_idx on public.brand_members (user_id);

create type public.subscription_status as enum
  ('incomplete', 'trialing', 'active', 'past_due', 'canceled', 'expired');

create table public.subscriptions (
  id uuid primary key default gen_random_uuid(),
  fan_id uuid not null references public.fans (id) on delete cascade,
  artist_id uuid not null references public.artists (id) on delete cascade,
  tier smallint not null default 1 check (tier between 1 and 10),
  tier_name text,
  price_cents integer not null check (price_cents >= 0),
  currency text not null default 'usd' check (currency ~ '^[a-z]{3}$'),
  status public.subscription_status not null default 'incomplete',
  current_period_start timestamptz,
  current_period_end timestamptz,
  stripe_subscription_id text unique,
  stripe_checkout_session_id text unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index subscriptions_fan_artist_idx on public.subscriptions (fan_id, artist_id, status);
create index subscriptions_artist_idx on public.subscriptions (artist_id, status);

create type public.media_type as enum ('audio', 'video', 'image');
create type public.content_audience as enum ('public', 'subscribers');

create table public.content_items (
  id uuid primary key default gen_random_uuid(),
  artist_id uuid not null references public.artists (id) on delete cascade,
  media_type public.media_type not null,
  title text not null check (char_length(title) between 1 and 300),
  description text,
  storage_path text,
  unlock_at timestamptz,
  audience public.content_audience not null default 'public',
  min_tier smallint check (min_tier between 1 and 10),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on column public.content_items.storage_path is 'Object key in the storage bucket `content` (part 2).';
comment on column public.content_items.min_tier is 'Subscriber content: lowest subscription tier that unlocks it (null = any tier).';
create index content_items_artist_idx on public.content_items (artist_id, unlock_at);

create type public.payout_model as enum ('cpm', 'cpc', 'cpa', 'flat');
create type public.campaign_status as enum ('draft', 'active', 'paused', 'completed');

create table public.campaigns (
  id uuid primary key default gen_random_uuid(),
  brand_id uuid not null references public.brands (id) on delete cascade,
  artist_id uuid references public.artists (id) on delete set null,
  name text not null check (char_length(name) between 1 and 200),
  targeting_criteria jsonb not null default '{}'::jsonb,
  payout_model public.payout_model not null default 'cpm',
  budget_cents bigint not null default 0 check (budget_cents >= 0),
  currency text not null default 'usd' check (currency ~ '^[a-z]{3}$'),
  status public.campaign_status not null default 'draft',
  starts_at timestamptz,
  ends_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index campaigns_brand_idx on public.campaigns (brand_id);
create index campaigns_artist_idx on public.campaigns (artist_id);

-- MediaID: interests as a JSON array of tags; privacy settings as a JSON object. Sharing with
-- brands is off until the user turns it on.
create table public.preferences (
  user_id uuid primary key references public.profiles (id) on delete cascade,
  interests jsonb not null default '[]'::jsonb check (jsonb_typeof(interests) = 'array'),
  privacy_settings jsonb not null default '{"share_with_brands": false, "personalized_recommendations": true}'::jsonb
    check (jsonb_typeof(privacy_settings) = 'object'),
  updated_at timestamptz not null default now()
);

create type public.engagement_event as enum
  ('impression', 'view', 'play', 'complete', 'like', 'share', 'click', 'conversion');

create table public.media_engagement_log (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  content_id uuid not null references public.content_items (id) on delete cascade,
  campaign_id uuid references public.campaigns (id) on delete set null,
  event_type public.engagement_event not null,
  occurred_at timestamptz not null default now(),
  metadata jsonb not null default '{}'::jsonb
);
create index media_engagement_log_content_idx on public.media_engagement_log (content_id, event_type);
create index media_engagement_log_campaign_idx on public.media_engagement_log (campaign_id, event_type);
create index media_engagement_log_user_idx on public.media_engagement_log (user_id, occurred_at);

create type public.transaction_kind as enum ('subscription', 'payout', 'refund');
create type public.transaction_status as enum ('pending', 'succeeded', 'failed', 'refunded');

create table public.transactions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  amount_cents bigint not null,
  currency text not null default 'usd' check (currency ~ '^[a-z]{3}$'),
  kind public.transaction_kind not null,
  subscription_id uuid references public.subscriptions (id) on delete set null,
  artist_id uuid references public.artists (id) on delete set null,
  status public.transaction_status not null default 'pending',
  stripe_payment_intent_id text unique,
  stripe_invoice_id text,
  created_at timestamptz not null default now()
);
create index transactions_user_idx on public.transactions (user_id, created_at);
create index transactions_artist_idx on public.transactions (artist_id, status);

-- Platform settings (one row); only the service role changes them.
create table platform_private.settings (
  id boolean primary key default true check (id),
  k_anonymity_threshold integer not null default 5 check (k_anonymity_threshold >= 2)
);
insert into platform_private.settings default values;

-- Job outbox for the background worker of a later part (notifications, analytics roll-ups,
-- Stripe follow-ups): claimed with FOR UPDATE SKIP LOCKED.
create table platform_private.jobs (
  id bigint generated always as identity primary key,
  kind text not null,
  payload jsonb not null default '{}'::jsonb,
  run_at timestamptz not null default now(),
  attempts integer not null default 0,
  locked_at timestamptz,
  done_at timestamptz,
  last_error text
);
create index jobs_pending_idx on platform_private.jobs (run_at) where done_at is null;

-- updated_at maintenance.
create function platform_private.touch_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end $$;

create trigger profiles_touch before update on public.profiles
  for each row execute function platform_private.touch_updated_at();
create trigger artists_touch before update on public.artists
  for each row execute function platform_private.touch_updated_at();
create trigger subscriptions_touch before update on public.subscriptions
  for each row execute function platform_private.touch_updated_at();
create trigger content_items_touch before update on public.content_items
  for each row execute function platform_private.touch_updated_at();
create trigger campaigns_touch before update on public.campaigns
  for each row execute function platform_private.touch_updated_at();
create trigger preferences_touch before update on public.preferences
  for each row execute function platform_private.touch_updated_at();

-- Every new auth user gets a profile and default (private) MediaID preferences.
create function platform_private.handle_new_user() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.profiles (id, display_name)
  values (new.id, coalesce(new.raw_user_meta_data ->> 'display_name', new.raw_user_meta_data ->> 'name'))
  on conflict (id) do nothing;
  insert into public.preferences (user_id) values (new.id) on conflict (user_id) do nothing;
  return new;
end $$;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function platform_private.handle_new_user();

-- A new brand's creator becomes its owner.
create function platform_private.handle_new_brand() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.brand_members (brand_id, user_id, role) values (new.id, new.created_by, 'owner');
  return new;
end $$;

create trigger on_brand_created after insert on public.brands
  for each row execute function platform_private.handle_new_brand();

-- Job hooks: publishing content and subscription changes enqueue work for the worker.
create function platform_private.enqueue_job() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into platform_private.jobs (kind, payload)
  values (tg_argv[0], jsonb_build_object('id', new.id, 'op', tg_op));
  return new;
end $$;

create trigger content_published after insert on public.content_items
  for each row execute function platform_private.enqueue_job('content_published');
create trigger subscription_changed after insert or update of status on public.subscriptions
  for each row execute function platform_private.enqueue_job('subscription_changed');
