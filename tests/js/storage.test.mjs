// supabase.storage's bucket API (storage-js) against /storage/v1/bucket: create, get, list,
// update, empty and delete as the service role, and what RLS leaves the anon key.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { client, startServer } from './harness.mjs';

let server;

before(async () => {
  server = await startServer({ env: { BUCKETBASE_PLATFORM: 'false' } });
});

after(async () => {
  await server?.stop();
});

describe('storage buckets', () => {
  test('the service role manages a bucket through its whole life', async () => {
    const storage = client(server, server.serviceRoleKey).storage;
    const created = await storage.createBucket('avatars', {
      public: true,
      fileSizeLimit: '1MB',
      allowedMimeTypes: ['image/*'],
    });
    assert.equal(created.error, null, JSON.stringify(created.error));
    assert.deepEqual(created.data, { name: 'avatars' });

    const got = await storage.getBucket('avatars');
    assert.equal(got.error, null);
    assert.equal(got.data.id, 'avatars');
    assert.equal(got.data.public, true);
    assert.equal(got.data.file_size_limit, 1000000);
    assert.deepEqual(got.data.allowed_mime_types, ['image/*']);

    const listed = await storage.listBuckets();
    assert.equal(listed.error, null);
    assert.deepEqual(listed.data.map((b) => b.name), ['avatars']);

    const updated = await storage.updateBucket('avatars', { public: false });
    assert.equal(updated.error, null);
    assert.equal(updated.data.message, 'Successfully updated');
    assert.equal((await storage.getBucket('avatars')).data.public, false);

    assert.equal(
      (await storage.emptyBucket('avatars')).data.message,
      'Empty bucket has been queued. Completion may take up to an hour.',
    );
    assert.equal((await storage.deleteBucket('avatars')).data.message, 'Successfully deleted');

    const gone = await storage.getBucket('avatars');
    assert.equal(gone.data, null);
    assert.equal(gone.error.message, 'Bucket not found');
    assert.equal(gone.error.statusCode, '404');
  });

  test('a duplicate bucket is refused with StorageApiError', async () => {
    const storage = client(server, server.serviceRoleKey).storage;
    assert.equal((await storage.createBucket('twice')).error, null);
    const again = await storage.createBucket('twice');
    assert.equal(again.data, null);
    assert.equal(again.error.name, 'StorageApiError');
    assert.equal(again.error.status, 400);
    assert.equal(again.error.statusCode, '409');
    assert.equal(again.error.message, 'The resource already exists');
  });

  test('without a policy the anon key sees no bucket and creates none', async () => {
    const storage = client(server, server.anonKey).storage;
    const listed = await storage.listBuckets();
    assert.equal(listed.error, null);
    assert.deepEqual(listed.data, []);
    const created = await storage.createBucket('anon-bucket');
    assert.equal(created.data, null);
    assert.equal(created.error.statusCode, '403');
    assert.match(created.error.message, /row-level security/);
  });
});
