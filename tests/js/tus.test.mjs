// Resumable uploads with the real tus-js-client against /storage/v1/upload/resumable, set up as
// Supabase's docs set it up (Authorization + apikey, x-upsert, the Upload-Metadata keys
// bucketName/objectName/contentType/cacheControl/metadata), with chunk sizes that are no
// multiple of the 6 MB Supabase asks for; the objects are then read back with supabase-js's
// storage.from(bucket).download(name).

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';

import tus from 'tus-js-client';

import { client, startServer } from './harness.mjs';

let server;

before(async () => {
  server = await startServer({ env: { BUCKETBASE_PLATFORM: 'false' } });
});

after(async () => {
  await server?.stop();
});

/** Deterministic bytes that are not all the same. */
function pattern(length) {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31) % 251;
  return out;
}

/** Runs a tus upload to the end; resolves with the upload (its `url` is the Location). */
function tusUpload(file, options) {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      retryDelays: [0, 500, 1000],
      removeFingerprintOnSuccess: true,
      ...options,
      onError: reject,
      onSuccess: () => resolve(upload),
    });
    upload.start();
  });
}

async function downloaded(storage, bucket, name) {
  const { data, error } = await storage.from(bucket).download(name);
  assert.equal(error, null, JSON.stringify(error));
  return Buffer.from(await data.arrayBuffer());
}

describe('TUS resumable uploads', () => {
  test('tus-js-client uploads a Buffer in odd chunks; supabase-js downloads it', async () => {
    const storage = client(server, server.serviceRoleKey).storage;
    assert.equal((await storage.createBucket('videos')).error, null);
    const file = pattern(7_654_321);
    const chunks = [];
    const upload = await tusUpload(file, {
      endpoint: `${server.url}/storage/v1/upload/resumable`,
      headers: {
        authorization: `Bearer ${server.serviceRoleKey}`,
        apikey: server.anonKey,
        'x-upsert': 'true',
      },
      uploadDataDuringCreation: true,
      chunkSize: 3_000_001,
      metadata: {
        bucketName: 'videos',
        objectName: 'clips/first.mp4',
        contentType: 'video/mp4',
        cacheControl: '3600',
        metadata: JSON.stringify({ camera: 'front' }),
      },
      onChunkComplete: (size, accepted) => chunks.push(accepted),
    });
    assert.match(upload.url, /\/storage\/v1\/upload\/resumable\/[A-Za-z0-9_-]+$/);
    assert.deepEqual(chunks, [3_000_001, 6_000_002, 7_654_321]);
    assert.ok((await downloaded(storage, 'videos', 'clips/first.mp4')).equals(file));

    const info = await storage.from('videos').info('clips/first.mp4');
    assert.equal(info.error, null, JSON.stringify(info.error));
    assert.equal(info.data.contentType, 'video/mp4');
    assert.equal(info.data.cacheControl, 'max-age=3600');
    assert.equal(info.data.size, file.length);
    assert.deepEqual(info.data.metadata, { camera: 'front' });
  });

  test('a stream, without data during creation, replaces the object with x-upsert', async () => {
    const storage = client(server, server.serviceRoleKey).storage;
    const file = pattern(2_500_003).reverse();
    await tusUpload(Readable.from([file.subarray(0, 1_000_000), file.subarray(1_000_000)]), {
      endpoint: `${server.url}/storage/v1/upload/resumable`,
      headers: { authorization: `Bearer ${server.serviceRoleKey}`, 'x-upsert': 'true' },
      uploadSize: file.length,
      chunkSize: 999_999,
      metadata: {
        bucketName: 'videos',
        objectName: 'clips/first.mp4',
        contentType: 'video/mp4',
      },
    });
    assert.ok((await downloaded(storage, 'videos', 'clips/first.mp4')).equals(file));
    const info = await storage.from('videos').info('clips/first.mp4');
    assert.equal(info.data.size, file.length);
  });

  test('a signed upload URL from createSignedUploadUrl drives a signed TUS upload', async () => {
    const storage = client(server, server.serviceRoleKey).storage;
    const signed = await storage.from('videos').createSignedUploadUrl('clips/signed.bin');
    assert.equal(signed.error, null, JSON.stringify(signed.error));
    const file = pattern(1_234_567);
    await tusUpload(file, {
      endpoint: `${server.url}/storage/v1/upload/resumable/sign`,
      headers: { 'x-signature': signed.data.token },
      chunkSize: 500_001,
      metadata: {
        bucketName: 'videos',
        objectName: 'clips/signed.bin',
        contentType: 'application/octet-stream',
      },
    });
    assert.ok((await downloaded(storage, 'videos', 'clips/signed.bin')).equals(file));
  });

  test('the server refuses a size over the bucket limit, and tus-js-client reports it', async () => {
    const storage = client(server, server.serviceRoleKey).storage;
    assert.equal((await storage.createBucket('tiny', { fileSizeLimit: 1000 })).error, null);
    await assert.rejects(
      tusUpload(pattern(1001), {
        endpoint: `${server.url}/storage/v1/upload/resumable`,
        headers: { authorization: `Bearer ${server.serviceRoleKey}` },
        retryDelays: [],
        metadata: { bucketName: 'tiny', objectName: 'big.bin', contentType: 'text/plain' },
      }),
      (err) => {
        assert.equal(err.originalResponse.getStatus(), 413);
        assert.match(err.originalResponse.getBody(), /Maximum size exceeded/);
        return true;
      },
    );
    const { data } = await storage.from('tiny').list();
    assert.deepEqual(data, []);
  });
});
