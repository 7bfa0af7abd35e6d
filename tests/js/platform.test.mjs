// The Bucket & MediaID platform (sql/platform), driven like an app would: real users signed up
// through /auth/v1 with supabase-js, then every actor reading and writing through
// supabase.from(…) and supabase.rpc(…). Each one sees and may change exactly what the rules say;
// forbidden attempts fail with the PostgREST error a client gets.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createClient } from '@supabase/supabase-js';

import { startServer } from './harness.mjs';

let server;
let service;
const actors = {};

const options = { auth: { persistSession: false, autoRefreshToken: false } };

async function signUp(name) {
  const supabase = createClient(server.url, server.anonKey, options);
  const { data, error } = await supabase.auth.signUp({
    email: `${name}@example.com`,
    password: 'correct horse battery staple',
    options: { data: { display_name: name } },
  });
  assert.equal(error, null, `${name} signs up: ${error?.message}`);
  assert.ok(data.session, `${name} gets a session (autoconfirm)`);
  return { supabase, user: data.user };
}

before(async () => {
  server = await startServer({ env: { ENABLE_EMAIL_AUTOCONFIRM: 'true' } });
  service = createClient(server.url, server.serviceRoleKey, options);
  for (const name of ['admin', 'artist1', 'artist2', 'fanSub', 'fanLow', 'fanNone', 'brandOwner', 'brandMember', 'stranger']) {
    actors[name] = await signUp(name);
  }
  // Only the service role sets app_metadata; the admin signs in again to carry it in the JWT.
  const { error } = await service.auth.admin.updateUserById(actors.admin.user.id, {
    app_metadata: { role: 'admin' },
  });
  assert.equal(error, null);
  const { error: signInError } = await actors.admin.supabase.auth.signInWithPassword({
    email: 'admin@example.com',
    password: 'correct horse battery staple',
  });
  assert.equal(signInError, null);
});

after(async () => {
  await server?.stop();
});

const ids = {};

describe('platform scenario', () => {
  test('users cannot grant themselves admin through app_metadata', async () => {
    const { data } = await actors.stranger.supabase.auth.updateUser({ data: { role: 'admin' } });
    assert.equal(data.user.app_metadata.role, undefined);
    const { data: rows } = await actors.stranger.supabase.from('preferences').select();
    assert.equal(rows.length, 1, 'still only their own preferences');
  });

  test('artists create only their own artist profile and content', async () => {
    const { data, error } = await actors.artist1.supabase
      .from('artists')
      .insert({ user_id: actors.artist1.user.id, name: 'One' })
      .select()
      .single();
    assert.equal(error, null);
    ids.artist1 = data.id;
    const two = await actors.artist2.supabase
      .from('artists')
      .insert({ user_id: actors.artist2.user.id, name: 'Two' })
      .select()
      .single();
    ids.artist2 = two.data.id;

    const impostor = await actors.stranger.supabase
      .from('artists')
      .insert({ user_id: actors.fanSub.user.id, name: 'Impostor' });
    assert.equal(impostor.status, 403);
    assert.equal(impostor.error.code, '42501');

    const future = '2999-01-01T00:00:00Z';
    const { data: items, error: itemsError } = await actors.artist1.supabase
      .from('content_items')
      .insert([
        { artist_id: ids.artist1, media_type: 'audio', title: 'public', audience: 'public' },
        { artist_id: ids.artist1, media_type: 'video', title: 'teaser', audience: 'public', unlock_at: future },
        { artist_id: ids.artist1, media_type: 'image', title: 'subs', audience: 'subscribers' },
        { artist_id: ids.artist1, media_type: 'audio', title: 'vip', audience: 'subscribers', min_tier: 2 },
      ])
      .select('id, title');
    assert.equal(itemsError, null);
    ids.content = Object.fromEntries(items.map((i) => [i.title, i.id]));

    const hijack = await actors.artist2.supabase
      .from('content_items')
      .insert({ artist_id: ids.artist1, media_type: 'audio', title: 'hijack' });
    assert.equal(hijack.status, 403);
    const anon = createClient(server.url, server.anonKey, options);
    const anonInsert = await anon.from('content_items').insert({ artist_id: ids.artist1, media_type: 'audio', title: 'x' });
    assert.equal(anonInsert.status, 401);
  });

  test('subscriptions are written only by the service role; fans see their own', async () => {
    for (const name of ['fanSub', 'fanLow', 'fanNone']) {
      const { data, error } = await actors[name].supabase
        .from('fans')
        .insert({ user_id: actors[name].user.id })
        .select()
        .single();
      assert.equal(error, null);
      ids[name] = data.id;
    }
    const selfService = await actors.fanNone.supabase
      .from('subscriptions')
      .insert({ fan_id: ids.fanNone, artist_id: ids.artist1, price_cents: 0, status: 'active' });
    assert.equal(selfService.status, 403);
    for (const [fan, tier] of [['fanSub', 2], ['fanLow', 1]]) {
      const { error } = await service
        .from('subscriptions')
        .insert({ fan_id: ids[fan], artist_id: ids.artist1, tier, price_cents: 500 * tier, status: 'active' });
      assert.equal(error, null);
    }
    const { data: own } = await actors.fanSub.supabase.from('subscriptions').select('tier, artists(name)');
    assert.deepEqual(own, [{ tier: 2, artists: { name: 'One' } }]);
    const { data: artistView } = await actors.artist1.supabase.from('subscriptions').select();
    assert.deepEqual(artistView, []);
  });

  test('content visibility follows audience, unlock date and tier', async () => {
    const titles = async (supabase) => {
      const { data, error } = await supabase.from('content_items').select('title').order('title');
      assert.equal(error, null);
      return data.map((r) => r.title);
    };
    const anon = createClient(server.url, server.anonKey, options);
    assert.deepEqual(await titles(anon), ['public']);
    assert.deepEqual(await titles(actors.fanNone.supabase), ['public']);
    assert.deepEqual(await titles(actors.artist2.supabase), ['public']);
    assert.deepEqual(await titles(actors.fanLow.supabase), ['public', 'subs', 'teaser']);
    assert.deepEqual(await titles(actors.fanSub.supabase), ['public', 'subs', 'teaser', 'vip']);
    assert.deepEqual(await titles(actors.artist1.supabase), ['public', 'subs', 'teaser', 'vip']);
    assert.deepEqual(await titles(actors.admin.supabase), ['public', 'subs', 'teaser', 'vip']);
    const { data: unlocked } = await actors.fanSub.supabase.rpc('unlocked_content', { artist_id: ids.artist1 });
    assert.deepEqual(unlocked.map((r) => r.title).sort(), ['public', 'subs', 'vip']);
  });

  test('engagement is recorded only on visible content, for oneself', async () => {
    const hidden = await actors.fanNone.supabase
      .from('media_engagement_log')
      .insert({ content_id: ids.content.vip, event_type: 'play' });
    assert.equal(hidden.status, 403);
    const ok = await actors.fanNone.supabase
      .from('media_engagement_log')
      .insert({ content_id: ids.content.public, event_type: 'play' });
    assert.equal(ok.error, null);
    assert.equal(ok.status, 201);
    const spoof = await actors.fanNone.supabase
      .from('media_engagement_log')
      .insert({ content_id: ids.content.public, event_type: 'like', user_id: actors.fanSub.user.id });
    assert.equal(spoof.status, 403);
    const { data: mine } = await actors.fanNone.supabase.from('media_engagement_log').select('event_type');
    assert.deepEqual(mine, [{ event_type: 'play' }]);
    const { data: artistRaw } = await actors.artist1.supabase.from('media_engagement_log').select();
    assert.deepEqual(artistRaw, []);
  });

  test('MediaID preferences are private to their owner', async () => {
    const { data: mine } = await actors.fanSub.supabase.from('preferences').select().single();
    assert.equal(mine.privacy_settings.share_with_brands, false);
    const other = await actors.fanSub.supabase
      .from('preferences')
      .update({ interests: ['spam'] })
      .eq('user_id', actors.fanLow.user.id)
      .select();
    assert.deepEqual(other.data, []);
    const own = await actors.fanSub.supabase
      .from('preferences')
      .update({ interests: ['jazz'], privacy_settings: { share_with_brands: true } })
      .eq('user_id', actors.fanSub.user.id)
      .select()
      .single();
    assert.deepEqual(own.data.interests, ['jazz']);
    const { data: all } = await actors.admin.supabase.from('preferences').select('user_id');
    assert.equal(all.length, 9, 'admins read everything');
  });

  test('brands manage their campaigns; nobody joins a brand by themselves', async () => {
    const { data: brand, error } = await actors.brandOwner.supabase.from('brands').insert({ name: 'Acme' }).select().single();
    assert.equal(error, null);
    ids.brand = brand.id;
    const join = await actors.stranger.supabase
      .from('brand_members')
      .insert({ brand_id: brand.id, user_id: actors.stranger.user.id });
    assert.equal(join.status, 403);
    const add = await actors.brandOwner.supabase
      .from('brand_members')
      .insert({ brand_id: brand.id, user_id: actors.brandMember.user.id });
    assert.equal(add.error, null);
    const { data: campaign, error: campaignError } = await actors.brandMember.supabase
      .from('campaigns')
      .insert({ brand_id: brand.id, artist_id: ids.artist1, name: 'Launch', status: 'active', budget_cents: 100000 })
      .select()
      .single();
    assert.equal(campaignError, null);
    ids.campaign = campaign.id;
    assert.deepEqual((await actors.stranger.supabase.from('campaigns').select()).data, []);
    assert.equal((await actors.artist1.supabase.from('campaigns').select()).data.length, 1);
  });

  test('analytics: own figures only, k-anonymous for brands', async () => {
    const mine = await actors.artist1.supabase.rpc('artist_analytics', { artist_id: ids.artist1 });
    assert.equal(mine.error, null);
    assert.equal(mine.data.active_subscribers, 2);
    const theirs = await actors.artist2.supabase.rpc('artist_analytics', { artist_id: ids.artist1 });
    assert.equal(theirs.status, 403);
    assert.equal(theirs.error.code, '42501');

    // One consenting fan engages with the campaign: under the threshold of 5, nothing shows.
    await actors.fanSub.supabase
      .from('media_engagement_log')
      .insert({ content_id: ids.content.public, campaign_id: ids.campaign, event_type: 'impression' });
    const campaign = await actors.brandMember.supabase.rpc('campaign_analytics', { campaign_id: ids.campaign });
    assert.equal(campaign.error, null);
    assert.equal(campaign.data.suppressed, true);
    assert.equal(campaign.data.impressions, null);
    assert.deepEqual(campaign.data.segments, []);
    const text = JSON.stringify(campaign.data);
    assert.ok(!text.includes('@example.com') && !text.includes(actors.fanSub.user.id));
    const brand = await actors.brandOwner.supabase.rpc('brand_analytics', { brand_id: ids.brand });
    assert.equal(brand.data.length, 1);
    const stranger = await actors.stranger.supabase.rpc('campaign_analytics', { campaign_id: ids.campaign });
    assert.equal(stranger.status, 403);
  });
});
