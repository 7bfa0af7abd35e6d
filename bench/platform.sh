#!/usr/bin/env bash
# The cost of the platform's RLS policies (sql/platform), measured through /rest/v1 with wrk:
#   (a) a fan's "unlocked content of an artist" read (rpc/unlocked_content and the plain table
#       read /content_items?artist_id=eq.…), as the fan (policies active) and as the service
#       role (BYPASSRLS: the same query without policies);
#   (b) the engagement insert (POST /media_engagement_log, return=minimal), fan vs service role.
# Each at 16 connections for DURATION seconds. Target: policies cost under 30 % of throughput.
#
#   cargo build --release -p bucketbase-server && bench/platform.sh
#
# Environment: BUCKETBASE_BIN (default target/release/bucketbase), BENCH_PORT (default 58321),
# DURATION (default 10), CONNECTIONS (default 16).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin="${BUCKETBASE_BIN:-${CARGO_TARGET_DIR:-target}/release/bucketbase}"
port="${BENCH_PORT:-58321}"
duration="${DURATION:-10}"
conns="${CONNECTIONS:-16}"
[ -x "$bin" ] || { echo "bench/platform.sh: build $bin first: cargo build --release -p bucketbase-server" >&2; exit 1; }
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
command -v psql >/dev/null || { echo "bench/platform.sh: needs psql" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/bucketbase-platform-bench.XXXXXX")"
chmod 755 "$work"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
unset DATABASE_URL PGRST_DB_URI POSTGRES_HOST JWT_SECRET ANON_KEY SERVICE_ROLE_KEY BUCKETBASE_PORT

"$bin" start --data-dir "$work/data" --port "$port" >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 600); do
    grep -q '^service_role key:' "$work/out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 0.1
done
url="$(sed -n 's/^API URL: //p' "$work/out")"
db="$(sed -n 's/^DB URL: //p' "$work/out")"
secret="$(sed -n 's/^JWT secret: //p' "$work/out")"
anon="$(sed -n 's/^anon key: //p' "$work/out")"
service="$(sed -n 's/^service_role key: //p' "$work/out")"

artist_user=11111111-1111-1111-1111-111111111111
fan_user=22222222-2222-2222-2222-222222222222
artist=33333333-3333-3333-3333-333333333333
psql "$db" -q -v ON_ERROR_STOP=1 <<SQL
insert into auth.users (instance_id, id, aud, role, email)
  values ('00000000-0000-0000-0000-000000000000', '$artist_user', 'authenticated', 'authenticated', 'artist@example.com'),
         ('00000000-0000-0000-0000-000000000000', '$fan_user', 'authenticated', 'authenticated', 'fan@example.com');
insert into auth.users (instance_id, id, aud, role, email)
  select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', 'u' || i || '@example.com'
  from generate_series(1, 2000) i;
insert into public.artists (id, user_id, name) values ('$artist', '$artist_user', 'Bench Artist');
insert into public.artists (user_id, name)
  select p.id, 'artist ' || row_number() over () from public.profiles p
  where p.id not in ('$artist_user', '$fan_user') limit 100;
insert into public.content_items (artist_id, media_type, title, audience, min_tier, unlock_at)
  select a.id, (array['audio','video','image'])[1 + i % 3]::media_type, 'item ' || i,
         (array['public','subscribers'])[1 + i % 2]::content_audience,
         case when i % 4 = 1 then 2 end,
         case when i % 5 = 0 then now() + interval '30 days' else now() - interval '1 day' end
  from public.artists a, generate_series(1, 100) i;
insert into public.fans (user_id) select id from public.profiles where id <> '$artist_user';
insert into public.subscriptions (fan_id, artist_id, tier, price_cents, status)
  select f.id, '$artist', 2, 1000, 'active' from public.fans f where f.user_id = '$fan_user';
insert into public.subscriptions (fan_id, artist_id, tier, price_cents, status)
  select f.id, a.id, 1, 500, 'active' from public.fans f, public.artists a
  where f.user_id <> '$fan_user' and random() < 0.01;
analyze;
SQL
content="$(psql "$db" -Atc "select id from public.content_items where artist_id = '$artist' and audience = 'public' and unlock_at < now() limit 1")"

fan_token="$(python3 - "$secret" "$fan_user" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, sub = sys.argv[1], sys.argv[2]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({"sub": sub, "role": "authenticated", "aud": "authenticated",
                         "exp": int(time.time()) + 3600, "app_metadata": {}}).encode())
sig = b64(hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest())
print(f"{header}.{claims}.{sig}")
PY
)"

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Prefer"] = "return=minimal"
wrk.body = os.getenv("BODY")
LUA

run() { # label token path [post-body]
    local label="$1" token="$2" path="$3" body="${4:-}" out
    if [ -n "$body" ]; then
        out="$(BODY="$body" wrk -t2 -c"$conns" -d"${duration}s" --latency -s "$work/post.lua" \
            -H "apikey: $anon" -H "Authorization: Bearer $token" "$url$path")"
    else
        out="$(wrk -t2 -c"$conns" -d"${duration}s" --latency \
            -H "apikey: $anon" -H "Authorization: Bearer $token" "$url$path")"
    fi
    local rps p99 non2xx
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
    printf '%-44s %10s req/s   p99 %8s   non-2xx %s\n' "$label" "$rps" "$p99" "${non2xx:-0}"
    echo "$rps"  >"$work/last"
}

# Check each request works before timing it.
curl -sf -o /dev/null -H "apikey: $anon" -H "Authorization: Bearer $fan_token" "$url/rest/v1/rpc/unlocked_content?artist_id=$artist"
echo "platform RLS cost at $conns connections, ${duration}s each ($(nproc) cores, server and wrk on one machine)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "  policies keep %.0f %% of the service-role throughput (cost %.0f %%)\n", 100*a/b, 100-100*a/b }'; }

run "rpc/unlocked_content  fan (RLS)" "$fan_token" "/rest/v1/rpc/unlocked_content?artist_id=$artist"; a="$(cat "$work/last")"
run "rpc/unlocked_content  service_role" "$service" "/rest/v1/rpc/unlocked_content?artist_id=$artist"; b="$(cat "$work/last")"
ratio "$a" "$b"
run "content_items?artist_id=eq  fan (RLS)" "$fan_token" "/rest/v1/content_items?artist_id=eq.$artist&select=id,title,unlock_at"; a="$(cat "$work/last")"
run "content_items?artist_id=eq  service_role" "$service" "/rest/v1/content_items?artist_id=eq.$artist&select=id,title,unlock_at"; b="$(cat "$work/last")"
ratio "$a" "$b"
run "POST media_engagement_log  fan (RLS)" "$fan_token" "/rest/v1/media_engagement_log" "{\"content_id\":\"$content\",\"event_type\":\"play\"}"; a="$(cat "$work/last")"
run "POST media_engagement_log  service_role" "$service" "/rest/v1/media_engagement_log" "{\"content_id\":\"$content\",\"event_type\":\"play\",\"user_id\":\"$fan_user\"}"; b="$(cat "$work/last")"
ratio "$a" "$b"
rss="$(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$server_pid/status" 2>/dev/null || echo '?')"
echo "server RSS after the runs: $rss"
