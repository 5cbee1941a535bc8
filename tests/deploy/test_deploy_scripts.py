"""What the containers run, exercised here without Docker: the topic and
database init scripts, the .dockerignore rules, and a service image's recipe."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import deploy_checks as checks
import pytest

from motcua.shared.contracts.topics import MAX_RECORD_BYTES

ROOT = checks.ROOT
TOPICS_SCRIPT = ROOT / "deploy/kafka/create-topics.sh"
DATABASES_SCRIPT = ROOT / "deploy/postgres/create-databases.sh"

STUB = """#!/usr/bin/env bash
echo "$*" >> "$STUB_LOG"
[ -z "${STUB_FAIL:-}" ] || exit 1
if [[ " $* " == *" --describe "* ]]; then
  printf 'Topic: motcua.dossier.events\\tTopicId: a\\tPartitionCount: 6\\tReplicationFactor: 1\\n'
  printf '\\tTopic: motcua.dossier.events\\tPartition: 0\\tLeader: 1\\n'
  printf 'Topic: motcua.dlt.routing\\tTopicId: b\\tPartitionCount: 3\\tReplicationFactor: 1\\n'
fi
"""


def topic_init() -> tuple[list[str], dict[str, str]]:
    service = checks.load_compose(ROOT)["services"]["topic-init"]
    return [str(t) for t in service["command"]], checks.environment_of(service)


def run_topics_script(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    stub = tmp_path / "kafka-topics.sh"
    stub.write_text(STUB)
    stub.chmod(0o755)
    topics, env = topic_init()
    env = {
        "PATH": os.environ["PATH"],
        **env,
        "TOPICS_COMMAND": str(stub),
        "STUB_LOG": str(tmp_path / "calls.log"),
        **extra,
    }
    return subprocess.run(
        ["bash", str(TOPICS_SCRIPT), *topics],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_topic_init_creates_each_topic_once_if_missing(tmp_path: Path) -> None:
    result = run_topics_script(tmp_path)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    topics, env = topic_init()
    creates = [c for c in calls if "--create" in c]
    assert len(creates) == len(topics) == len(checks.expected_topics())
    for topic, call in zip(topics, creates, strict=True):
        assert call.split() == [
            "--bootstrap-server",
            env["BOOTSTRAP_SERVERS"],
            "--create",
            "--if-not-exists",
            "--topic",
            topic,
            "--partitions",
            env["PARTITIONS"],
            "--replication-factor",
            env["REPLICATION_FACTOR"],
            "--config",
            f"max.message.bytes={MAX_RECORD_BYTES}",
            # the history topics are kept forever (ADR 0013)
            *(
                ["--config", "retention.ms=-1", "--config", "retention.bytes=-1"]
                if topic
                in (
                    "motcua.dossier.events",
                    "motcua.notification.events",
                    "motcua.signing.checkpoints",
                )
                else []
            ),
        ]
    assert "--describe" in calls[-1]
    # An existing topic with fewer partitions is reported, a full one is not.
    assert "motcua.dlt.routing has 3 partitions, fewer than 6" in result.stderr
    assert "motcua.dossier.events has" not in result.stderr


def test_topic_init_fails_when_the_cluster_refuses(tmp_path: Path) -> None:
    result = run_topics_script(tmp_path, STUB_FAIL="1")
    assert result.returncode != 0
    assert len((tmp_path / "calls.log").read_text().splitlines()) == 1


def test_topic_init_needs_its_settings(tmp_path: Path) -> None:
    result = run_topics_script(tmp_path, PARTITIONS="")
    assert result.returncode != 0
    assert "PARTITIONS must be set" in result.stderr


def psql(env: dict[str, str], sql: str) -> str:
    result = subprocess.run(
        ["psql", "-v", "ON_ERROR_STOP=1", "-At", "--dbname", "postgres", "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.postgres
def test_postgres_init_makes_one_isolated_database_per_service() -> None:
    url = os.environ.get("MOTCUA_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("MOTCUA_TEST_POSTGRES_URL is not set")
    if shutil.which("psql") is None:
        pytest.skip("no psql client on this machine")
    parsed = urlsplit(url)
    env = {
        "PATH": os.environ["PATH"],
        "PGHOST": parsed.hostname or "127.0.0.1",
        "PGPORT": str(parsed.port or 5432),
        "PGUSER": parsed.username or "postgres",
        **({"PGPASSWORD": parsed.password} if parsed.password else {}),
    }
    suffix = uuid4().hex[:8]
    names = [f"motcua_deploy_{suffix}_a", f"motcua_deploy_{suffix}_b"]
    try:
        result = subprocess.run(
            ["bash", str(DATABASES_SCRIPT)],
            env={
                **env,
                "POSTGRES_USER": env["PGUSER"],
                "SERVICE_DATABASES": " ".join(names),
                "SERVICE_DB_PASSWORD": 'it\'s "quoted"',
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        owners = psql(
            env,
            "SELECT datname || '=' || pg_get_userbyid(datdba) FROM "
            f"pg_database WHERE datname LIKE 'motcua_deploy_{suffix}_%' "
            "ORDER BY datname",
        )
        assert owners.splitlines() == [f"{n}={n}" for n in names]
        logins = psql(
            env,
            "SELECT count(*) FROM pg_roles WHERE rolcanlogin AND "
            f"rolname LIKE 'motcua_deploy_{suffix}_%'",
        )
        assert logins == "2"
        a, b = names
        access = psql(
            env,
            f"SELECT has_database_privilege('{a}', '{b}', 'CONNECT'), "
            f"has_database_privilege('{a}', '{a}', 'CONNECT')",
        )
        assert access == "f|t"
    finally:
        for name in names:
            psql(env, f'DROP DATABASE IF EXISTS "{name}"')
            psql(env, f'DROP ROLE IF EXISTS "{name}"')


def test_dockerignore_follows_docker_rules() -> None:
    rules = checks.dockerignore_rules(ROOT)
    kept = [
        "pyproject.toml",
        "uv.lock",
        "shared/src/motcua/shared/kafka.py",
        "services/intake/src/motcua/intake/migrations/versions/0001_initial.py",
        "services/intake/pyproject.toml",
    ]
    dropped = [
        "README.md",
        ".git/HEAD",
        ".venv/bin/python",
        "var/intake.db",
        "services/intake/tests/test_api.py",
        "shared/tests/conftest.py",
        "services/intake/src/motcua/intake/__pycache__/app.cpython-311.pyc",
        "tests/deploy/test_compose.py",
        "docker-compose.yml",
    ]
    assert [p for p in kept if checks.is_ignored(p, rules)] == []
    assert [p for p in dropped if not checks.is_ignored(p, rules)] == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_environment() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MOTCUA_", "KAFKA_", "OTEL_", "UV_", "VIRTUAL_ENV"))
    }


def _copy_into(source: str, destination: Path, rules: list) -> None:
    """``COPY source destination`` from the repository, as the build context
    that .dockerignore leaves would hold it."""
    origin = ROOT / source
    files = [origin] if origin.is_file() else sorted(origin.rglob("*"))
    for file in files:
        relative = file.relative_to(ROOT).as_posix()
        if not file.is_file() or checks.is_ignored(relative, rules):
            continue
        inside = file.name if origin.is_file() else file.relative_to(origin)
        target = destination / inside
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)


def _build_stage(
    stage: checks.Stage, root: Path, done: dict[str, Path], env: dict[str, str]
) -> int:
    """Run a build stage's WORKDIR, COPY and RUN steps under ``root`` (its
    ``/``): COPY from the context as .dockerignore leaves it, or from an
    earlier stage; ``uv sync`` with our uv; ``pip install uv`` skipped (our
    uv stands for it); other RUN lines through the shell. Returns the number
    of ``uv sync`` steps."""
    uv, rules = ROOT / ".tools/bin/uv", checks.dockerignore_rules(ROOT)
    workdir, synced = root, 0
    for command in stage.commands:
        if command.cmd == "WORKDIR":
            workdir = root / command.value[0].lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif command.cmd == "COPY":
            *sources, destination = command.value
            earlier = [f.partition("=")[2] for f in command.flags if "--from=" in f]
            for source in sources:
                target = workdir / destination
                if earlier:
                    shutil.copytree(
                        done[earlier[0]] / source.lstrip("/"),
                        target,
                        dirs_exist_ok=True,
                    )
                    continue
                if not destination.endswith("/") and len(sources) == 1:
                    target = target.parent if (ROOT / source).is_file() else target
                _copy_into(source, target, rules)
        elif command.cmd == "RUN" and command.value[0].startswith("uv sync"):
            argv = [str(uv), *shlex.split(command.value[0])[1:]]
            result = subprocess.run(
                argv,
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, f"{command.original}\n{result.stderr}"
            synced += 1
        elif command.cmd == "RUN" and not command.value[0].startswith("pip install"):
            subprocess.run(["sh", "-c", command.value[0]], cwd=workdir, check=True)
    return synced


@pytest.mark.e2e  # builds an environment and starts the service's process
def test_the_intake_image_recipe_builds_and_serves(tmp_path: Path) -> None:
    """The one Dockerfile without Docker, as compose builds it for intake: its
    build stages run here into a fresh environment, then its ENTRYPOINT with
    its ENV, until its HEALTHCHECK passes. The other services differ only in
    the build args, which the static checks follow."""
    if not (ROOT / ".tools/bin/uv").exists():
        pytest.fail("uv not found: run ./motcua once to bootstrap it")
    compose = checks.load_compose(ROOT)
    args = checks.build_args(compose["services"]["intake"])
    assert args == {"SERVICE": "intake", "PORT": "8001"}
    stages = checks.parse_stages(ROOT / checks.SERVICE_DOCKERFILE, args)
    *build_stages, final = stages
    app = tmp_path / "app"

    def local(value: str) -> str:  # the image's /app lives in tmp_path here
        return value.replace("/app/", f"{app}/")

    done: dict[str, Path] = {}
    synced = 0
    for stage in build_stages:
        env = _clean_environment() | {
            k: local(v) for k, v in checks._env(stage).items()
        }
        env["UV_COMPILE_BYTECODE"] = "0"  # what differs: speed only
        env.pop("UV_LINK_MODE", None)
        done[stage.name or ""] = root = tmp_path / (stage.name or "stage")
        synced += _build_stage(stage, root, done, env)
    assert synced == 2
    assert sorted(
        p.relative_to(done["manifests"] / "src").as_posix()
        for p in (done["manifests"] / "src").rglob("*")
        if p.is_file()
    ) == sorted(["pyproject.toml", "uv.lock", *checks.workspace_pyprojects(ROOT)])
    venv = Path(env["UV_PROJECT_ENVIRONMENT"])
    (site,) = (venv / "lib").glob("python3*/site-packages")
    installed = {p.name for p in site.iterdir()}
    assert {"pytest", "mypy", "testcontainers"} & installed == set()  # no dev tools
    assert not any(name.startswith("motcua_routing") for name in installed)
    # Installed as wheels (--no-editable): every source file must be inside,
    # the Alembic migrations included.
    for src in (ROOT / "shared/src", ROOT / "services/intake/src"):
        missing = [
            p.relative_to(src).as_posix()
            for p in src.rglob("*")
            if p.is_file()
            and "__pycache__" not in p.parts
            and not (site / p.relative_to(src)).is_file()
        ]
        assert missing == [], f"not installed from {src}"

    port = _free_port()
    data = tmp_path / "data"
    data.mkdir()
    run_env = _clean_environment() | {
        k: local(v) for k, v in checks._env(final).items()
    }
    run_env |= {
        "PATH": f"{venv}/bin:{os.environ['PATH']}",
        "MOTCUA_DATA_DIR": str(data),
        "MOTCUA_INTAKE_HTTP_PORT": str(port),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_free_port()}",  # nobody there
    }
    entry = final.last("ENTRYPOINT")
    health = final.last("HEALTHCHECK")
    assert entry is not None
    assert health is not None
    probe = list(health.value[1:])  # asks the port the settings resolve
    process = subprocess.Popen(
        list(entry.value),
        env=run_env,
        cwd=data,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and process.poll() is None:
            if (
                subprocess.run(
                    probe, env=run_env, capture_output=True, check=False
                ).returncode
                == 0
            ):
                healthy = True
                break
            time.sleep(0.3)
        assert healthy, "the HEALTHCHECK never passed"
        assert (data / "intake.db").exists()  # migrations ran from the wheel
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    # SIGTERM (docker stop): a graceful shutdown, then uvicorn exits by the signal.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete." in output
