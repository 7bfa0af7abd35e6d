// The foundation every other conformance test stands on: the server starts, answers /health,
// and supabase-js with the anon key reaches the PostgREST-compatible API.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { client, startServer } from './harness.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

describe('server', () => {
  test('GET /health answers 200 with a JSON body', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /json/);
    const body = await res.json();
    assert.equal(typeof body, 'object');
    assert.notEqual(body, null);
  });

  test('start prints a usable configuration', () => {
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.match(server.dbUrl, /^postgres(ql)?:\/\//);
    assert.ok(server.jwtSecret.length >= 32, 'JWT secret is at least 32 characters');
    for (const key of [server.anonKey, server.serviceRoleKey]) {
      assert.equal(key.split('.').length, 3, 'keys are JWTs');
    }
    const role = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).role;
    assert.equal(role(server.anonKey), 'anon');
    assert.equal(role(server.serviceRoleKey), 'service_role');
  });
});

describe('rest', () => {
  test('GET /rest/v1/ with the anon key answers a Swagger 2.0 document', async () => {
    const anon = server.anonKey;
    const res = await fetch(`${server.url}/rest/v1/`, {
      headers: { apikey: anon, Authorization: `Bearer ${anon}` },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get('content-type') ?? '', /^application\/openapi\+json/);
    const doc = await res.json();
    assert.equal(doc.swagger, '2.0');
    assert.equal(typeof doc.info?.version, 'string');
  });

  test('supabase-js getOpenApiSpec() returns the Swagger 2.0 document', async () => {
    const supabase = client(server, server.anonKey);
    const { data, error } = await supabase.getOpenApiSpec();
    assert.equal(error, null);
    assert.equal(data?.swagger, '2.0');
  });

  test('supabase-js select on an unknown table errors with PGRST205', async () => {
    const supabase = client(server, server.anonKey);
    const { data, error, status } = await supabase.from('no_such_table').select();
    assert.equal(data, null);
    assert.equal(status, 404);
    assert.equal(error?.code, 'PGRST205');
    assert.match(error?.message ?? '', /no_such_table/);
  });
});
