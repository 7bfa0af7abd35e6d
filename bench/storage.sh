#!/usr/bin/env bash
# Storage benchmark: /storage/v1 through `bucketbase start` (embedded PostgreSQL, file backend
# under the data dir), with baselines run in the same session on the same machine. Not a
# test: it prints figures and asserts nothing.
#
#   cargo build --release -p bucketbase-server && bench/storage.sh
#
# Parts (PARTS, default "list small large"):
#   list   POST /object/list and /object/list-v2 with a user's prefix on a bucket of LIST_ROWS
#          (default 1,000,000) objects under a per-user RLS policy: requests/s, p50/p95/p99
#          (wrk, 16 connections), and the same statement through pgbench for the floor.
#   small  10 KB objects at 16 connections: uploads/s and downloads/s as a user under a
#          per-folder RLS policy, and the same as the service role.
#   large  1 MB, 100 MB and LARGE_GB (default 5) GB objects: upload and download throughput
#          against dd of the same bytes on the same disk, and the server's peak RSS sampled
#          every 100 ms during each transfer.
#
# Environment: BUCKETBASE_BIN (default target/release/bucketbase), DURATION seconds per wrk run
# (default 10), BENCH_PORT (default 58421), PARTS, LIST_ROWS, LARGE_GB.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin="${BUCKETBASE_BIN:-${CARGO_TARGET_DIR:-target}/release/bucketbase}"
duration="${DURATION:-10}"
port="${BENCH_PORT:-58421}"
parts="${PARTS:-list small large}"
list_rows="${LIST_ROWS:-1000000}"
large_gb="${LARGE_GB:-5}"

[ -x "$bin" ] || {
    echo "bench/storage.sh: $bin not found; build it with: cargo build --release -p bucketbase-server" >&2
    exit 1
}
if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
for tool in wrk pgbench psql python3 curl dd; do
    command -v "$tool" >/dev/null || { echo "bench/storage.sh: needs $tool" >&2; exit 1; }
done

work="$(mktemp -d "${BENCH_DIR:-/var/tmp}/bucketbase-storage-bench.XXXXXX")"
chmod 755 "$work"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

env -u DATABASE_URL FILE_SIZE_LIMIT=$(( (large_gb + 1) * 1024 * 1024 * 1024 )) \
    "$bin" start --data-dir "$work/data" --port "$port" >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 240); do
    grep -q "^service_role key:" "$work/out" 2>/dev/null && break
    sleep 0.25
done
db_url="$(awk '/^DB URL:/ {print $3}' "$work/out")"
secret="$(awk '/^JWT secret:/ {print $3}' "$work/out")"
anon="$(awk '/^anon key:/ {print $3}' "$work/out")"
service="$(awk '/^service_role key:/ {print $3}' "$work/out")"
[ -n "$db_url" ] || { echo "server did not start:"; cat "$work/err"; exit 1; }
api="http://127.0.0.1:$port"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024)}' /proc/meminfo) GiB; data dir on $(df -h "$work" | awk 'NR==2 {print $1}')"

# A user token (HS256, the server's secret) for sub $1.
token_for() {
    python3 - "$secret" "$1" <<'PY'
import base64, hashlib, hmac, json, sys
secret, sub = sys.argv[1], sys.argv[2]
enc = lambda o: base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).rstrip(b"=")
head = enc({"alg": "HS256", "typ": "JWT"})
body = enc({"sub": sub, "role": "authenticated", "aud": "authenticated", "exp": 4000000000})
sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), head + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
print((head + b"." + body + b"." + sig).decode())
PY
}

# The server's RSS in MiB.
rss_mib() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$server_pid/status"; }

# wrk with a script; prints "req/s p50 p95 p99 errors" from its done() hook.
run_wrk() {
    local script="$1" conns="$2"
    wrk -t2 -c"$conns" -d"${duration}s" -s "$script" "$api" 2>&1 | awk '/^RESULT/ {print; found=1} END {if (!found) print "RESULT wrk failed"}'
}
cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %8.0f req/s  p50 %6.2f ms  p95 %6.2f ms  p99 %6.2f ms  errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, errors))
end
LUA

user="11111111-1111-1111-1111-111111111111"
user_token="$(token_for "$user")"

psql "$db_url" -q -v ON_ERROR_STOP=1 <<SQL
insert into storage.buckets (id, name) values ('bench', 'bench'), ('big', 'big');
create policy bench_own_insert on storage.objects for insert to authenticated
  with check (bucket_id in ('bench', 'big') and (storage.foldername(name))[1] = auth.uid()::text);
create policy bench_own_select on storage.objects for select to authenticated
  using (bucket_id in ('bench', 'big') and (storage.foldername(name))[1] = auth.uid()::text);
SQL

part_list() {
    echo
    echo "== list: bucket 'big' with $list_rows objects in 1000 user folders, per-user policy"
    # Rows only: listing reads metadata, never bytes. User i owns folder <uuid i>/ with
    # sub-folders, as an app's folders look.
    psql "$db_url" -q -v ON_ERROR_STOP=1 <<SQL
insert into storage.objects (bucket_id, name, owner_id, version, metadata)
select 'big',
       format('%s/%s/file-%s.jpg', (lpad(to_hex(i % 1000), 8, '0') || '-1111-1111-1111-111111111111'), 'album-' || (i / 1000) % 20, i),
       lpad(to_hex(i % 1000), 8, '0') || '-1111-1111-1111-111111111111',
       'v1',
       jsonb_build_object('size', 10240, 'mimetype', 'image/jpeg', 'eTag', '"x"')
from generate_series(1, $list_rows) i;
analyze storage.objects;
SQL
    local u="00000111-1111-1111-1111-111111111111" t
    t="$(token_for "$u")"
    for kind in list list-v2; do
        local body
        if [ "$kind" = list ]; then
            body="{\"prefix\":\"$u/album-3/\",\"limit\":100,\"offset\":0,\"sortBy\":{\"column\":\"name\",\"order\":\"asc\"}}"
        else
            body="{\"prefix\":\"$u/\",\"limit\":100,\"with_delimiter\":true}"
        fi
        local count
        count="$(curl -s -X POST -H "apikey: $anon" -H "Authorization: Bearer $t" -H 'content-type: application/json' \
            -d "$body" "$api/storage/v1/object/$kind/big" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d) if isinstance(d, list) else (len(d["folders"]), len(d["objects"])))')"
        cat "$work/report.lua" - >"$work/$kind.lua" <<LUA
wrk.method = "POST"
wrk.headers["apikey"] = "$anon"
wrk.headers["Authorization"] = "Bearer $t"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
request = function() return wrk.format(nil, "/storage/v1/object/$kind/big") end
LUA
        printf '%-8s (entries %s) 16 conns: %s\n' "$kind" "$count" "$(run_wrk "$work/$kind.lua" 16)"
    done
    # The floor: storage.search itself through pgbench under the same role and claims.
    cat >"$work/search.sql" <<SQL
BEGIN;
SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"$u","role":"authenticated"}', true), set_config('request.jwt.claim.sub', '$u', true);
SELECT * FROM storage.search('$u/album-3/', 'big', 100, 1, 0, '', 'name', 'asc');
COMMIT;
SQL
    printf 'pgbench storage.search 16 conns: %s\n' "$(pgbench -n -M prepared -c 16 -j 2 -T "$duration" -f "$work/search.sql" "$db_url" 2>/dev/null | awk '/latency average/ {lat=$4} /^tps/ {tps=$3} END {printf "%8.0f tx/s  avg %s ms", tps, lat}')"
}

part_small() {
    echo
    echo "== small: 10 KB objects, 16 connections"
    head -c 10240 /dev/urandom >"$work/10k.bin"
    python3 - "$work/10k.bin" "$work/body.lua" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "w").write("body10k = '" + "".join("\\%d" % b for b in data) + "'\n")
PY
    for who in user service; do
        local t prefix
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
  return wrk.format(nil, "/storage/v1/object/bench/$prefix/up-" .. tid .. "-" .. counter .. ".bin", nil, body10k)
end
LUA
        printf 'upload   as %-7s: %s\n' "$who" "$(run_wrk "$work/up-$who.lua" 16)"
        # Downloads of 1000 objects uploaded beforehand.
        for i in $(seq 1 1000); do
            printf 'url = "%s/storage/v1/object/bench/%s/dl-%d.bin"\n' "$api" "$prefix" "$i"
            printf 'upload-file = "%s"\n' "$work/10k.bin"
            printf 'output = /dev/null\n'
        done >"$work/curl-$who.cfg"
        curl -s -K "$work/curl-$who.cfg" -H "apikey: $anon" -H "Authorization: Bearer $t" -H 'content-type: application/octet-stream' -X POST --parallel --parallel-max 8 --no-progress-meter
        cat "$work/report.lua" - >"$work/down-$who.lua" <<LUA
wrk.headers["apikey"] = "$anon"
wrk.headers["Authorization"] = "Bearer $t"
request = function()
  return wrk.format("GET", "/storage/v1/object/bench/$prefix/dl-" .. math.random(1, 1000) .. ".bin")
end
LUA
        printf 'download as %-7s: %s\n' "$who" "$(run_wrk "$work/down-$who.lua" 16)"
    done
}

# Wall seconds of "$@".
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}

# Runs "$@" while sampling the server's RSS; prints "<seconds> <peak RSS MiB>".
timed_with_rss() {
    local peak=0 start end r
    start=$(date +%s.%N)
    "$@" &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        r="$(rss_mib)"
        [ "$r" -gt "$peak" ] && peak="$r"
        sleep 0.1
    done
    wait "$pid"
    end=$(date +%s.%N)
    echo "$(python3 -c "print(f'{$end - $start:.2f}')") $peak"
}

part_large() {
    echo
    echo "== large: upload and download throughput (service role) vs dd on the same disk"
    local sizes="1 100 $((large_gb * 1024))"
    for mib in $sizes; do
        local src="$work/src-$mib.bin"
        head -c $((mib * 1024 * 1024)) /dev/urandom >"$src" 2>/dev/null || dd if=/dev/urandom of="$src" bs=1M count="$mib" status=none
        sync
        # Baseline: dd writing the same bytes into the same file system, then reading them back.
        local dd_w dd_r
        dd_w="$(seconds dd if="$src" of="$work/dd-$mib.bin" bs=1M status=none)"
        dd_r="$(seconds dd if="$work/dd-$mib.bin" of=/dev/null bs=1M status=none)"
        rm -f "$work/dd-$mib.bin"
        local up down
        up="$(timed_with_rss curl -s -o /dev/null -f -X POST -H "apikey: $anon" -H "Authorization: Bearer $service" \
            -H 'content-type: application/octet-stream' --data-binary @"$src" "$api/storage/v1/object/bench/large-$mib.bin")"
        down="$(timed_with_rss curl -s -f -o /dev/null -H "apikey: $anon" -H "Authorization: Bearer $service" \
            "$api/storage/v1/object/bench/large-$mib.bin")"
        python3 - "$mib" "$dd_w" "$dd_r" $up $down <<'PY'
import sys
mib, dd_w, dd_r, up_s, up_rss, down_s, down_rss = sys.argv[1:]
mib = int(mib); f = lambda s: mib / max(float(s), 1e-6)
print(f"{mib:6d} MiB  upload {f(up_s):7.0f} MiB/s (dd write {f(dd_w):7.0f}, {100*f(up_s)/f(dd_w):3.0f} %), peak RSS {up_rss} MiB"
      f"  |  download {f(down_s):7.0f} MiB/s (dd read {f(dd_r):7.0f}, {100*f(down_s)/f(dd_r):3.0f} %), peak RSS {down_rss} MiB")
PY
        rm -f "$src"
        curl -s -o /dev/null -X DELETE -H "apikey: $anon" -H "Authorization: Bearer $service" "$api/storage/v1/object/bench/large-$mib.bin"
    done
}

echo "server RSS at start: $(rss_mib) MiB"
for p in $parts; do
    "part_$p"
done
echo
echo "server RSS at end: $(rss_mib) MiB"
