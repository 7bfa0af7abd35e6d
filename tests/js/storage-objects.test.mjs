// supabase.storage.from(bucket) (storage-js) against /storage/v1/object: every object method
// (upload in each body form, update, download as a Blob and as a stream, info, exists, list,
// listV2, move, copy, remove, signed download and upload URLs, public URLs) as the service role,
// then as signed-in users under a per-user folder policy on storage.objects, with the exact
// {data, error} each returns and the StorageApiError storage-js builds from our error envelope.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { StorageApiError } from '@supabase/supabase-js';

import { client, startServer } from './harness.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const PASSWORD = 'correct horse battery staple';

let server;
let storage;

/** Runs `sql` on the server's database as its superuser. */
function sql(text) {
  execFileSync('psql', [server.dbUrl, '-q', '-v', 'ON_ERROR_STOP=1', '-c', text]);
}

/** Asserts that `error` is the StorageApiError storage-js builds from our envelope. */
function assertStorageError(error, { statusCode, code, message }) {
  assert.ok(error instanceof StorageApiError, `a StorageApiError, not ${error}`);
  assert.deepEqual(error.toJSON(), {
    name: 'StorageApiError',
    message,
    status: 400,
    statusCode,
    code,
  });
}

/** The body of a fetch of `url`, with its status and the headers a test looks at. */
async function get(url) {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    disposition: res.headers.get('content-disposition'),
    text: await res.text(),
  };
}

before(async () => {
  server = await startServer({
    env: { BUCKETBASE_PLATFORM: 'false', ENABLE_EMAIL_AUTOCONFIRM: 'true' },
  });
  storage = client(server, server.serviceRoleKey).storage;
  for (const [id, options] of [
    ['docs', { public: false }],
    ['other', { public: false }],
    ['pics', { public: true }],
  ]) {
    const { error } = await storage.createBucket(id, options);
    assert.equal(error, null, JSON.stringify(error));
  }
});

after(async () => {
  await server?.stop();
});

describe('storage objects as the service role', () => {
  test('upload takes a Blob or a File as multipart, with its options', async () => {
    const docs = storage.from('docs');
    const blob = await docs.upload('up/blob.txt', new Blob(['from a blob'], { type: 'text/plain' }), {
      cacheControl: '60',
      metadata: { owner: 'blob' },
    });
    assert.equal(blob.error, null, JSON.stringify(blob.error));
    assert.match(blob.data.id, UUID);
    assert.deepEqual(blob.data, { path: 'up/blob.txt', id: blob.data.id, fullPath: 'docs/up/blob.txt' });

    const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'logo.png', { type: 'image/png' });
    const filed = await docs.upload('/up//file.png/', file);
    assert.equal(filed.error, null);
    assert.deepEqual(filed.data, { path: 'up/file.png', id: filed.data.id, fullPath: 'docs/up/file.png' });

    const info = await docs.info('up/blob.txt');
    assert.equal(info.error, null);
    assert.deepEqual(info.data, {
      id: blob.data.id,
      name: 'up/blob.txt',
      version: info.data.version,
      bucketId: 'docs',
      size: 11,
      contentType: 'text/plain',
      cacheControl: 'max-age=60',
      etag: info.data.etag,
      metadata: { owner: 'blob' },
      lastModified: info.data.lastModified,
      createdAt: info.data.createdAt,
    });
    assert.match(info.data.etag, /^"[0-9a-f]{32}"$/);
    assert.match(info.data.lastModified, ISO);
    assert.match(info.data.createdAt, ISO);
    assert.equal((await docs.info('up/file.png')).data.contentType, 'image/png');
  });

  test('upload takes a Buffer, an ArrayBuffer or a string as the raw body', async () => {
    const docs = storage.from('docs');
    const buffer = await docs.upload('raw/buffer.bin', Buffer.from('buffer bytes'), {
      contentType: 'application/octet-stream',
      cacheControl: '120',
      metadata: { from: 'buffer' },
    });
    assert.equal(buffer.error, null);
    assert.deepEqual(buffer.data, { path: 'raw/buffer.bin', id: buffer.data.id, fullPath: 'docs/raw/buffer.bin' });
    const arrayBuffer = await docs.upload('raw/array.bin', new TextEncoder().encode('array bytes').buffer, {
      contentType: 'application/json',
    });
    assert.equal(arrayBuffer.error, null);
    const string = await docs.upload('raw/string.txt', 'plain string');
    assert.equal(string.error, null);

    const info = (await docs.info('raw/buffer.bin')).data;
    assert.deepEqual(
      [info.contentType, info.cacheControl, info.size, info.metadata],
      ['application/octet-stream', 'max-age=120', 12, { from: 'buffer' }],
    );
    assert.equal((await docs.info('raw/array.bin')).data.contentType, 'application/json');
    // storage-js's defaults: text/plain;charset=UTF-8, max-age=3600, and no user metadata.
    const plain = (await docs.info('raw/string.txt')).data;
    assert.deepEqual(
      [plain.contentType, plain.cacheControl, plain.metadata],
      ['text/plain;charset=UTF-8', 'max-age=3600', {}],
    );
    const text = await (await docs.download('raw/string.txt')).data.text();
    assert.equal(text, 'plain string');
  });

  test('upload refuses an existing name unless upsert, which replaces it', async () => {
    const docs = storage.from('docs');
    assert.equal((await docs.upload('dup.txt', 'one')).error, null);
    const again = await docs.upload('dup.txt', 'two');
    assert.equal(again.data, null);
    assertStorageError(again.error, {
      statusCode: '409',
      code: 'KeyAlreadyExists',
      message: 'The resource already exists',
    });
    const upserted = await docs.upload('dup.txt', 'three', { upsert: true });
    assert.equal(upserted.error, null);
    assert.equal(await (await docs.download('dup.txt')).data.text(), 'three');

    const missing = await storage.from('no-such-bucket').upload('a.txt', 'x');
    assertStorageError(missing.error, { statusCode: '404', code: 'NoSuchBucket', message: 'Bucket not found' });
  });

  test('update replaces an object, and creates a missing one as upstream does', async () => {
    const docs = storage.from('docs');
    const first = await docs.upload('upd.txt', 'before');
    const updated = await docs.update('upd.txt', new Blob(['after']), { cacheControl: '30' });
    assert.equal(updated.error, null);
    assert.deepEqual(updated.data, { path: 'upd.txt', id: updated.data.id, fullPath: 'docs/upd.txt' });
    assert.equal(updated.data.id, first.data.id, 'the same row');
    assert.equal(await (await docs.download('upd.txt')).data.text(), 'after');
    assert.equal((await docs.info('upd.txt')).data.cacheControl, 'max-age=30');
    const created = await docs.update('upd-new.txt', 'fresh');
    assert.equal(created.error, null);
    assert.equal(await (await docs.download('upd-new.txt')).data.text(), 'fresh');
  });

  test('download gives a Blob, or a stream with asStream(); a missing object is NoSuchKey', async () => {
    const docs = storage.from('docs');
    await docs.upload('dl/hello.txt', 'hello, stream', { contentType: 'text/markdown' });
    const blob = await docs.download('dl/hello.txt');
    assert.equal(blob.error, null);
    assert.ok(blob.data instanceof Blob);
    assert.equal(blob.data.type, 'text/markdown');
    assert.equal(await blob.data.text(), 'hello, stream');

    const stream = await docs.download('dl/hello.txt').asStream();
    assert.equal(stream.error, null);
    assert.ok(stream.data instanceof ReadableStream);
    assert.equal(await new Response(stream.data).text(), 'hello, stream');

    for (const missing of [await docs.download('dl/none.txt'), await docs.download('dl/none.txt').asStream()]) {
      assert.equal(missing.data, null);
      assertStorageError(missing.error, { statusCode: '404', code: 'NoSuchKey', message: 'Object not found' });
    }
  });

  test('info and exists tell a present object from a missing one', async () => {
    const docs = storage.from('docs');
    await docs.upload('ex/here.txt', 'here');
    assert.deepEqual(await docs.exists('ex/here.txt'), { data: true, error: null });
    const gone = await docs.exists('ex/absent.txt');
    assert.equal(gone.data, false);
    assertStorageError(gone.error, { statusCode: '404', code: 'NoSuchKey', message: 'Object not found' });
    const info = await docs.info('ex/absent.txt');
    assert.equal(info.data, null);
    assertStorageError(info.error, { statusCode: '404', code: 'NoSuchKey', message: 'Object not found' });
  });

  test('list: one level under a prefix, with limit, offset, sortBy and search', async () => {
    const docs = storage.from('docs');
    for (const name of ['ls/b.txt', 'ls/a.txt', 'ls/C.txt', 'ls/sub/deep.txt', 'ls/sub/deeper/x.txt']) {
      assert.equal((await docs.upload(name, name)).error, null);
    }
    const all = await docs.list('ls');
    assert.equal(all.error, null);
    assert.deepEqual(
      all.data.map((e) => [e.name, e.id === null]),
      [['a.txt', false], ['b.txt', false], ['C.txt', false], ['sub', true]],
    );
    const [file] = all.data;
    assert.deepEqual(Object.keys(file).sort(), ['created_at', 'id', 'last_accessed_at', 'metadata', 'name', 'updated_at']);
    assert.match(file.id, UUID);
    assert.equal(file.metadata.size, 8);
    assert.equal(file.metadata.mimetype, 'text/plain;charset=UTF-8');
    assert.equal(file.metadata.cacheControl, 'max-age=3600');
    assert.match(file.metadata.eTag, /^"[0-9a-f]{32}"$/);
    assert.deepEqual(all.data[3], {
      name: 'sub',
      id: null,
      updated_at: null,
      created_at: null,
      last_accessed_at: null,
      metadata: null,
    });
    // The same listing with the trailing slash, and one level further down.
    assert.deepEqual((await docs.list('ls/')).data.map((e) => e.name), ['a.txt', 'b.txt', 'C.txt', 'sub']);
    assert.deepEqual((await docs.list('ls/sub')).data.map((e) => e.name), ['deep.txt', 'deeper']);

    const page = await docs.list('ls', { limit: 2, offset: 1 });
    assert.deepEqual(page.data.map((e) => e.name), ['b.txt', 'C.txt']);
    const desc = await docs.list('ls', { sortBy: { column: 'name', order: 'desc' } });
    assert.deepEqual(desc.data.map((e) => e.name), ['sub', 'C.txt', 'b.txt', 'a.txt']);
    const searched = await docs.list('ls', { search: 'c' });
    assert.deepEqual(searched.data.map((e) => e.name), ['C.txt']);
    assert.deepEqual((await docs.list('ls/nothing-here')).data, []);
  });

  test('listV2: folders and objects apart, with keys, a cursor and sortBy', async () => {
    const docs = storage.from('docs');
    for (const name of ['v2/a.txt', 'v2/b.txt', 'v2/c.txt', 'v2/dir/x.txt']) {
      await docs.upload(name, 'v2');
    }
    const delimited = await docs.listV2({ prefix: 'v2/', with_delimiter: true });
    assert.equal(delimited.error, null);
    assert.equal(delimited.data.hasNext, false);
    assert.deepEqual(delimited.data.folders, [
      { key: 'dir', name: 'v2/dir/', id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null },
    ]);
    assert.deepEqual(
      delimited.data.objects.map((o) => [o.key, o.name]),
      [['a.txt', 'v2/a.txt'], ['b.txt', 'v2/b.txt'], ['c.txt', 'v2/c.txt']],
    );

    // Two at a time, in the order asked for, each name once.
    for (const [sortBy, expected] of [
      [undefined, ['v2/a.txt', 'v2/b.txt', 'v2/c.txt', 'v2/dir/x.txt']],
      [{ column: 'name', order: 'desc' }, ['v2/dir/x.txt', 'v2/c.txt', 'v2/b.txt', 'v2/a.txt']],
      [{ column: 'created_at', order: 'asc' }, ['v2/a.txt', 'v2/b.txt', 'v2/c.txt', 'v2/dir/x.txt']],
    ]) {
      const names = [];
      let cursor;
      for (let pages = 0; pages < 5; pages++) {
        const { data, error } = await docs.listV2({ prefix: 'v2/', limit: 2, cursor, sortBy });
        assert.equal(error, null);
        names.push(...data.objects.map((o) => o.name));
        if (!data.hasNext) break;
        assert.equal(typeof data.nextCursor, 'string');
        cursor = data.nextCursor;
      }
      assert.deepEqual(names, expected, JSON.stringify(sortBy));
    }
  });

  test('move renames an object, also into another bucket; an occupied name is refused', async () => {
    const docs = storage.from('docs');
    await docs.upload('mv/from.txt', 'moving');
    await docs.upload('mv/taken.txt', 'taken');
    const moved = await docs.move('mv/from.txt', 'mv/to.txt');
    assert.deepEqual(moved, { data: { message: 'Successfully moved' }, error: null });
    assert.equal((await docs.exists('mv/from.txt')).data, false);
    assert.equal(await (await docs.download('mv/to.txt')).data.text(), 'moving');

    const across = await docs.move('mv/to.txt', 'arrived.txt', { destinationBucket: 'other' });
    assert.deepEqual(across, { data: { message: 'Successfully moved' }, error: null });
    assert.equal(await (await storage.from('other').download('arrived.txt')).data.text(), 'moving');

    const occupied = await docs.move('mv/taken.txt', 'mv/taken.txt-copy');
    assert.equal(occupied.error, null);
    await docs.upload('mv/again.txt', 'again');
    const clash = await docs.move('mv/again.txt', 'mv/taken.txt-copy');
    assertStorageError(clash.error, {
      statusCode: '409',
      code: 'ResourceAlreadyExists',
      message: 'The resource already exists',
    });
    const missing = await docs.move('mv/never.txt', 'mv/x.txt');
    assertStorageError(missing.error, { statusCode: '404', code: 'NoSuchKey', message: 'Object not found' });
  });

  test('copy duplicates an object, also into another bucket; an occupied name is refused', async () => {
    const docs = storage.from('docs');
    await docs.upload('cp/src.txt', 'copied', { metadata: { kept: 'yes' } });
    const copied = await docs.copy('cp/src.txt', 'cp/dst.txt');
    assert.deepEqual(copied, { data: { path: 'docs/cp/dst.txt' }, error: null });
    assert.equal(await (await docs.download('cp/dst.txt')).data.text(), 'copied');
    assert.deepEqual((await docs.info('cp/dst.txt')).data.metadata, { kept: 'yes' });
    assert.equal((await docs.exists('cp/src.txt')).data, true);

    const across = await docs.copy('cp/src.txt', 'cp/elsewhere.txt', { destinationBucket: 'other' });
    assert.deepEqual(across, { data: { path: 'other/cp/elsewhere.txt' }, error: null });
    assert.equal(await (await storage.from('other').download('cp/elsewhere.txt')).data.text(), 'copied');

    const clash = await docs.copy('cp/src.txt', 'cp/dst.txt');
    assertStorageError(clash.error, {
      statusCode: '409',
      code: 'KeyAlreadyExists',
      message: 'The resource already exists',
    });
  });

  test('remove deletes the named objects and returns their rows, skipping missing names', async () => {
    const docs = storage.from('docs');
    await docs.upload('rm/one.txt', '1');
    await docs.upload('rm/two.txt', '2');
    const removed = await docs.remove(['rm/one.txt', 'rm/two.txt', 'rm/never.txt']);
    assert.equal(removed.error, null);
    assert.deepEqual(removed.data.map((r) => [r.name, r.bucket_id]).sort(), [
      ['rm/one.txt', 'docs'],
      ['rm/two.txt', 'docs'],
    ]);
    assert.match(removed.data[0].id, UUID);
    assert.equal(removed.data[0].metadata.size, 1);
    assert.deepEqual((await docs.list('rm')).data, []);
    assert.deepEqual(await docs.remove(['rm/one.txt']), { data: [], error: null });
  });

  test('createSignedUrl signs a download, optionally as an attachment', async () => {
    const docs = storage.from('docs');
    await docs.upload('sig/report.txt', 'signed bytes');
    const signed = await docs.createSignedUrl('sig/report.txt', 60);
    assert.equal(signed.error, null);
    assert.deepEqual(Object.keys(signed.data), ['signedUrl']);
    assert.ok(signed.data.signedUrl.startsWith(`${server.url}/storage/v1/object/sign/docs/sig/report.txt?token=`));
    const fetched = await get(signed.data.signedUrl);
    assert.deepEqual([fetched.status, fetched.text, fetched.disposition], [200, 'signed bytes', null]);

    const attachment = await docs.createSignedUrl('sig/report.txt', 60, { download: true });
    assert.ok(attachment.data.signedUrl.endsWith('&download='));
    assert.equal((await get(attachment.data.signedUrl)).disposition, 'attachment;');
    const named = await docs.createSignedUrl('sig/report.txt', 60, { download: 'my report.txt' });
    assert.equal(
      (await get(named.data.signedUrl)).disposition,
      "attachment; filename=my%20report.txt; filename*=UTF-8''my%20report.txt",
    );

    const missing = await docs.createSignedUrl('sig/none.txt', 60);
    assert.equal(missing.data, null);
    assertStorageError(missing.error, { statusCode: '404', code: 'NoSuchKey', message: 'Object not found' });

    // A token for one object opens no other.
    const token = new URL(signed.data.signedUrl).searchParams.get('token');
    await docs.upload('sig/other.txt', 'other');
    const res = await fetch(`${server.url}/storage/v1/object/sign/docs/sig/other.txt?token=${token}`);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      statusCode: '400',
      code: 'InvalidSignature',
      error: 'InvalidSignature',
      message: 'Invalid signature',
    });
  });

  test('createSignedUrls signs many, with an error for each object it cannot see', async () => {
    const docs = storage.from('docs');
    await docs.upload('sigs/a.txt', 'a');
    await docs.upload('sigs/b.txt', 'b');
    const signed = await docs.createSignedUrls(['sigs/a.txt', 'sigs/none.txt', 'sigs/b.txt'], 60);
    assert.equal(signed.error, null);
    assert.equal(signed.data.length, 3);
    const [a, none, b] = signed.data;
    assert.deepEqual(Object.keys(a).sort(), ['error', 'path', 'signedURL', 'signedUrl']);
    assert.deepEqual([a.error, a.path], [null, 'sigs/a.txt']);
    assert.ok(a.signedURL.startsWith('/object/sign/docs/sigs/a.txt?token='));
    assert.equal(a.signedUrl, `${server.url}/storage/v1${a.signedURL}`);
    assert.deepEqual(none, {
      error: 'Either the object does not exist or you do not have access to it',
      path: 'sigs/none.txt',
      signedURL: null,
      signedUrl: null,
    });
    assert.equal((await get(a.signedUrl)).text, 'a');
    assert.equal((await get(b.signedUrl)).text, 'b');

    const downloads = await docs.createSignedUrls(['sigs/a.txt'], 60, { download: true });
    assert.ok(downloads.data[0].signedUrl.endsWith('&download='));
    assert.equal((await get(downloads.data[0].signedUrl)).disposition, 'attachment;');
  });

  test('createSignedUploadUrl and uploadToSignedUrl: one upload, or replacements with upsert', async () => {
    const docs = storage.from('docs');
    const signed = await docs.createSignedUploadUrl('su/new.txt');
    assert.equal(signed.error, null);
    assert.deepEqual(Object.keys(signed.data).sort(), ['path', 'signedUrl', 'token']);
    assert.equal(signed.data.path, 'su/new.txt');
    assert.equal(
      signed.data.signedUrl,
      `${server.url}/storage/v1/object/upload/sign/docs/su/new.txt?token=${signed.data.token}`,
    );
    const uploaded = await docs.uploadToSignedUrl('su/new.txt', signed.data.token, 'first', {
      contentType: 'text/csv',
    });
    assert.deepEqual(uploaded, { data: { path: 'su/new.txt', fullPath: 'docs/su/new.txt' }, error: null });
    assert.equal((await docs.info('su/new.txt')).data.contentType, 'text/csv');
    const twice = await docs.uploadToSignedUrl('su/new.txt', signed.data.token, 'second');
    assertStorageError(twice.error, {
      statusCode: '409',
      code: 'KeyAlreadyExists',
      message: 'The resource already exists',
    });

    const upsert = await docs.createSignedUploadUrl('su/new.txt', { upsert: true });
    assert.equal(upsert.error, null);
    for (const body of [new Blob(['via blob']), 'via string']) {
      const r = await docs.uploadToSignedUrl('su/new.txt', upsert.data.token, body, { upsert: true });
      assert.equal(r.error, null, JSON.stringify(r.error));
    }
    assert.equal(await (await docs.download('su/new.txt')).data.text(), 'via string');

    // The token is for its own path only.
    const elsewhere = await docs.uploadToSignedUrl('su/other.txt', upsert.data.token, 'x');
    assertStorageError(elsewhere.error, {
      statusCode: '400',
      code: 'InvalidSignature',
      message: 'Invalid signature',
    });
  });

  test('getPublicUrl builds the public URL, which serves objects of public buckets only', async () => {
    const pics = storage.from('pics');
    await pics.upload('folder/my cat.txt', 'meow');
    const { data } = pics.getPublicUrl('folder/my cat.txt');
    assert.deepEqual(data, { publicUrl: `${server.url}/storage/v1/object/public/pics/folder/my%20cat.txt` });
    const fetched = await get(data.publicUrl);
    assert.deepEqual([fetched.status, fetched.text, fetched.type], [200, 'meow', 'text/plain;charset=UTF-8']);
    const download = pics.getPublicUrl('folder/my cat.txt', { download: 'cat.txt' });
    assert.equal(download.data.publicUrl, `${data.publicUrl}?download=cat.txt`);
    assert.equal(
      (await get(download.data.publicUrl)).disposition,
      "attachment; filename=cat.txt; filename*=UTF-8''cat.txt",
    );

    // A private bucket's object has no public URL: upstream finds no public bucket.
    await storage.from('docs').upload('private.txt', 'secret');
    const hidden = await get(storage.from('docs').getPublicUrl('private.txt').data.publicUrl);
    assert.equal(hidden.status, 400);
    assert.deepEqual(JSON.parse(hidden.text), {
      statusCode: '404',
      code: 'NoSuchBucket',
      error: 'Bucket not found',
      message: 'Bucket not found',
    });
    const absent = await get(pics.getPublicUrl('folder/no dog.txt').data.publicUrl);
    assert.equal(JSON.parse(absent.text).code, 'NoSuchKey');
  });
});

describe('storage objects under a per-user folder policy', () => {
  let alice;
  let bob;

  async function signUp(name) {
    const supabase = client(server, server.anonKey);
    const { data, error } = await supabase.auth.signUp({ email: `${name}@example.com`, password: PASSWORD });
    assert.equal(error, null, `${name} signs up: ${error?.message}`);
    return { storage: supabase.storage, id: data.user.id };
  }

  before(async () => {
    const { error } = await storage.createBucket('avatars', { public: false });
    assert.equal(error, null);
    // Supabase's documented policy: each user works inside the folder named after their id.
    const own = "bucket_id = 'avatars' and (storage.foldername(name))[1] = auth.uid()::text";
    sql(`
      create policy "avatars read own" on storage.objects for select to authenticated using (${own});
      create policy "avatars insert own" on storage.objects for insert to authenticated with check (${own});
      create policy "avatars update own" on storage.objects for update to authenticated using (${own}) with check (${own});
      create policy "avatars delete own" on storage.objects for delete to authenticated using (${own});
    `);
    alice = await signUp('alice');
    bob = await signUp('bob');
  });

  test('a user uploads, updates and upserts inside their folder only', async () => {
    const mine = alice.storage.from('avatars');
    const up = await mine.upload(`${alice.id}/avatar.txt`, 'alice v1');
    assert.equal(up.error, null, JSON.stringify(up.error));
    assert.deepEqual(up.data, {
      path: `${alice.id}/avatar.txt`,
      id: up.data.id,
      fullPath: `avatars/${alice.id}/avatar.txt`,
    });
    assert.equal((await mine.update(`${alice.id}/avatar.txt`, 'alice v2')).error, null);
    assert.equal((await mine.upload(`${alice.id}/avatar.txt`, 'alice v3', { upsert: true })).error, null);
    assert.equal(await (await mine.download(`${alice.id}/avatar.txt`)).data.text(), 'alice v3');

    const intrusion = await mine.upload(`${bob.id}/avatar.txt`, 'not yours');
    assert.equal(intrusion.data, null);
    assertStorageError(intrusion.error, {
      statusCode: '403',
      code: 'AccessDenied',
      message: 'new row violates row-level security policy',
    });
    const rootFile = await mine.upload('avatar.txt', 'no folder');
    assertStorageError(rootFile.error, {
      statusCode: '403',
      code: 'AccessDenied',
      message: 'new row violates row-level security policy',
    });
  });

  test("another user's objects are invisible: not found, not listed, not signed", async () => {
    await alice.storage.from('avatars').upload(`${alice.id}/private.txt`, 'only alice', { upsert: true });
    const theirs = bob.storage.from('avatars');
    const download = await theirs.download(`${alice.id}/private.txt`);
    assertStorageError(download.error, { statusCode: '404', code: 'NoSuchKey', message: 'Object not found' });
    assert.equal((await theirs.exists(`${alice.id}/private.txt`)).data, false);
    assert.deepEqual((await theirs.list(alice.id)).data, []);
    assert.deepEqual((await theirs.listV2({ prefix: `${alice.id}/` })).data, {
      hasNext: false,
      folders: [],
      objects: [],
    });
    const sign = await theirs.createSignedUrl(`${alice.id}/private.txt`, 60);
    assertStorageError(sign.error, { statusCode: '404', code: 'NoSuchKey', message: 'Object not found' });
    const signs = await theirs.createSignedUrls([`${alice.id}/private.txt`], 60);
    assert.equal(signs.data[0].error, 'Either the object does not exist or you do not have access to it');
    const upload = await theirs.createSignedUploadUrl(`${alice.id}/planted.txt`);
    assertStorageError(upload.error, {
      statusCode: '403',
      code: 'AccessDenied',
      message: 'new row violates row-level security policy',
    });
    assert.deepEqual(await theirs.remove([`${alice.id}/private.txt`]), { data: [], error: null });
    assert.equal((await theirs.copy(`${alice.id}/private.txt`, `${bob.id}/stolen.txt`)).error.code, 'NoSuchKey');
    assert.equal((await theirs.move(`${alice.id}/private.txt`, `${bob.id}/stolen.txt`)).error.code, 'NoSuchKey');

    // The anon key sees nothing either, and alice still has her object.
    const anon = client(server, server.anonKey).storage.from('avatars');
    assert.deepEqual((await anon.list(alice.id)).data, []);
    assert.equal(await (await alice.storage.from('avatars').download(`${alice.id}/private.txt`)).data.text(), 'only alice');
  });

  test('the owner lists, signs, copies, moves and removes within their folder', async () => {
    const mine = alice.storage.from('avatars');
    await mine.upload(`${alice.id}/work/a.txt`, 'a');
    const listed = await mine.list(`${alice.id}/work`);
    assert.deepEqual(listed.data.map((e) => e.name), ['a.txt']);

    const signed = await mine.createSignedUrl(`${alice.id}/work/a.txt`, 60);
    assert.equal((await get(signed.data.signedUrl)).text, 'a');
    const upload = await mine.createSignedUploadUrl(`${alice.id}/work/signed.txt`);
    assert.equal(upload.error, null);
    const put = await mine.uploadToSignedUrl(`${alice.id}/work/signed.txt`, upload.data.token, 'by token');
    assert.equal(put.error, null);

    assert.equal((await mine.copy(`${alice.id}/work/a.txt`, `${alice.id}/work/b.txt`)).error, null);
    const outward = await mine.copy(`${alice.id}/work/a.txt`, `${bob.id}/gift.txt`);
    assertStorageError(outward.error, {
      statusCode: '403',
      code: 'AccessDenied',
      message: 'new row violates row-level security policy',
    });
    assert.deepEqual(await mine.move(`${alice.id}/work/b.txt`, `${alice.id}/work/c.txt`), {
      data: { message: 'Successfully moved' },
      error: null,
    });
    const away = await mine.move(`${alice.id}/work/c.txt`, `${bob.id}/c.txt`);
    assertStorageError(away.error, {
      statusCode: '403',
      code: 'AccessDenied',
      message: 'new row violates row-level security policy',
    });

    assert.deepEqual(
      (await mine.list(`${alice.id}/work`)).data.map((e) => e.name),
      ['a.txt', 'c.txt', 'signed.txt'],
    );
    const removed = await mine.remove([`${alice.id}/work/a.txt`, `${alice.id}/work/c.txt`, `${alice.id}/work/signed.txt`]);
    assert.equal(removed.data.length, 3);
    assert.deepEqual((await mine.list(`${alice.id}/work`)).data, []);
    // Bob's folder stayed empty through all of it.
    assert.deepEqual((await storage.from('avatars').list(bob.id)).data, []);
  });
});
