#!/usr/bin/env bash
# Auth benchmark for an already-built release binary, against `bucketbase start`:
#   (a) token refresh with rotation (grant_type=refresh_token), requests/s at 16 and 64
#       connections: every connection refreshes its own session's chain (bench/auth-refresh.lua)
#       and the CPU time per refresh of the server and of its Postgres (from /proc), which stays
#       meaningful when other work shares the machine
#   (b) password sign-in (grant_type=password) requests/s at 16 connections; new hashes are
#       Argon2id m=19456 KiB, t=2, p=1, hashed on BUCKETBASE_AUTH_HASH_THREADS (default: CPUs)
#       threads at nice 10
#   (c) GET /auth/v1/health latency (p50/p99, one connection) while (b) saturates the CPU
#
#   cargo build --release -p bucketbase-server && bench/auth.sh
#
# The database first gets SEED_USERS (default 10000) users made in SQL, each with an email
# identity and a signed-in session, so that the auth tables have the size of a live service's:
# a query that reads a whole table costs nothing with 80 rows and shows here (sign-in's email
# lookup did, until it named the instance as GoTrue's does). SEED_USERS=0 skips that.
#
# Needs wrk (apt-get install -y wrk), curl and psql. Environment: BUCKETBASE_BIN (default
# target/release/bucketbase), DURATION (seconds per run, default 10), BENCH_PORT (default 57421;
# the database uses BENCH_PORT + 1). Rate limits are raised for the run: they would otherwise
# answer 429 after 30 requests per IP, which is what they are for.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin="${BUCKETBASE_BIN:-${CARGO_TARGET_DIR:-target}/release/bucketbase}"
duration="${DURATION:-10}"
port="${BENCH_PORT:-57421}"
url="http://127.0.0.1:$port"

[ -x "$bin" ] || {
    echo "bench/auth.sh: $bin not found; build it with: cargo build --release -p bucketbase-server" >&2
    exit 1
}
for tool in wrk curl psql; do
    command -v "$tool" >/dev/null || {
        echo "bench/auth.sh: needs $tool" >&2
        exit 1
    }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/bucketbase-auth-bench.XXXXXX")"
chmod 755 "$work"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

unset DATABASE_URL PGRST_DB_URI POSTGRES_HOST POSTGRES_PORT POSTGRES_DB POSTGRES_USER \
    POSTGRES_PASSWORD JWT_SECRET ANON_KEY SERVICE_ROLE_KEY BUCKETBASE_HOST BUCKETBASE_PORT \
    BUCKETBASE_DATA_DIR
export RUST_LOG="${RUST_LOG:-warn}"

ENABLE_EMAIL_AUTOCONFIRM=true \
    GOTRUE_RATE_LIMIT_TOKEN_REFRESH=1000000000 \
    GOTRUE_RATE_LIMIT_OTP=1000000000 \
    "$bin" start --data-dir "$work/data" --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
    grep -q '^service_role key:' "$work/server.log" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || {
        cat "$work/server.log" >&2
        exit 1
    }
    sleep 0.1
done
anon="$(sed -n 's/^anon key:[[:space:]]*//p' "$work/server.log" | head -1)"
service="$(sed -n 's/^service_role key:[[:space:]]*//p' "$work/server.log" | head -1)"
[ -n "$anon" ] && [ -n "$service" ] || {
    echo "bench/auth.sh: server did not print its keys" >&2
    cat "$work/server.log" >&2
    exit 1
}

db_url="$(sed -n 's/^DB URL:[[:space:]]*//p' "$work/server.log" | head -1)"
seed_users="${SEED_USERS:-10000}"
if [ "$seed_users" -gt 0 ]; then
    echo "== setup: $seed_users users made in SQL, each with an email identity and a session"
    psql -q -v ON_ERROR_STOP=1 "$db_url" -v n="$seed_users" <<'SQL'
with u as (
  insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
    raw_app_meta_data, raw_user_meta_data, created_at, updated_at, last_sign_in_at)
  select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
    'seed' || g || '@example.com', '', now(), '{"provider":"email","providers":["email"]}', '{}',
    now(), now(), now()
  from generate_series(1, :n) g
  returning id, email
), i as (
  insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
  select u.id::text, u.id, jsonb_build_object('sub', u.id::text, 'email', u.email,
    'email_verified', false, 'phone_verified', false), 'email', now(), now(), now()
  from u
), s as (
  insert into auth.sessions (id, user_id, created_at, updated_at, aal)
  select gen_random_uuid(), u.id, now(), now(), 'aal1' from u
  returning id, user_id
), a as (
  insert into auth.mfa_amr_claims (session_id, created_at, updated_at, authentication_method, id)
  select s.id, now(), now(), 'password', gen_random_uuid() from s
)
insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, session_id)
select '00000000-0000-0000-0000-000000000000', substr(md5(random()::text), 1, 12), s.user_id::text,
  false, now(), now(), s.id
from s;
SQL
fi

api() { # method path key [json]
    curl -sS -X "$1" "$url/auth/v1$2" -H "apikey: $anon" -H "Authorization: Bearer $3" \
        -H 'Content-Type: application/json' ${4:+-d "$4"}
}

echo "== setup: 80 confirmed users, one session each"
: >"$work/tokens"
for i in $(seq 1 80); do
    api POST /admin/users "$service" \
        "{\"email\":\"bench$i@example.com\",\"password\":\"bench-password\",\"email_confirm\":true}" >/dev/null
    api POST '/token?grant_type=password' "$anon" \
        "{\"email\":\"bench$i@example.com\",\"password\":\"bench-password\"}" >"$work/last.json"
    grep -o '"refresh_token":"[a-z0-9]*"' "$work/last.json" | cut -d'"' -f4 >>"$work/tokens" || true
done
[ "$(wc -l <"$work/tokens")" -eq 80 ] || {
    echo "bench/auth.sh: could not create the sessions; last answer:" >&2
    cat "$work/last.json" >&2
    exit 1
}

psql -q "$db_url" -c 'analyze auth.users, auth.identities, auth.sessions, auth.mfa_amr_claims, auth.refresh_tokens'

# CPU ticks used so far by the server and by its Postgres (postmaster, live backends, and the
# backends it has reaped).
postmaster="$(pgrep -f -- "-D $work/data" | head -1 || true)"
ticks() { # pid [include reaped children]
    awk -v c="${2:-0}" '{print $14 + $15 + (c ? $16 + $17 : 0)}' "/proc/$1/stat" 2>/dev/null || echo 0
}
pg_ticks() {
    local t=0 p
    [ -n "$postmaster" ] || { echo 0; return; }
    t=$(ticks "$postmaster" 1)
    for p in $(pgrep -P "$postmaster"); do t=$((t + $(ticks "$p"))); done
    echo "$t"
}
refresh_run() { # connections token-offset
    local s0 p0 out n
    s0=$(ticks "$server_pid"); p0=$(pg_ticks)
    out="$(TOKEN_OFFSET=$2 wrk -t"$1" -c"$1" -d"${duration}s" -s bench/auth-refresh.lua "$url" | grep '^refresh:')"
    n=$(awk '{print $2}' <<<"$out")
    echo "$out"
    awk -v s=$(($(ticks "$server_pid") - s0)) -v p=$(($(pg_ticks) - p0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "   CPU per refresh: server %.3f ms, postgres %.3f ms\n", s * 1000 / hz / n, p * 1000 / hz / n}'
}

export TOKENS_FILE="$work/tokens" ANON_KEY="$anon"
echo "== (a) token refresh with rotation, ${duration} s per run (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo -n "16 connections: "
refresh_run 16 0
echo -n "64 connections: "
refresh_run 64 16

# The refresh runs leave autovacuum work behind (about a million new rows); do it now, so that
# (b) and (c) measure sign-in and the runtime, not a vacuum that happens to overlap them.
psql -q "$db_url" -c 'vacuum analyze' -c 'checkpoint'

echo "== (b) password sign-in (Argon2id m=19456 KiB t=2 p=1; bcrypt-imported users verify bcrypt once), 16 connections"
echo "== (c) GET /auth/v1/health on one connection during (b)"
export BENCH_EMAIL=bench1@example.com BENCH_PASSWORD=bench-password
wrk -t1 -c1 -d"${duration}s" --latency "$url/auth/v1/health" >"$work/health.txt" &
health_pid=$!
wrk -t4 -c16 -d"${duration}s" -s bench/auth-signin.lua "$url" | grep '^sign-in:'
wait "$health_pid"
awk '/Latency Distribution/{f=1} f && /50%|90%|99%/{printf "health under load: %s %s\n", $1, $2}' "$work/health.txt"
grep 'Requests/sec' "$work/health.txt" | sed 's/^/health under load: /'
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
