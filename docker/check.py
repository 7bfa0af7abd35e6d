#!/usr/bin/env python3
"""Static checks of Bucketbase's docker files, run by scripts/test (no Docker engine needed).

- docker/compose.yml parses, has the expected services, and every ${VAR} it uses is listed in
  docker/.env.example and in docker/server-env.txt (the variables the server reads);
- every variable compose passes to the bucketbase container is one the server reads;
- docker/.env.example: no duplicates, no dead names, JWT_SECRET >= 32 characters, and ANON_KEY /
  SERVICE_ROLE_KEY are HS256 JWTs signed with JWT_SECRET for the roles anon / service_role;
- each name in docker/server-env.txt appears in the crates' Rust sources (a warning while the
  server reads none of them yet, or for names marked `# planned`; `# implicit` names are skipped);
- docker/Dockerfile builds with the same `cargo build` command as scripts/start, and has the
  expected runtime shape (non-root user, ENTRYPOINT bucketbase, CMD serve, EXPOSE 54321).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"

# Crates whose sources may read configuration (tests/ excluded: it sets variables, not reads them).
SOURCE_DIRS = ["server", "sql", "auth", "rest", "grammar", "realtime", "storage", "functions"]

errors: list[str] = []
warnings: list[str] = []


def error(msg: str) -> None:
    errors.append(msg)
    print(f"error: {msg}")


def warn(msg: str) -> None:
    warnings.append(msg)
    print(f"warning: {msg}")


def ok(msg: str) -> None:
    print(f"ok: {msg}")


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def read_server_env() -> dict[str, str]:
    """Names from server-env.txt, mapped to their mark: "", "planned" or "implicit"."""
    names: dict[str, str] = {}
    for lineno, raw in enumerate((DOCKER / "server-env.txt").read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, comment = line.partition("#")
        name = name.strip()
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            error(f"server-env.txt:{lineno}: not a variable name: {raw!r}")
            continue
        if name in names:
            error(f"server-env.txt:{lineno}: {name} listed twice")
        mark = comment.strip()
        if mark not in ("", "planned", "implicit"):
            error(f"server-env.txt:{lineno}: unknown mark {mark!r} (planned or implicit)")
        names[name] = mark
    return names


def read_env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for lineno, raw in enumerate((DOCKER / ".env.example").read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line)
        if not m:
            error(f".env.example:{lineno}: not NAME=value: {raw!r}")
            continue
        name, value = m.group(1), m.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name in values:
            error(f".env.example:{lineno}: {name} set twice")
        values[name] = value
    return values


VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def interpolated_vars(node, found: set[str]) -> set[str]:
    """Every variable compose would interpolate in the parsed file (`$$` is a literal `$`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            interpolated_vars(key, found)
            interpolated_vars(value, found)
    elif isinstance(node, list):
        for item in node:
            interpolated_vars(item, found)
    elif isinstance(node, str):
        for m in VAR_RE.finditer(node.replace("$$", "")):
            found.add(m.group(1) or m.group(2))
    return found


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def check_compose(server_env: dict[str, str], env_example: dict[str, str]) -> None:
    try:
        compose = yaml.safe_load((DOCKER / "compose.yml").read_text())
    except yaml.YAMLError as e:
        error(f"compose.yml does not parse as YAML: {e}")
        return
    ok("compose.yml parses as YAML")

    services = compose.get("services") or {}
    db, app = services.get("db"), services.get("bucketbase")
    if not isinstance(db, dict) or not isinstance(app, dict):
        error("compose.yml needs services `db` and `bucketbase`")
        return

    # db
    if not str(db.get("image", "")).startswith("postgres:15"):
        error(f"db.image should be postgres:15, is {db.get('image')!r}")
    command = db.get("command")
    command = " ".join(command) if isinstance(command, list) else str(command or "")
    if "wal_level=logical" not in command:
        error("db.command must set wal_level=logical (realtime reads logical replication)")
    if "pg_isready" not in json.dumps((db.get("healthcheck") or {}).get("test")):
        error("db.healthcheck should run pg_isready")
    declared_volumes = set((compose.get("volumes") or {}).keys())
    for services_name, service in (("db", db), ("bucketbase", app)):
        for volume in service.get("volumes") or []:
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/", "$")) and source not in declared_volumes:
                error(f"{services_name}: volume {source!r} is not declared under top-level volumes")

    # bucketbase
    build = app.get("build") or {}
    if build.get("context") != ".." or build.get("dockerfile") != "docker/Dockerfile":
        error("bucketbase.build must be {context: .., dockerfile: docker/Dockerfile}")
    depends = app.get("depends_on") or {}
    if not isinstance(depends, dict) or (depends.get("db") or {}).get("condition") != "service_healthy":
        error("bucketbase.depends_on.db.condition must be service_healthy")
    if "${BUCKETBASE_PORT:-54321}:54321" not in [str(p) for p in app.get("ports") or []]:
        error('bucketbase.ports must publish "${BUCKETBASE_PORT:-54321}:54321"')
    if not (app.get("healthcheck") or {}).get("test"):
        error("bucketbase.healthcheck is missing")

    environment = app.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(str(item).partition("=")[::2] for item in environment)
    for required in ("DATABASE_URL", "JWT_SECRET", "BUCKETBASE_HOST"):
        if required not in environment:
            error(f"bucketbase.environment lacks {required}")
    if str(environment.get("BUCKETBASE_HOST")) != "0.0.0.0":
        error("bucketbase.environment.BUCKETBASE_HOST must be 0.0.0.0 inside the container")
    passed_unknown = sorted(set(environment) - set(server_env))
    if passed_unknown:
        error(f"compose passes variables the server does not read: {', '.join(passed_unknown)}")
    else:
        ok(f"all {len(environment)} variables passed to bucketbase are in server-env.txt")

    used = interpolated_vars(compose, set())
    not_in_example = sorted(used - set(env_example))
    not_in_server = sorted(used - set(server_env))
    if not_in_example:
        error(f"compose.yml uses variables missing from .env.example: {', '.join(not_in_example)}")
    if not_in_server:
        error(f"compose.yml uses variables missing from server-env.txt: {', '.join(not_in_server)}")
    if not not_in_example and not not_in_server:
        ok(f"all {len(used)} ${{VAR}}s in compose.yml are in .env.example and server-env.txt")

    dead = sorted(set(env_example) - used - set(server_env))
    if dead:
        error(f".env.example sets variables nothing reads: {', '.join(dead)}")
    unused = sorted(set(env_example) - used)
    if unused:
        warn(f".env.example sets variables compose.yml does not pass on: {', '.join(unused)}")


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_env_example(env_example: dict[str, str]) -> None:
    secret = env_example.get("JWT_SECRET", "")
    if len(secret) < 32:
        error(f".env.example: JWT_SECRET must be at least 32 characters (has {len(secret)})")
    for name, role in (("ANON_KEY", "anon"), ("SERVICE_ROLE_KEY", "service_role")):
        token = env_example.get(name, "")
        parts = token.split(".")
        if len(parts) != 3:
            error(f".env.example: {name} is not a JWT")
            continue
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
        except ValueError as e:
            error(f".env.example: {name} does not decode: {e}")
            continue
        expected = hmac.new(
            secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
        ).digest()
        if header.get("alg") != "HS256" or not hmac.compare_digest(expected, b64url_decode(parts[2])):
            error(f".env.example: {name} is not an HS256 JWT signed with JWT_SECRET")
        elif claims.get("role") != role:
            error(f".env.example: {name} has role {claims.get('role')!r}, expected {role!r}")
        else:
            ok(f".env.example: {name} is signed with JWT_SECRET for role {role}")


def check_server_reads(server_env: dict[str, str]) -> None:
    sources = []
    for crate in SOURCE_DIRS:
        src = ROOT / crate / "src"
        if src.is_dir():
            sources += [p.read_text(errors="replace") for p in sorted(src.rglob("*.rs"))]
    text = "\n".join(sources)
    found = {name for name in server_env if re.search(rf"\b{name}\b", text)}
    if not found:
        warn(
            "no name from server-env.txt appears in the crates' sources yet "
            "(server configuration not written?); not checking them"
        )
        return
    checked = {name: mark for name, mark in server_env.items() if mark != "implicit"}
    pending = []
    for name, mark in checked.items():
        planned = mark == "planned"
        if name in found and planned:
            warn(f"server-env.txt: {name} is read by the code now; drop its `# planned` mark")
        elif name not in found and planned:
            pending.append(name)
        elif name not in found:
            error(
                f"server-env.txt: {name} does not appear in the sources of "
                f"{', '.join(SOURCE_DIRS)}: read it, mark it `# planned`, or remove it"
            )
    if pending:
        warn(f"server-env.txt: planned, not in the sources yet: {', '.join(pending)}")
    ok(f"{len(found & set(checked))} of {len(checked)} names in server-env.txt appear in the sources")


def cargo_builds(text: str, dockerfile: bool) -> list[str]:
    """The `cargo build ...` commands of a Dockerfile (RUN lines) or a shell script."""
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    commands = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if dockerfile:
            if not stripped.upper().startswith("RUN "):
                continue
            body = stripped
        else:
            if not stripped.startswith("cargo build"):
                continue
            body = stripped
        for m in re.finditer(r"cargo\s+build\b[^&;|\n]*", body):
            commands.append(" ".join(m.group(0).split()))
    return commands


def check_dockerfile() -> None:
    errors_before = len(errors)
    dockerfile = (DOCKER / "Dockerfile").read_text()
    start = (ROOT / "scripts" / "start").read_text()
    in_docker = cargo_builds(dockerfile, dockerfile=True)
    in_start = cargo_builds(start, dockerfile=False)
    if len(in_start) != 1:
        error(f"scripts/start should run exactly one `cargo build`, found {in_start}")
    elif in_docker != in_start:
        error(f"Dockerfile builds with {in_docker}, scripts/start with {in_start}")
    else:
        ok(f"Dockerfile and scripts/start build with `{in_start[0]}`")

    instructions = [
        " ".join(line.split())
        for line in re.sub(r"\\\n", " ", dockerfile).splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    stages = [i for i in instructions if i.upper().startswith("FROM ")]
    if not stages or not stages[0].startswith("FROM rust:1-bookworm"):
        error("the Dockerfile's build stage should be FROM rust:1-bookworm")
    if not stages or not stages[-1].startswith("FROM debian:bookworm-slim"):
        error("the Dockerfile's runtime stage should be FROM debian:bookworm-slim")
    final = instructions[instructions.index(stages[-1]):] if stages else []

    def last(keyword: str) -> str | None:
        found = [i for i in final if i.upper().startswith(keyword + " ")]
        return found[-1] if found else None

    user = last("USER")
    if user is None or user.split()[1] in ("root", "0"):
        error("the runtime stage must switch to a non-root USER")
    if last("ENTRYPOINT") != 'ENTRYPOINT ["bucketbase"]':
        error('the runtime stage needs ENTRYPOINT ["bucketbase"]')
    if last("CMD") != 'CMD ["serve"]':
        error('the runtime stage needs CMD ["serve"]')
    if last("EXPOSE") != "EXPOSE 54321":
        error("the runtime stage needs EXPOSE 54321")
    if not any(i.startswith("ENV ") and "BUCKETBASE_HOST=0.0.0.0" in i for i in final):
        error("the runtime stage needs ENV BUCKETBASE_HOST=0.0.0.0")
    if "ca-certificates" not in " ".join(final):
        error("the runtime stage should install ca-certificates")
    if len(errors) == errors_before:
        ok("Dockerfile: rust:1-bookworm -> debian:bookworm-slim, non-root, bucketbase serve on 54321")


def main() -> int:
    server_env = read_server_env()
    env_example = read_env_example()
    check_compose(server_env, env_example)
    check_env_example(env_example)
    check_server_reads(server_env)
    check_dockerfile()
    print(f"docker/check: {len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
