// supabase-js against /rest/v1: every query-builder method (select, insert, upsert, update,
// delete, rpc), every filter method, the modifiers (order, limit, range, single, maybeSingle,
// csv, count, head, rollback, maxAffected) and schema(), on the fixture fixtures/rest.sql,
// with PostgREST's answers.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { client, startServer } from './harness.mjs';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rest.sql');
const ALICE = '11111111-1111-1111-1111-111111111111';
const BOB = '22222222-2222-2222-2222-222222222222';

let server;
let db; // service_role client
let anon;

/** An HS256 access token for an authenticated user, signed with the server's secret. */
function userToken(sub) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = enc({ alg: 'HS256', typ: 'JWT' });
  const body = enc({ sub, role: 'authenticated', aud: 'authenticated', exp: 4_000_000_000 });
  const sig = createHmac('sha256', server.jwtSecret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

function asUser(sub) {
  return client(server, server.anonKey, {
    global: { headers: { Authorization: `Bearer ${userToken(sub)}` } },
  });
}

const ids = (rows) => rows.map((r) => r.id);

before(async () => {
  server = await startServer();
  execFileSync('psql', [server.dbUrl, '-q', '-v', 'ON_ERROR_STOP=1', '-f', fixture]);
  execFileSync('psql', [server.dbUrl, '-q', '-c', "notify pgrst, 'reload schema'"]);
  db = client(server, server.serviceRoleKey);
  anon = client(server, server.anonKey);
  // Wait until the schema cache has the fixture.
  for (let i = 0; i < 50; i++) {
    const { error } = await db.from('genres').select('id').limit(1);
    if (!error) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await server?.stop();
});

describe('select', () => {
  test('columns, aliases, casts, JSON paths', async () => {
    const { data, error, status } = await db
      .from('books')
      .select('id, name:title, pages::text, code:meta->lang->>code')
      .eq('id', 1);
    assert.equal(error, null);
    assert.equal(status, 200);
    assert.deepEqual(data, [{ id: 1, name: 'The Dispossessed', pages: '387', code: 'en' }]);
  });

  test('embeds: to-one, to-many, many-to-many, hints, inner, spreads', async () => {
    const { data, error } = await db
      .from('authors')
      .select('name, books!author_id(title, genres(name))')
      .eq('id', 2)
      .order('id', { referencedTable: 'books' });
    assert.equal(error, null);
    assert.deepEqual(data, [
      {
        name: 'Stanisław Lem',
        books: [
          { title: 'Solaris', genres: [{ name: 'science fiction' }] },
          { title: 'The Cyberiad', genres: [{ name: 'humor' }] },
        ],
      },
    ]);
    const inner = await db
      .from('authors')
      .select('id, books!author_id!inner(id)')
      .gt('books.pages', 300);
    assert.deepEqual(inner.data, [{ id: 1, books: [{ id: 1 }] }]);
    const spread = await db.from('books').select('title, ...authors!author_id(author:name)').eq('id', 3);
    assert.deepEqual(spread.data, [{ title: 'Kindred', author: 'Octavia Butler' }]);
    const limited = await db
      .from('authors')
      .select('id, books!author_id(id)')
      .eq('id', 2)
      .order('id', { referencedTable: 'books', ascending: false })
      .limit(1, { referencedTable: 'books' });
    assert.deepEqual(limited.data, [{ id: 2, books: [{ id: 4 }] }]);
    const ambiguous = await db.from('books').select('id, authors(name)');
    assert.equal(ambiguous.status, 300);
    assert.equal(ambiguous.error?.code, 'PGRST201');
  });

  test('count, head, range, order', async () => {
    const counted = await db.from('books').select('id', { count: 'exact' }).order('id').range(1, 2);
    assert.equal(counted.count, 4);
    assert.equal(counted.status, 206);
    assert.deepEqual(ids(counted.data), [2, 3]);
    const head = await db.from('books').select('*', { count: 'exact', head: true }).gt('pages', 250);
    assert.equal(head.count, 2);
    assert.equal(head.data, null);
    const planned = await db.from('books').select('*', { count: 'planned', head: true });
    assert.equal(typeof planned.count, 'number');
    const ordered = await db
      .from('books')
      .select('id')
      .order('pages', { ascending: false, nullsFirst: false })
      .order('id');
    assert.deepEqual(ids(ordered.data), [1, 3, 2, 4]);
    const limited = await db.from('books').select('id').order('id').limit(2);
    assert.deepEqual(ids(limited.data), [1, 2]);
  });

  test('single, maybeSingle, csv', async () => {
    const one = await db.from('genres').select('name').eq('id', 2).single();
    assert.deepEqual(one.data, { name: 'fantasy' });
    const many = await db.from('genres').select('name').single();
    assert.equal(many.status, 406);
    assert.equal(many.error?.code, 'PGRST116');
    const none = await db.from('genres').select('name').eq('id', 99).maybeSingle();
    assert.equal(none.error, null);
    assert.equal(none.data, null);
    const csv = await db.from('genres').select('id,name').order('id').csv();
    assert.equal(csv.data, 'id,name\n1,"science fiction"\n2,fantasy\n3,humor');
  });

  test('schema() switches the profile; unknown schemas are refused', async () => {
    const ok = await db.schema('public').from('genres').select('id').eq('id', 1);
    assert.deepEqual(ok.data, [{ id: 1 }]);
    const bad = await db.schema('nope').from('genres').select('id');
    assert.equal(bad.status, 406);
    assert.equal(bad.error?.code, 'PGRST106');
  });
});

describe('filters', () => {
  const cases = [
    ['eq', (q) => q.eq('id', 2), [2]],
    ['neq', (q) => q.neq('id', 2), [1, 3, 4]],
    ['gt', (q) => q.gt('pages', 264), [1]],
    ['gte', (q) => q.gte('pages', 264), [1, 3]],
    ['lt', (q) => q.lt('pages', 264), [2]],
    ['lte', (q) => q.lte('pages', 264), [2, 3]],
    ['like', (q) => q.like('title', 'The%'), [1, 4]],
    ['ilike', (q) => q.ilike('title', '%the%'), [1, 4]],
    ['likeAllOf', (q) => q.likeAllOf('title', ['The%', '%ad']), [4]],
    ['likeAnyOf', (q) => q.likeAnyOf('title', ['Sol%', 'Kin%']), [2, 3]],
    ['ilikeAllOf', (q) => q.ilikeAllOf('title', ['%the%', '%dis%']), [1]],
    ['ilikeAnyOf', (q) => q.ilikeAnyOf('title', ['sol%', 'kin%']), [2, 3]],
    ['regexMatch', (q) => q.regexMatch('title', '^S'), [2]],
    ['regexIMatch', (q) => q.regexIMatch('title', '^s'), [2]],
    ['is null', (q) => q.is('pages', null), [4]],
    ['isDistinct', (q) => q.isDistinct('price', 9.99), [2, 3, 4]],
    ['in', (q) => q.in('title', ['Solaris', 'Kindred']), [2, 3]],
    ['notIn', (q) => q.notIn('id', [1, 2]), [3, 4]],
    ['contains array', (q) => q.contains('tags', ['classic']), [1, 2]],
    ['contains json', (q) => q.contains('meta', { rating: 5 }), [1, 3]],
    ['containedBy', (q) => q.containedBy('tags', ['classic', 'ocean', 'utopia']), [1, 2, 3]],
    ['overlaps', (q) => q.overlaps('tags', ['humor', 'ocean']), [2, 4]],
    ['rangeLt', (q) => q.rangeLt('period', '[1970,1971)'), [2, 4]],
    ['rangeGt', (q) => q.rangeGt('period', '[1970,1971)'), [1]],
    ['rangeLte', (q) => q.rangeLte('period', '[1966,1971)'), [2, 4]],
    ['rangeGte', (q) => q.rangeGte('period', '[1966,1971)'), [1]],
    ['rangeAdjacent', (q) => q.rangeAdjacent('period', '[1970,1974)'), [1, 4]],
    ['textSearch', (q) => q.textSearch('summary', 'ocean'), [2]],
    ['textSearch plain', (q) => q.textSearch('summary', 'living ocean', { type: 'plain' }), [2]],
    ['textSearch phrase', (q) => q.textSearch('summary', 'living ocean', { type: 'phrase', config: 'english' }), [2]],
    ['textSearch websearch', (q) => q.textSearch('summary', 'moon or ocean', { type: 'websearch' }), [1, 2]],
    ['match', (q) => q.match({ mood: 'happy', id: 4 }), [4]],
    ['not', (q) => q.not('pages', 'is', null), [1, 2, 3]],
    ['or', (q) => q.or('id.eq.1,pages.is.null'), [1, 4]],
    ['or with and', (q) => q.or('and(id.gte.2,id.lte.3),tags.cs.{humor}'), [2, 3, 4]],
    ['filter', (q) => q.filter('id', 'in', '(1,3)'), [1, 3]],
    ['json path', (q) => q.eq('meta->lang->>code', 'pl'), [2]],
  ];
  for (const [name, apply, expected] of cases) {
    test(name, async () => {
      const { data, error } = await apply(db.from('books').select('id')).order('id');
      assert.equal(error, null, JSON.stringify(error));
      assert.deepEqual(ids(data), expected);
    });
  }

  test('a filter on a referenced table with or', async () => {
    const { data } = await db
      .from('authors')
      .select('id, books!author_id(id)')
      .eq('id', 2)
      .or('id.eq.2,id.eq.4', { referencedTable: 'books' })
      .order('id', { referencedTable: 'books' });
    assert.deepEqual(data, [{ id: 2, books: [{ id: 2 }, { id: 4 }] }]);
  });
});

describe('writes', () => {
  test('insert: object, array with defaults, select, count', async () => {
    const plain = await db.from('genres').insert({ id: 50, name: 'noir' });
    assert.equal(plain.status, 201);
    assert.equal(plain.data, null);
    const rows = await db
      .from('books')
      .insert([{ title: 'A', mood: 'sad' }, { title: 'B' }], { defaultToNull: false, count: 'exact' })
      .select('title, mood');
    assert.equal(rows.error, null);
    assert.equal(rows.count, 2);
    assert.deepEqual(rows.data, [
      { title: 'A', mood: 'sad' },
      { title: 'B', mood: 'neutral' },
    ]);
    const single = await db.from('genres').insert({ id: 51, name: 'pulp' }).select().single();
    assert.deepEqual(single.data, { id: 51, name: 'pulp' });
    const dup = await db.from('genres').insert({ id: 51, name: 'again' });
    assert.equal(dup.status, 409);
    assert.equal(dup.error?.code, '23505');
  });

  test('upsert: merge, ignore, onConflict', async () => {
    const merged = await db.from('genres').upsert({ id: 50, name: 'noir!' }).select();
    assert.equal(merged.status, 200);
    assert.deepEqual(merged.data, [{ id: 50, name: 'noir!' }]);
    const ignored = await db
      .from('genres')
      .upsert([{ id: 50, name: 'x' }, { id: 52, name: 'y' }], { ignoreDuplicates: true })
      .select();
    assert.deepEqual(ignored.data, [{ id: 52, name: 'y' }]);
    const onConflict = await db
      .from('book_details')
      .upsert({ book_id: 4, isbn: '978-0156027601' }, { onConflict: 'isbn' })
      .select();
    assert.equal(onConflict.error, null, JSON.stringify(onConflict.error));
    assert.deepEqual(onConflict.data, [{ book_id: 4, isbn: '978-0156027601' }]);
  });

  test('update and delete with filters, count and representation', async () => {
    const upd = await db.from('genres').update({ name: 'noir' }).eq('id', 50).select();
    assert.deepEqual(upd.data, [{ id: 50, name: 'noir' }]);
    const counted = await db.from('books').update({ published: '2000-01-01' }, { count: 'exact' }).in('id', [1, 3]);
    assert.equal(counted.count, 2);
    assert.equal(counted.status, 204);
    const del = await db.from('genres').delete({ count: 'exact' }).in('id', [51, 52]).select('id');
    assert.equal(del.count, 2);
    assert.deepEqual(ids(del.data).sort(), [51, 52]);
    const unfiltered = await db.from('genres').delete();
    assert.equal(unfiltered.status, 400);
    assert.equal(unfiltered.error?.code, '21000');
  });

  test('rollback() and maxAffected()', async () => {
    const rolled = await db.from('genres').insert({ id: 60, name: 'ghost' }).select().rollback();
    assert.deepEqual(rolled.data, [{ id: 60, name: 'ghost' }]);
    const after = await db.from('genres').select('id').eq('id', 60);
    assert.deepEqual(after.data, []);
    const limited = await db.from('book_genres').delete().eq('genre_id', 1).maxAffected(1);
    assert.equal(limited.error?.code, 'PGRST124');
    const still = await db.from('book_genres').select('book_id', { count: 'exact', head: true }).eq('genre_id', 1);
    assert.equal(still.count, 3);
  });
});

describe('rpc', () => {
  test('scalar, overloads, defaults, GET', async () => {
    assert.equal((await db.rpc('add', { a: 1, b: 2 })).data, 3);
    assert.equal((await db.rpc('add', { a: 1, b: 2, c: 3 })).data, 6);
    assert.equal((await db.rpc('hello')).data, 'hello world');
    assert.equal((await db.rpc('hello', { name: 'you' }, { get: true })).data, 'hello you');
    const counted = await db.rpc('add', { a: 1, b: 1 }, { count: 'exact' });
    assert.equal(counted.count, 1);
  });

  test('setof with filters, order, embeds; composite; void; json arg', async () => {
    const set = await db
      .rpc('books_by', { author: 2 })
      .select('id, authors!author_id(name)')
      .gt('pages', 100)
      .order('id', { ascending: false });
    assert.deepEqual(set.data, [{ id: 2, authors: { name: 'Stanisław Lem' } }]);
    const nums = await db.rpc('numbers', { n: 4 }, { count: 'exact' }).range(0, 1);
    assert.deepEqual(nums.data, [1, 2]);
    assert.equal(nums.count, 4);
    const head = await db.rpc('numbers', { n: 4 }, { head: true, count: 'exact' });
    assert.equal(head.count, 4);
    const row = await db.rpc('first_author').select('name');
    assert.deepEqual(row.data, { name: 'Ursula K. Le Guin' });
    const none = await db.rpc('noop');
    assert.equal(none.status, 204);
    assert.equal(none.data, null);
    const echo = await db.rpc('echo_json', { nested: { a: [1, 2] } });
    assert.deepEqual(echo.data, { nested: { a: [1, 2] } });
  });

  test('errors: unknown function, raise, read-only GET', async () => {
    const missing = await db.rpc('nope', { a: 1 });
    assert.equal(missing.status, 404);
    assert.equal(missing.error?.code, 'PGRST202');
    const raised = await db.rpc('fail', { code: 'P0001' });
    assert.equal(raised.status, 400);
    assert.deepEqual(raised.error, {
      code: 'P0001',
      details: 'the detail',
      hint: 'the hint',
      message: 'plain failure',
    });
    const payment = await db.rpc('fail', { code: 'PT402' });
    assert.equal(payment.status, 402);
    const readOnly = await db.rpc('touch_genre', { new_id: 70 }, { get: true });
    assert.equal(readOnly.status, 405);
    assert.equal(readOnly.error?.code, '25006');
  });
});

describe('row level security', () => {
  test('anon, two users and service_role each see their rows', async () => {
    const seen = async (c) => ids((await c.from('notes').select('id').order('id')).data);
    assert.deepEqual(await seen(anon), [2]);
    assert.deepEqual(await seen(asUser(ALICE)), [1, 2]);
    assert.deepEqual(await seen(asUser(BOB)), [2, 3]);
    assert.deepEqual(await seen(db), [1, 2, 3]);
  });

  test('writes follow the policies', async () => {
    const alice = asUser(ALICE);
    const bob = asUser(BOB);
    const denied = await anon.from('notes').insert({ owner: ALICE, body: 'x' });
    assert.equal(denied.status, 401);
    assert.equal(denied.error?.code, '42501');
    const forged = await alice.from('notes').insert({ owner: BOB, body: 'x' });
    assert.equal(forged.status, 403);
    const own = await alice.from('notes').insert({ body: 'mine' }).select('owner').single();
    assert.deepEqual(own.data, { owner: ALICE });
    const notMine = await bob.from('notes').update({ body: 'hacked' }, { count: 'exact' }).eq('id', 1);
    assert.equal(notMine.count, 0);
    const mine = await bob.from('notes').update({ body: 'edited' }, { count: 'exact' }).eq('id', 3);
    assert.equal(mine.count, 1);
    const viaRpc = await bob.rpc('my_notes').select('id');
    assert.deepEqual(ids(viaRpc.data), [2, 3]);
  });
});

describe('geojson', () => {
  before(async () => {
    // PostGIS in its own schema (on the extra search path), so that `public` stays as it was.
    const sql = `
      create schema if not exists extensions;
      create extension if not exists postgis schema extensions;
      create table public.places (id int primary key, name text, geom extensions.geometry(point, 4326));
      insert into public.places values (1, 'here', 'SRID=4326;POINT(1.5 2.5)'), (2, 'there', 'SRID=4326;POINT(-3 4)');
      grant all on public.places to anon, authenticated, service_role;
      notify pgrst, 'reload schema';`;
    execFileSync('psql', [server.dbUrl, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    for (let i = 0; i < 50; i++) {
      const { error } = await db.from('places').select('id').limit(1);
      if (!error) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  test('geojson() returns a FeatureCollection built by ST_AsGeoJSON', async () => {
    const { data, error, status } = await db.from('places').select('*').order('id').geojson();
    assert.equal(error, null);
    assert.equal(status, 200);
    assert.deepEqual(data, {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', geometry: { type: 'Point', coordinates: [1.5, 2.5] }, properties: { id: 1, name: 'here' } },
        { type: 'Feature', geometry: { type: 'Point', coordinates: [-3, 4] }, properties: { id: 2, name: 'there' } },
      ],
    });
    const one = await db.from('places').select('id,geom').eq('id', 2).geojson();
    assert.deepEqual(one.data.features, [
      { type: 'Feature', geometry: { type: 'Point', coordinates: [-3, 4] }, properties: { id: 2 } },
    ]);
  });

  test('geojson() on a relation without a geometry column is PostGIS 22023', async () => {
    const { data, error, status } = await db.from('genres').select('id').geojson();
    assert.equal(data, null);
    assert.equal(status, 400);
    assert.equal(error.code, '22023');
    assert.equal(error.message, 'geometry column is missing');
  });
});
