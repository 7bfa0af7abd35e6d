// Auth conformance: the real supabase-js client (auth-js 2.119.0) against `bucketbase start`:
// sign-up with a mailed confirmation code, sign-in, onAuthStateChange, refresh, getUser,
// updateUser, sign-out, error classes and codes, anonymous sign-in, the email OTP round trip
// through an SMTP sink started here, and the admin API.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { AuthApiError, AuthWeakPasswordError } from '@supabase/supabase-js';

import { client, startServer } from './harness.mjs';

/** A minimal SMTP server that records every message. */
async function startSmtpSink() {
  const mails = [];
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let current = { from: '', to: [], data: '' };
    const reply = (line) => socket.write(`${line}\r\n`);
    reply('220 js-sink ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl + 1);
        buffer = buffer.slice(nl + 1);
        if (inData) {
          if (line === '.\r\n' || line === '.\n') {
            inData = false;
            mails.push(current);
            current = { from: '', to: [], data: '' };
            reply('250 OK queued');
          } else {
            current.data += line.startsWith('.') ? line.slice(1) : line;
          }
          continue;
        }
        const cmd = line.trim().toUpperCase();
        if (cmd.startsWith('EHLO')) {
          socket.write('250-js-sink\r\n250 AUTH PLAIN LOGIN\r\n');
        } else if (cmd.startsWith('AUTH')) {
          reply('235 Authenticated');
        } else if (cmd.startsWith('MAIL FROM:')) {
          current.from = line.trim().slice(10).replace(/[<>]/g, '');
          reply('250 OK');
        } else if (cmd.startsWith('RCPT TO:')) {
          current.to.push(line.trim().slice(8).replace(/[<>]/g, '').trim());
          reply('250 OK');
        } else if (cmd.startsWith('DATA')) {
          inData = true;
          reply('354 go ahead');
        } else if (cmd.startsWith('QUIT')) {
          reply('221 Bye');
          socket.end();
        } else {
          reply('250 OK');
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    mails,
    async waitFor(to, count = 1) {
      for (let i = 0; i < 500; i++) {
        const got = mails.filter((m) => m.to.includes(to));
        if (got.length >= count) return got[count - 1];
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no mail #${count} for ${to}`);
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The one-time code of a mail (the first run of 6+ digits in the body, outside the link). */
function otpOf(mail) {
  const body = mail.data.split('\r\n\r\n').slice(1).join('\r\n\r\n').replace(/href="[^"]*"/g, '');
  return body.match(/\b(\d{6,10})\b/)?.[1];
}

let server;
let sink;

before(async () => {
  sink = await startSmtpSink();
  server = await startServer({
    env: {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(sink.port),
      SMTP_USER: 'sink',
      SMTP_PASS: 'sink-password',
      SMTP_ADMIN_EMAIL: 'admin@bucketbase.test',
      SMTP_SENDER_NAME: 'Bucketbase',
      GOTRUE_SMTP_MAX_FREQUENCY: '0s',
      GOTRUE_RATE_LIMIT_EMAIL_SENT: '1000',
      GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '10000',
      GOTRUE_RATE_LIMIT_OTP: '10000',
      GOTRUE_RATE_LIMIT_VERIFY: '10000',
      ENABLE_ANONYMOUS_USERS: 'true',
      SITE_URL: 'http://localhost:3000',
    },
  });
});

after(async () => {
  await server?.stop();
  await sink?.close();
});

describe('auth', () => {
  test('signUp mails a code; verifyOtp confirms and signs in', async () => {
    const supabase = client(server, server.anonKey);
    const { data, error } = await supabase.auth.signUp({
      email: 'js-signup@example.com',
      password: 'secret-pw',
      options: { data: { name: 'JS' } },
    });
    assert.equal(error, null);
    assert.equal(data.session, null, 'confirmation required');
    assert.equal(data.user.email, 'js-signup@example.com');
    assert.equal(data.user.user_metadata.name, 'JS');

    const mail = await sink.waitFor('js-signup@example.com');
    const token = otpOf(mail);
    assert.match(token, /^\d{6}$/);
    const verified = await supabase.auth.verifyOtp({
      email: 'js-signup@example.com',
      token,
      type: 'signup',
    });
    assert.equal(verified.error, null);
    assert.ok(verified.data.session.access_token);
    assert.ok(verified.data.user.email_confirmed_at);
  });

  test('signInWithPassword, onAuthStateChange, getUser, refreshSession, updateUser, signOut', async () => {
    const admin = client(server, server.serviceRoleKey);
    const created = await admin.auth.admin.createUser({
      email: 'js-user@example.com',
      password: 'secret-pw',
      email_confirm: true,
    });
    assert.equal(created.error, null);

    const supabase = client(server, server.anonKey);
    const events = [];
    const { data: sub } = supabase.auth.onAuthStateChange((event) => events.push(event));

    const signIn = await supabase.auth.signInWithPassword({
      email: 'js-user@example.com',
      password: 'secret-pw',
    });
    assert.equal(signIn.error, null);
    const first = signIn.data.session;
    assert.equal(first.user.email, 'js-user@example.com');
    assert.equal(first.token_type, 'bearer');

    const me = await supabase.auth.getUser();
    assert.equal(me.error, null);
    assert.equal(me.data.user.id, first.user.id);

    const refreshed = await supabase.auth.refreshSession();
    assert.equal(refreshed.error, null);
    assert.notEqual(refreshed.data.session.refresh_token, first.refresh_token);
    assert.notEqual(refreshed.data.session.access_token, undefined);

    const updated = await supabase.auth.updateUser({ data: { plan: 'gold' } });
    assert.equal(updated.error, null);
    assert.equal(updated.data.user.user_metadata.plan, 'gold');

    const out = await supabase.auth.signOut();
    assert.equal(out.error, null);
    const after = await supabase.auth.getUser();
    assert.ok(after.error, 'no session after sign-out');

    await new Promise((r) => setTimeout(r, 50));
    sub.subscription.unsubscribe();
    for (const e of ['SIGNED_IN', 'TOKEN_REFRESHED', 'USER_UPDATED', 'SIGNED_OUT']) {
      assert.ok(events.includes(e), `${e} in ${events}`);
    }
    // The old refresh token belonged to the ended session.
    const stale = await supabase.auth.refreshSession({ refresh_token: first.refresh_token });
    assert.ok(stale.error);
  });

  test('errors come as AuthApiError / AuthWeakPasswordError with GoTrue codes', async () => {
    const supabase = client(server, server.anonKey);
    const wrong = await supabase.auth.signInWithPassword({
      email: 'nobody@example.com',
      password: 'whatever',
    });
    assert.ok(wrong.error instanceof AuthApiError);
    assert.equal(wrong.error.status, 400);
    assert.equal(wrong.error.code, 'invalid_credentials');
    assert.equal(wrong.error.message, 'Invalid login credentials');

    const weak = await supabase.auth.signUp({ email: 'weak@example.com', password: '123' });
    assert.ok(weak.error instanceof AuthWeakPasswordError);
    assert.equal(weak.error.code, 'weak_password');
    assert.deepEqual(weak.error.reasons, ['length']);
  });

  test('email OTP round trip through the SMTP sink', async () => {
    const admin = client(server, server.serviceRoleKey);
    await admin.auth.admin.createUser({ email: 'js-otp@example.com', email_confirm: true });
    const supabase = client(server, server.anonKey);
    const sent = await supabase.auth.signInWithOtp({
      email: 'js-otp@example.com',
      options: { shouldCreateUser: false },
    });
    assert.equal(sent.error, null);
    const mail = await sink.waitFor('js-otp@example.com');
    assert.match(mail.data, /Subject: Your sign-in link/);
    const { data, error } = await supabase.auth.verifyOtp({
      email: 'js-otp@example.com',
      token: otpOf(mail),
      type: 'email',
    });
    assert.equal(error, null);
    assert.equal(data.user.email, 'js-otp@example.com');
    assert.ok(data.session.refresh_token);

    const refused = await supabase.auth.signInWithOtp({
      email: 'js-ghost@example.com',
      options: { shouldCreateUser: false },
    });
    assert.equal(refused.error?.code, 'otp_disabled');
  });

  test('anonymous sign-in', async () => {
    const supabase = client(server, server.anonKey);
    const { data, error } = await supabase.auth.signInAnonymously({ options: { data: { a: 1 } } });
    assert.equal(error, null);
    assert.equal(data.user.is_anonymous, true);
    assert.equal(data.user.user_metadata.a, 1);
  });

  test('admin createUser, listUsers, getUserById, updateUserById, deleteUser', async () => {
    const admin = client(server, server.serviceRoleKey);
    const created = await admin.auth.admin.createUser({
      email: 'js-admin@example.com',
      password: 'secret-pw',
      email_confirm: true,
      user_metadata: { team: 'x' },
    });
    assert.equal(created.error, null);
    const id = created.data.user.id;

    const list = await admin.auth.admin.listUsers({ page: 1, perPage: 2 });
    assert.equal(list.error, null);
    assert.equal(list.data.users.length, 2);
    assert.ok(list.data.total >= 3, `total ${list.data.total}`);
    assert.equal(list.data.nextPage, 2);

    const got = await admin.auth.admin.getUserById(id);
    assert.equal(got.data.user.email, 'js-admin@example.com');

    const upd = await admin.auth.admin.updateUserById(id, { app_metadata: { role: 'boss' } });
    assert.equal(upd.error, null);
    assert.equal(upd.data.user.app_metadata.role, 'boss');

    const del = await admin.auth.admin.deleteUser(id);
    assert.equal(del.error, null);
    const gone = await admin.auth.admin.getUserById(id);
    assert.equal(gone.error?.status, 404);

    const anon = client(server, server.anonKey);
    const denied = await anon.auth.admin.listUsers();
    assert.equal(denied.error?.code, 'not_admin');
  });
});
