"""docker-compose.yml and the Dockerfiles, checked without a Docker engine.

Each check of ``deploy_checks`` must pass on the repository and must fail on
a copy broken in the way it guards against.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import deploy_checks as checks
import pytest

ROOT = checks.ROOT
COMPOSE = "docker-compose.yml"
_SKIP = shutil.ignore_patterns(
    ".git", ".venv", ".tools", "var", "__pycache__", "*_cache", "bench", "node_modules"
)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the repository that a test may break."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=_SKIP)
    return copy


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text()
    assert old in text, f"{old!r} not in {relative}: the breakage would not happen"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("check", checks.ALL_CHECKS, ids=lambda c: c.__name__)
def test_the_deployment_passes_every_check(check: Callable[[Path], list[str]]) -> None:
    assert check(ROOT) == []


def test_an_unknown_compose_key_fails_the_schema(checkout: Path) -> None:
    edit(
        checkout,
        COMPOSE,
        "  stop_grace_period: 20s\n",
        "  stop_grace_period: 20s\n  restart_policy: always\n",
    )
    problems = checks.check_schema(checkout)
    assert len(problems) == 1
    assert "Unevaluated properties are not allowed" in problems[0]
    assert "restart_policy" in problems[0]


def test_a_wrongly_typed_compose_value_fails_the_schema(checkout: Path) -> None:
    edit(checkout, COMPOSE, "      retries: 10\n", "      retries: [10]\n")
    (problem,) = checks.check_schema(checkout)
    assert "$.services.kafka.healthcheck.retries: [10] is not of type" in problem


IMAGE = "Dockerfile"
JWT = "${MOTCUA_JWT_SECRET:?set MOTCUA_JWT_SECRET to one random value shared by all services}"

# (file, text, replacement, fragment of the expected problem)
BREAKAGES = {
    "unknown env var": (
        COMPOSE,
        "MOTCUA_INTAKE_DATABASE_URL:",
        "MOTCUA_INTAKE_DB_URL:",
        "MOTCUA_INTAKE_DB_URL is not a variable intake reads",
    ),
    "required env var missing": (
        COMPOSE,
        "      MOTCUA_ROUTING_HTTP_HOST: 0.0.0.0\n",
        "",
        "routing: MOTCUA_ROUTING_HTTP_HOST is not set",
    ),
    "not production": (
        COMPOSE,
        "MOTCUA_ENVIRONMENT: production",
        "MOTCUA_ENVIRONMENT: test",
        "MOTCUA_ENVIRONMENT='test'",
    ),
    "value the settings refuse": (
        COMPOSE,
        "KAFKA_PROFILE: kafka",
        "KAFKA_PROFILE: fast",
        "its environment does not load",
    ),
    "tansu timings on Kafka": (
        COMPOSE,
        "KAFKA_PROFILE: kafka",
        "KAFKA_PROFILE: tansu",
        "Kafka timing profile 'tansu'",
    ),
    "literal JWT secret": (
        COMPOSE,
        JWT,
        "not-so-secret",
        "MOTCUA_JWT_SECRET must be ${VAR:?message}",
    ),
    "JWT secret with a default": (
        COMPOSE,
        JWT,
        "${MOTCUA_JWT_SECRET:-changeme}",
        "MOTCUA_JWT_SECRET must be ${VAR:?message}",
    ),
    "literal database password": (
        COMPOSE,
        "intake:${SERVICE_DB_PASSWORD:?set SERVICE_DB_PASSWORD}@",
        "intake:hunter2@",
        "database password must be",
    ),
    "database not created": (
        COMPOSE,
        "@postgres:5432/routing",
        "@postgres:5432/routes",
        "database 'routes' is not created",
    ),
    "database host unknown": (
        COMPOSE,
        "@postgres:5432/intake",
        "@db:5432/intake",
        "database host 'db' is not a compose service",
    ),
    "broker not advertised": (
        COMPOSE,
        "KAFKA_BOOTSTRAP_SERVERS: kafka:9092",
        "KAFKA_BOOTSTRAP_SERVERS: kafka:29092",
        "advertises",
    ),
    "wrong container port": (
        COMPOSE,
        '"8002:8002"',
        '"8002:8012"',
        "publishes container ports [8012], the code's port is 8002",
    ),
    "service not in code": (
        COMPOSE,
        "SERVICE: notification,",
        "SERVICE: intake,",
        "the code's service 'notification' is not in",
    ),
    "image of an unknown service": (
        COMPOSE,
        "SERVICE: notification,",
        "SERVICE: notifications,",
        "builds the image of service 'notifications', but the code has no such",
    ),
    "dead-letter topic missing": (
        COMPOSE,
        "      - motcua.dlt.routing\n",
        "",
        "does not create ['motcua.dlt.routing']",
    ),
    "unknown topic": (
        COMPOSE,
        "      - motcua.dlt.reporting\n",
        "      - motcua.dlt.reporting\n      - motcua.audit\n",
        "topics the code does not use: ['motcua.audit']",
    ),
    "partition mismatch": (
        COMPOSE,
        'PARTITIONS: "6"\n      REPLICATION',
        'PARTITIONS: "3"\n      REPLICATION',
        "topic-init PARTITIONS='3'",
    ),
    "topic script missing": (
        COMPOSE,
        "./deploy/kafka/create-topics.sh:",
        "./deploy/kafka/topics.sh:",
        "mounts ./deploy/kafka/topics.sh, which does not exist",
    ),
    "no wait for topics": (
        COMPOSE,
        "    topic-init:\n      condition: service_completed_successfully\n",
        "",
        "must depend on topic-init with condition service_completed_successfully",
    ),
    "no healthcheck": (
        COMPOSE,
        '    healthcheck:\n      test: ["CMD-SHELL"',
        '    x-healthcheck:\n      test: ["CMD-SHELL"',
        "kafka has no healthcheck",
    ),
    "spans to the wrong port": (
        COMPOSE,
        "http://otel-collector:4318",
        "http://otel-collector:4317",
        "the collector's OTLP/HTTP receiver listens on 4318",
    ),
    "Jaeger UI unpublished": (
        COMPOSE,
        '"16686:16686"',
        '"16687:16687"',
        "the Jaeger UI port 16686 is not published",
    ),
    "collector exporter undefined": (
        "deploy/otel-collector/config.yaml",
        "exporters: [otlphttp/jaeger]",
        "exporters: [otlp/jaeger]",
        "undefined 'otlp/jaeger'",
    ),
    "collector runs as root": (
        "deploy/otel-collector/Dockerfile",
        "USER 10001:10001\n",
        "",
        "Dockerfile: the final stage runs as root",
    ),
    "built for another port": (
        COMPOSE,
        'SERVICE: notification, PORT: "8003"',
        'SERVICE: notification, PORT: "8013"',
        "built with PORT='8013' (EXPOSE ['8013']), the code's port is 8003",
    ),
    "EXPOSE not the port": (
        IMAGE,
        "EXPOSE ${PORT}",
        "EXPOSE 8000",
        "(EXPOSE ['8000']), the code's port is 8001",
    ),
    "healthcheck probes nothing": (
        IMAGE,
        '"motcua.shared.container", "--health"]',
        '"motcua.shared.container"]',
        "must run `python -m motcua.shared.container` (with --health)",
    ),
    "entrypoint elsewhere": (
        IMAGE,
        'ENTRYPOINT ["python", "-m", "motcua.shared.container"]',
        'ENTRYPOINT ["python", "-m", "motcua.intake"]',
        "must run `python -m motcua.shared.container`",
    ),
    "image serves another service": (
        IMAGE,
        "MOTCUA_SERVICE=${SERVICE}",
        "MOTCUA_SERVICE=intake",
        "(SERVICE=routing): ENV MOTCUA_SERVICE='intake'",
    ),
    "COPY source missing": (
        IMAGE,
        "COPY shared/src shared/src",
        "COPY shared/source shared/src",
        "COPY source 'shared/source' does not exist",
    ),
    "service source not copied": (
        IMAGE,
        "COPY services/${SERVICE}/src services/${SERVICE}/src",
        "COPY services/intake/src services/intake/src",
        "services/routing/src is not copied into the build stage",
    ),
    "COPY source ignored": (
        ".dockerignore",
        "!services/*/src\n",
        "",
        "is excluded by .dockerignore",
    ),
    "runs as root": (
        IMAGE,
        "USER 10001:10001\n",
        "",
        "Dockerfile: the final stage runs as root",
    ),
    "unpinned base": (
        IMAGE,
        "PYTHON_IMAGE=python:3.11.14-slim-bookworm",
        "PYTHON_IMAGE=python",
        "base image 'python' is not pinned",
    ),
    "latest base": (
        IMAGE,
        "PYTHON_IMAGE=python:3.11.14-slim-bookworm",
        "PYTHON_IMAGE=python:latest",
        "base image 'python:latest' is not pinned",
    ),
    "unlocked install": (
        IMAGE,
        "uv sync --locked --no-dev --no-editable",
        "uv sync --no-dev --no-editable",
        "`uv sync` lacks --locked",
    ),
    "dev dependencies": (
        IMAGE,
        "uv sync --locked --no-dev --no-install-workspace",
        "uv sync --locked --no-install-workspace",
        "`uv sync` lacks --no-dev",
    ),
    "workspace member kept out": (
        ".dockerignore",
        "!services/*/pyproject.toml\n",
        "",
        "services/reporting/pyproject.toml does not reach `uv sync --locked`",
    ),
    "lock deleted before the sync": (
        IMAGE,
        "! -name uv.lock ",
        "",
        "uv.lock does not reach `uv sync --locked`",
    ),
    "uv differs from ./motcua": (
        IMAGE,
        "ARG UV_VERSION=0.13.9",
        "ARG UV_VERSION=0.9.0",
        "ARG UV_VERSION is not the uv ./motcua bootstraps",
    ),
    "image env unknown": (
        IMAGE,
        "MOTCUA_HTTP_HOST=0.0.0.0",
        "MOTCUA_BIND=0.0.0.0",
        "ENV MOTCUA_BIND is not read by intake",
    ),
    "image binds the loopback": (
        IMAGE,
        "MOTCUA_HTTP_HOST=0.0.0.0",
        "MOTCUA_HTTP_HOST=127.0.0.1",
        "ENV MOTCUA_HTTP_HOST=0.0.0.0 is missing",
    ),
}


@pytest.mark.parametrize(
    ("relative", "old", "new", "expected"), BREAKAGES.values(), ids=BREAKAGES.keys()
)
def test_each_check_fails_on_a_broken_copy(
    checkout: Path, relative: str, old: str, new: str, expected: str
) -> None:
    edit(checkout, relative, old, new)
    problems = [p for check in checks.ALL_CHECKS[1:] for p in check(checkout)]
    assert any(expected in problem for problem in problems), problems


def test_a_non_executable_init_script_is_refused(checkout: Path) -> None:
    (checkout / "deploy/postgres/create-databases.sh").chmod(0o644)
    assert checks.check_dependencies(checkout) == [
        "postgres mounts ./deploy/postgres/create-databases.sh as an init script, "
        "not executable"
    ]
