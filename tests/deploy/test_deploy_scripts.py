"""The scripts and packages the containers run, exercised here: the topic and
database init scripts, the wheels the images install, the .dockerignore rules."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import deploy_checks as checks
import pytest

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


def test_images_install_every_source_file(tmp_path: Path) -> None:
    """The images install the packages as wheels (``uv sync --no-editable``):
    each wheel must carry all of its sources, migrations included."""
    uv = ROOT / ".tools/bin/uv"
    if not uv.exists():
        found = shutil.which("uv")
        if found is None:
            pytest.fail("uv not found: run ./motcua once to bootstrap it")
        uv = Path(found)
    subprocess.run(
        [str(uv), "build", "--all-packages", "--wheel", "--quiet", "-o", str(tmp_path)],
        cwd=ROOT,
        check=True,
        timeout=300,
        capture_output=True,
    )
    packages = {"shared": ROOT / "shared"} | {
        name: ROOT / "services" / name for name in checks.code_services()
    }
    for name, project in packages.items():
        (wheel,) = tmp_path.glob(f"motcua_{name}-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            inside = set(archive.namelist())
            entry_points = (
                next(
                    archive.read(n).decode()
                    for n in inside
                    if n.endswith("entry_points.txt")
                )
                if name != "shared"
                else ""
            )
        src = project / "src"
        expected = {
            p.relative_to(src).as_posix()
            for p in src.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert expected - inside == set(), f"missing from the {name} wheel"
        assert any(n.endswith("/migrations/env.py") for n in inside) or name == "shared"
        if name != "shared":
            assert f"{name} = motcua.{name}.service:SERVICE" in entry_points


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
