// Test harness for the JS conformance tests: runs a real `bucketbase start` on a throwaway data
// directory and a free port, and hands back what it printed (URLs, secret, keys).
//
//   const server = await startServer();
//   const anon = client(server, server.anonKey);
//   ...
//   await server.stop();
//
// Environment:
//   BUCKETBASE_BIN             path of the binary (default <repo>/target/debug/bucketbase)
//   BUCKETBASE_START_TIMEOUT   seconds to wait for the five ready lines (default 60)
//   BUCKETBASE_TEST_LOG=1      copy the server's stdout/stderr to this process's stderr

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createClient } from '@supabase/supabase-js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Path of the server binary under test. */
export const bucketbaseBin =
  process.env.BUCKETBASE_BIN ?? path.join(repoRoot, 'target', 'debug', 'bucketbase');

// The lines `bucketbase start` prints once it serves, in the order it prints them.
const READY_LINES = [
  ['url', /^API URL:\s*(\S+)\s*$/],
  ['dbUrl', /^DB URL:\s*(\S+)\s*$/],
  ['jwtSecret', /^JWT secret:\s*(\S+)\s*$/],
  ['anonKey', /^anon key:\s*(\S+)\s*$/],
  ['serviceRoleKey', /^service_role key:\s*(\S+)\s*$/],
];

// Configuration that would point `start` somewhere else than its own embedded cluster.
const SCRUBBED_ENV = [
  'DATABASE_URL',
  'PGRST_DB_URI',
  'POSTGRES_HOST',
  'POSTGRES_PORT',
  'POSTGRES_DB',
  'POSTGRES_USER',
  'POSTGRES_PASSWORD',
  'BUCKETBASE_HOST',
  'BUCKETBASE_PORT',
  'BUCKETBASE_DATA_DIR',
  'JWT_SECRET',
  'ANON_KEY',
  'SERVICE_ROLE_KEY',
];

const STDERR_KEEP = 64 * 1024;
const STOP_GRACE_MS = 20_000;

/** Servers not stopped yet, killed if this process exits without stopping them. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});
for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]]) {
  process.once(signal, () => {
    for (const child of running) killGroup(child, 'SIGTERM');
    process.exit(128 + number);
  });
}

/** True when `port` can be bound on 127.0.0.1 right now. */
function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port the OS reports free, from a bind to port 0. */
function ephemeralPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A port P such that both P (the API) and P+1 (the embedded PostgreSQL) are free.
 * There is a window between this check and the server's bind; the retries in the
 * callers are cheaper than anything cleverer.
 */
export async function freePortPair() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await ephemeralPort();
    if (port < 65535 && (await portIsFree(port + 1))) return port;
  }
  throw new Error('no free pair of adjacent ports found after 50 attempts');
}

function killGroup(child, signal) {
  // The server runs in its own process group (detached), so PostgreSQL goes down with it.
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Starts `bucketbase start` on a fresh temp data dir and a free port.
 *
 * Resolves to `{url, dbUrl, jwtSecret, anonKey, serviceRoleKey, port, dataDir, stderr(), stop()}`
 * once the five ready lines are printed; rejects with the collected stderr if the process exits
 * or the timeout passes first.
 *
 * @param {{env?: Record<string, string>, args?: string[], timeoutMs?: number}} [options]
 *   `env` is merged over the (scrubbed) environment, `args` are appended to the command line.
 */
export async function startServer(options = {}) {
  if (!existsSync(bucketbaseBin)) {
    throw new Error(
      `server binary not found at ${bucketbaseBin}: run \`cargo build -p bucketbase-server\` ` +
        'or set BUCKETBASE_BIN',
    );
  }
  const timeoutMs =
    options.timeoutMs ?? Number(process.env.BUCKETBASE_START_TIMEOUT ?? 60) * 1000;

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bucketbase-js-'));
  // Run as root, the server hands its cluster to the `postgres` OS user, which has to be able
  // to reach <dataDir>/db; mkdtemp makes the directory 0700.
  await chmod(dataDir, 0o755);

  const env = { ...process.env };
  for (const name of SCRUBBED_ENV) delete env[name];
  Object.assign(env, options.env ?? {});

  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePortPair();
    try {
      return await launch({ port, dataDir, env, timeoutMs, args: options.args ?? [] });
    } catch (err) {
      lastError = err;
      // Retry only when someone took the port between our check and the server's bind.
      if (!/address already in use|addrinuse/i.test(String(err?.message))) break;
    }
  }
  await rm(dataDir, { recursive: true, force: true });
  throw lastError;
}

function launch({ port, dataDir, env, timeoutMs, args }) {
  const log = process.env.BUCKETBASE_TEST_LOG === '1';
  const child = spawn(
    bucketbaseBin,
    ['start', '--data-dir', dataDir, '--port', String(port), ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  running.add(child);

  let stderr = '';
  let stdoutTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    if (log) process.stderr.write(chunk);
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });

  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  // 'close' comes once stdout/stderr are drained too; bounded, because a grandchild that
  // inherited the pipes (PostgreSQL) could keep them open.
  const closed = new Promise((resolve) => child.once('close', resolve));
  const drained = async () => {
    let timer;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  };

  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  return new Promise((resolve, reject) => {
    const info = {};
    let buffered = '';
    let settled = false;

    const fail = async (reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.pid !== undefined) {
        // (No pid: the spawn itself failed, and there is no process to wait for.)
        killGroup(child, 'SIGTERM');
        const timer2 = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer2);
        await drained();
      }
      running.delete(child);
      reject(
        new Error(
          `bucketbase start (port ${port}, data dir ${dataDir}) ${reason}\n` +
            `--- stdout (tail) ---\n${stdoutTail}\n--- stderr ---\n${stderr}`,
        ),
      );
    };

    const timer = setTimeout(
      () => fail(`did not print its ready lines within ${timeoutMs / 1000} s`),
      timeoutMs,
    );

    child.once('error', (err) => fail(`could not be spawned: ${err.message}`));
    exited.then(({ code, signal }) =>
      fail(`exited before it was ready (code ${code}, signal ${signal})`),
    );

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      // Keep reading after the ready lines too, so the pipe never fills up.
      if (log) process.stderr.write(chunk);
      stdoutTail = (stdoutTail + chunk).slice(-STDERR_KEEP);
      if (settled) return;
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).replace(/\r$/, '');
        buffered = buffered.slice(newline + 1);
        for (const [key, pattern] of READY_LINES) {
          const match = pattern.exec(line);
          if (match && info[key] === undefined) info[key] = match[1];
        }
      }
      if (READY_LINES.every(([key]) => info[key] !== undefined)) {
        settled = true;
        clearTimeout(timer);
        resolve({
          ...info,
          port,
          dataDir,
          pid: child.pid,
          stderr: () => stderr,
          stop,
        });
      }
    });
  });
}

/**
 * A supabase-js client for `info.url` with `key`, with no session persistence or refresh
 * timers (so a test process can exit as soon as its tests are done).
 */
export function client(info, key, options = {}) {
  return createClient(info.url, key, {
    ...options,
    auth: { persistSession: false, autoRefreshToken: false, ...(options.auth ?? {}) },
  });
}
