#!/usr/bin/env bash
# Startup benchmark for an already-built release binary:
#   (a) `bucketbase start` on an existing data dir: spawn -> GET /health = 200
#   (b) `bucketbase serve` alone against a running database: spawn -> GET /health = 200
#   (c) idle RSS of the bucketbase process (VmRSS) after 2 s idle, for start and for serve
#
#   cargo build --release -p bucketbase-server && bench/startup.sh
#
# Environment: BUCKETBASE_BIN (default target/release/bucketbase), N runs per figure (default 5),
# BENCH_PORT (default 57321; uses BENCH_PORT, +1 for the database, +10 for serve).
# Prints a table and keeps a copy in bench/results/ (not committed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin="${BUCKETBASE_BIN:-${CARGO_TARGET_DIR:-target}/release/bucketbase}"
runs="${N:-5}"
port="${BENCH_PORT:-57321}"
serve_port=$((port + 10))

[ -x "$bin" ] || {
    echo "bench/startup.sh: $bin not found; build it with: cargo build --release -p bucketbase-server" >&2
    exit 1
}
command -v curl >/dev/null || {
    echo "bench/startup.sh: needs curl" >&2
    exit 1
}
for p in "$port" $((port + 1)) "$serve_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        echo "bench/startup.sh: port $p is in use; pick another BENCH_PORT" >&2
        exit 1
    fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/bucketbase-bench.XXXXXX")"
# As root the server hands the cluster to the `postgres` OS user, who must reach <work>/data/db.
chmod 755 "$work"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# Environment that would point `start` at another database or port.
unset DATABASE_URL PGRST_DB_URI POSTGRES_HOST POSTGRES_PORT POSTGRES_DB POSTGRES_USER \
    POSTGRES_PASSWORD JWT_SECRET ANON_KEY SERVICE_ROLE_KEY BUCKETBASE_HOST BUCKETBASE_PORT \
    BUCKETBASE_DATA_DIR
export RUST_LOG="${RUST_LOG:-warn}"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Waits until GET /health on $1 answers 200 (polling every 10 ms) while pid $2 lives.
wait_healthy() {
    local url="http://127.0.0.1:$1/health" pid="$2" deadline=$(($(now_ms) + 120000))
    until curl -fs -o /dev/null --max-time 1 "$url"; do
        kill -0 "$pid" 2>/dev/null || {
            echo "bench/startup.sh: process $pid exited before $url was healthy; log:" >&2
            cat "$work/log" >&2 || true
            return 1
        }
        [ "$(now_ms)" -lt "$deadline" ] || {
            echo "bench/startup.sh: $url not healthy after 120 s" >&2
            return 1
        }
        sleep 0.01
    done
}

# Sends SIGTERM to $1 and waits for it.
stop() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=()
    local pid
    for pid in "${pids[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    pids=("${keep[@]}")
}

rss_mb() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# "min median max" of the numbers given.
stats() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
        END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
              printf "%d %d %d", v[1], m, v[NR] }'
}

data="$work/data"
mkdir -p "$data"


# (a) Initialise the data dir once (initdb, migrations), then time restarts on it.
echo "initialising $data ..." >&2
"$bin" start --data-dir "$data" --port "$port" >"$work/log" 2>&1 &
pids+=($!)
wait_healthy "$port" "$!"
stop "$!"

start_ms=()
start_rss=""
for i in $(seq "$runs"); do
    t0=$(now_ms)
    "$bin" start --data-dir "$data" --port "$port" >"$work/log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_healthy "$port" "$pid"
    start_ms+=($(($(now_ms) - t0)))
    if [ "$i" -eq "$runs" ]; then
        sleep 2
        start_rss="$(rss_mb "$pid")"
    fi
    stop "$pid"
done

# (b) Keep one `start` running for its database; time `serve` against it on another port.
"$bin" start --data-dir "$data" --port "$port" >"$work/start.out" 2>"$work/log" &
db_pid=$!
pids+=("$db_pid")
wait_healthy "$port" "$db_pid"
db_url="$(sed -n 's/^DB URL: //p' "$work/start.out")"
jwt_secret="$(sed -n 's/^JWT secret: //p' "$work/start.out")"
if [ -z "$db_url" ] || [ -z "$jwt_secret" ]; then
    echo "bench/startup.sh: start did not print its DB URL and JWT secret" >&2
    exit 1
fi

serve_ms=()
serve_rss=""
mkdir -p "$work/serve-data"
for i in $(seq "$runs"); do
    t0=$(now_ms)
    DATABASE_URL="$db_url" JWT_SECRET="$jwt_secret" BUCKETBASE_PORT="$serve_port" \
        BUCKETBASE_DATA_DIR="$work/serve-data" "$bin" serve >"$work/log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_healthy "$serve_port" "$pid"
    serve_ms+=($(($(now_ms) - t0)))
    if [ "$i" -eq "$runs" ]; then
        sleep 2
        serve_rss="$(rss_mb "$pid")"
    fi
    stop "$pid"
done
stop "$db_pid"

read -r a_min a_med a_max <<<"$(stats "${start_ms[@]}")"
read -r b_min b_med b_max <<<"$(stats "${serve_ms[@]}")"
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 < t + 0) ? "ok" : "OVER" }'; }

mkdir -p bench/results
out="bench/results/startup-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    printf '%s, %s, %s runs each, %s cores, %s\n\n' "$bin" "$("$bin" --version 2>/dev/null)" \
        "$runs" "$(nproc)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '%-40s %8s %8s %8s   %-10s %s\n' "figure" "min" "median" "max" "target" ""
    printf '%-40s %6sms %6sms %6sms   %-10s %s\n' "start -> healthy (existing data dir)" \
        "$a_min" "$a_med" "$a_max" "< 2000 ms" "$(verdict "$a_med" 2000)"
    printf '%-40s %6sms %6sms %6sms   %-10s %s\n' "serve alone -> healthy" \
        "$b_min" "$b_med" "$b_max" "< 200 ms" "$(verdict "$b_med" 200)"
    printf '%-40s %17s %6sMB   %-10s %s\n' "idle RSS, bucketbase start (no postgres)" "" \
        "$start_rss" "< 30 MB" "$(verdict "$start_rss" 30)"
    printf '%-40s %17s %6sMB   %-10s %s\n' "idle RSS, bucketbase serve" "" \
        "$serve_rss" "< 30 MB" "$(verdict "$serve_rss" 30)"
    printf '\nruns (ms): start %s; serve %s\n' "${start_ms[*]}" "${serve_ms[*]}"
} | tee "$out"
echo "(saved to $out)" >&2
