"""Static checks of the container deployment against the code.

There is no Docker engine here, so ``docker-compose.yml`` and the Dockerfiles
are checked without running them: against the Compose specification's JSON
schema, and against what the code declares (the services of the
``motcua.services`` entry points, their ports and settings classes, the topic
names). Every check takes the root of a checkout and returns a list of
problems (empty: fine), so the tests can run it on the real files and on a
deliberately broken copy.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, get_args
from unittest import mock
from urllib.parse import urlsplit

import dockerfile
from click.testing import CliRunner
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings
from ruamel.yaml import YAML

from motcua.shared.cli.services import installed_services, load_object
from motcua.shared.contracts.topics import (
    BUSINESS_TOPICS,
    CHECKPOINTS,
    dead_letter_topic,
)
from motcua.shared.service import ServiceDefinition
from motcua.shared.settings import (
    CommonSettings,
    KafkaSettings,
    ServiceSettings,
    TelemetrySettings,
    describe_settings,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = "docker-compose.yml"
SERVICE_DOCKERFILE = "Dockerfile"
"""The one image recipe of every service (build args ``SERVICE`` and ``PORT``)."""
CONTAINER_MODULE = "motcua.shared.container"
"""What the image runs: the service ``MOTCUA_SERVICE`` names."""

# ---------------------------------------------------------------------------
# What the code declares


@cache
def code_services() -> dict[str, ServiceDefinition]:
    """The services of the ``motcua.services`` entry points, by name."""
    return {s.name: s for s in installed_services()}


def settings_class(service: ServiceDefinition) -> type[ServiceSettings]:
    cls: type[ServiceSettings] = load_object(service.settings)
    return cls


def known_variables(service: ServiceDefinition) -> set[str]:
    """Every environment variable the service reads (as ``motcua config``)."""
    groups: list[type[BaseSettings]] = [
        settings_class(service),
        CommonSettings,
        KafkaSettings,
        TelemetrySettings,
    ]
    return {row["env"] for group in groups for row in describe_settings(group)}


def secret_variables(service: ServiceDefinition) -> set[str]:
    """Variables whose field is a ``SecretStr``: never a literal in a file."""
    found: set[str] = set()

    def walk(model: type[BaseSettings]) -> None:
        prefix = model.model_config.get("env_prefix", "")
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
                walk(annotation)
            elif annotation is SecretStr or SecretStr in get_args(annotation):
                found.add(f"{prefix}{name}".upper())

    walk(settings_class(service))
    return found


def expected_topics() -> list[str]:
    """Business topics, the signed checkpoints, one dead-letter topic per service."""
    return [
        *BUSINESS_TOPICS,
        CHECKPOINTS,
        *(dead_letter_topic(name) for name in code_services()),
    ]


def bootstrap_uv_version(root: Path) -> str | None:
    """The uv release that ``./motcua`` installs."""
    match = re.search(r'^uv_version="([^"]+)"', (root / "motcua").read_text(), re.M)
    return match.group(1) if match else None


def workspace_pyprojects(root: Path) -> list[str]:
    """Root-relative paths of every workspace member's ``pyproject.toml``."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    members = config["tool"]["uv"]["workspace"]["members"]
    found = {
        path.relative_to(root).as_posix()
        for pattern in members
        for path in root.glob(f"{pattern}/pyproject.toml")
    }
    return sorted(found)


# ---------------------------------------------------------------------------
# Compose file


def load_yaml(path: Path) -> Any:
    """A YAML file, parsed once per content (the checks only read it)."""
    return _parse_yaml(path.read_text())


@cache
def _parse_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def load_compose(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(root / COMPOSE_FILE)
    return data


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class Reference:
    """One ``${NAME…}`` in a compose value."""

    name: str
    operator: str  # "", ":-", "-", ":?", "?", ":+", "+"

    @property
    def required(self) -> bool:
        return self.operator in (":?", "?")


def references(value: str) -> list[Reference]:
    refs = []
    for m in _INTERPOLATION.finditer(value):
        if m["escaped"]:
            continue
        refs.append(Reference(m["braced"] or m["bare"], m["op"] or ""))
    return refs


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose interpolation with ``env`` standing for the operator's shell."""

    def substitute(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["bare"]
        op, arg = m["op"] or "", m["arg"] or ""
        current = env.get(name)
        if op in (":-", "-"):
            unset = current is None or (op == ":-" and current == "")
            return arg if unset else str(current)
        if op in (":+", "+"):
            return arg if current else ""
        return "" if current is None else current

    return _INTERPOLATION.sub(substitute, value)


def operator_environment(compose: Mapping[str, Any]) -> dict[str, str]:
    """Values for every variable the compose file interpolates, as an operator
    following docs/deploy.md would export them (URL-safe placeholders)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            names.update(r.name for r in references(node))
        elif isinstance(node, Mapping):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(compose)
    return {name: f"deploy-check-{name.lower().replace('_', '-')}" for name in names}


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's ``environment`` as a dict (map or list syntax)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    return {key: "" if value is None else str(value) for key, value in env.items()}


def container_ports(service: Mapping[str, Any]) -> list[int]:
    """Container ports a compose service publishes (short and long syntax)."""
    ports: list[int] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, Mapping):
            ports.append(int(entry["target"]))
            continue
        spec = str(entry).split("/")[0]
        ports.append(int(spec.rsplit(":", 1)[-1]))
    return ports


def build_of(service: Mapping[str, Any]) -> tuple[str, str] | None:
    """(context, dockerfile) of a compose service built from source."""
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return build, "Dockerfile"
    return str(build.get("context", ".")), str(build.get("dockerfile", "Dockerfile"))


def build_args(service: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's ``build.args`` (map or list syntax)."""
    build = service.get("build")
    args = build.get("args") if isinstance(build, Mapping) else None
    if isinstance(args, list):
        pairs = (str(item).partition("=") for item in args)
        return {key: value for key, _, value in pairs}
    return {str(k): "" if v is None else str(v) for k, v in (args or {}).items()}


def motcua_containers(root: Path, compose: Mapping[str, Any]) -> dict[str, str]:
    """Compose service name -> the service it runs (build arg ``SERVICE``),
    for the services built from the one ``Dockerfile``."""
    found: dict[str, str] = {}
    for name, service in (compose.get("services") or {}).items():
        build = build_of(service)
        if build is None:
            continue
        context, file = build
        if _relative((root / context / file).resolve(), root) == SERVICE_DOCKERFILE:
            found[name] = build_args(service).get("SERVICE", "")
    return found


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _label(path: Path) -> str:
    """A file's path relative to the checkout holding it (for messages)."""
    for parent in path.resolve().parents:
        if (parent / COMPOSE_FILE).exists():
            return _relative(path, parent)
    return path.as_posix()


# ---------------------------------------------------------------------------
# Dockerfiles


@dataclass(frozen=True)
class Stage:
    name: str | None
    base: str
    commands: tuple[dockerfile.Command, ...]

    def all(self, cmd: str) -> list[dockerfile.Command]:
        return [c for c in self.commands if c.cmd == cmd]

    def last(self, cmd: str) -> dockerfile.Command | None:
        found = self.all(cmd)
        return found[-1] if found else None


def _substitute_args(text: str, args: Mapping[str, str]) -> str:
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m[1], m[0]), text
    )


_EXEC_FORMS = frozenset({"ENTRYPOINT", "CMD", "HEALTHCHECK"})
"""Docker substitutes no build argument in these (and neither do we)."""


def parse_stages(
    path: Path, build_args: Mapping[str, str] | None = None
) -> list[Stage]:
    """The build stages of a Dockerfile, as built with ``build_args``: each
    ``ARG`` in scope substituted (its default unless given), ``FROM``
    resolved with the global ones."""
    given = dict(build_args or {})
    commands = dockerfile.parse_file(str(path))
    global_args: dict[str, str] = {}
    scope: dict[str, str] = {}
    stages: list[Stage] = []
    current: list[dockerfile.Command] = []
    header: tuple[str | None, str] | None = None  # (alias, image) of the stage
    for command in commands:
        if command.cmd == "FROM":
            if header is not None:
                stages.append(Stage(*header, tuple(current)))
            image = _substitute_args(command.value[0], global_args)
            alias = command.value[2] if len(command.value) >= 3 else None
            header, current, scope = (alias, image), [], {}
        elif command.cmd == "ARG":
            name, has_default, default = command.value[0].partition("=")
            value = given.get(
                name, default if has_default else global_args.get(name, "")
            )
            if header is None:
                global_args[name] = given.get(name, default)
            else:
                scope[name] = value
                current.append(command)
        elif header is not None:
            if command.cmd not in _EXEC_FORMS:
                command = command._replace(
                    value=tuple(_substitute_args(v, scope) for v in command.value)
                )
            current.append(command)
    if header is not None:
        stages.append(Stage(*header, tuple(current)))
    return stages


def image_is_pinned(image: str) -> bool:
    """``name:tag`` with a tag other than ``latest``, or a digest."""
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.split(":", 1)[1]
    return bool(tag) and tag != "latest" and "$" not in tag


def user_is_root(user: str | None) -> bool:
    if user is None:
        return True
    name = user.split(":", 1)[0]
    return name in ("root", "0", "")


def _env(stage: Stage) -> dict[str, str]:
    """``ENV`` of a stage (the parser gives name, value, name, value …)."""
    return {
        name: value.strip('"')
        for command in stage.all("ENV")
        for name, value in zip(command.value[0::2], command.value[1::2], strict=True)
    }


def _copy_sources(command: dockerfile.Command) -> list[str]:
    return list(command.value[:-1])


# .dockerignore ---------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def dockerignore_rules(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, regex) per line of the context's ``.dockerignore``."""
    path = context / ".dockerignore"
    if not path.exists():
        return []
    rules = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((exception, _pattern_regex(pattern)))
    return rules


def is_ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: a pattern matching a path or one of its parent folders
    excludes it, ``!`` re-includes, and the last matching line wins."""
    parts = PurePosixPath(relative).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for exception, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not exception
    return ignored


def _files_under(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for item in sorted(path.rglob("*")):
        if item.is_file() and "__pycache__" not in item.parts:
            yield item


def check_copy_sources(
    dockerfile_path: Path, context: Path, build_args: Mapping[str, str] | None = None
) -> list[str]:
    """``COPY`` sources exist in the build context and .dockerignore keeps them."""
    problems: list[str] = []
    rules = dockerignore_rules(context)
    where = _label(dockerfile_path)
    for stage in parse_stages(dockerfile_path, build_args):
        for command in stage.all("COPY") + stage.all("ADD"):
            if any(flag.startswith("--from") for flag in command.flags):
                continue
            for source in _copy_sources(command):
                path = context / source
                if not path.exists():
                    problems.append(
                        f"{where}:{command.start_line}: COPY source {source!r} "
                        f"does not exist in the build context"
                    )
                    continue
                if source in (".", "./"):
                    continue  # the whole context, as .dockerignore filters it
                for file in _files_under(path):
                    relative = file.relative_to(context).as_posix()
                    if is_ignored(relative, rules):
                        problems.append(
                            f"{where}:{command.start_line}: COPY source {relative!r} "
                            f"is excluded by .dockerignore"
                        )
                        break
    return problems


def check_image_basics(
    dockerfile_path: Path, context: Path, build_args: Mapping[str, str] | None = None
) -> list[str]:
    """What every image here must do: pinned bases, a non-root user, a
    HEALTHCHECK, and COPY sources that reach the build."""
    where = _label(dockerfile_path)
    if not dockerfile_path.exists():
        return [f"{where}: no such Dockerfile"]
    stages = parse_stages(dockerfile_path, build_args)
    if not stages:
        return [f"{where}: no FROM"]
    problems: list[str] = []
    names = {s.name for s in stages if s.name}
    for stage in stages:
        if stage.base not in names and not image_is_pinned(stage.base):
            problems.append(f"{where}: base image {stage.base!r} is not pinned by tag")
    final = stages[-1]
    user = final.last("USER")
    if user_is_root(user.value[0] if user else None):
        problems.append(f"{where}: the final stage runs as root (add USER)")
    if final.last("HEALTHCHECK") is None:
        problems.append(f"{where}: the final stage has no HEALTHCHECK")
    problems += check_copy_sources(dockerfile_path, context, build_args)
    return problems


def check_service_image(
    root: Path, service: ServiceDefinition, args: Mapping[str, str]
) -> list[str]:
    """The one Dockerfile, built with compose's ``args`` for ``service``: it
    runs the container module for this service, on the code's port, with only
    the variables it reads, from a locked, non-dev install of its package."""
    path = root / SERVICE_DOCKERFILE
    where = f"{_label(path)} (SERVICE={service.name})"
    problems = check_image_basics(path, root, args)
    if not path.exists():
        return problems
    stages = parse_stages(path, args)
    final, build_stages = stages[-1], stages[:-1]
    port = service.default_port
    entry = [*(final.last("ENTRYPOINT") or _NONE).value]
    health = [*(final.last("HEALTHCHECK") or _NONE).value][1:]
    if entry != ["python", "-m", CONTAINER_MODULE] or health != [*entry, "--health"]:
        problems.append(
            f"{where}: ENTRYPOINT {entry} and HEALTHCHECK {health} must run "
            f"`python -m {CONTAINER_MODULE}` (with --health)"
        )
    env = _env(final)
    if env.get("MOTCUA_SERVICE") != service.name:
        problems.append(f"{where}: ENV MOTCUA_SERVICE={env.get('MOTCUA_SERVICE')!r}")
    known = known_variables(service) | {"MOTCUA_SERVICE"}
    for name in env:
        if name.startswith(("MOTCUA_", "KAFKA_", "OTEL_")) and name not in known:
            problems.append(f"{where}: ENV {name} is not read by {service.name}")
    if env.get("MOTCUA_HTTP_HOST") != "0.0.0.0":
        problems.append(f"{where}: ENV MOTCUA_HTTP_HOST=0.0.0.0 is missing")
    exposed = [v for c in final.all("EXPOSE") for v in c.value]
    if args.get("PORT") != str(port) or exposed != [str(port)]:
        problems.append(
            f"{where}: built with PORT={args.get('PORT')!r} (EXPOSE {exposed}), "
            f"the code's port is {port}"
        )
    if len({s.base for s in stages}) != 1 or len(stages) < 2:
        problems.append(f"{where}: not a multi-stage build on one base image")
    runs = [(c, " ".join(c.value)) for s in build_stages for c in s.all("RUN")]
    syncs = [(c, text) for c, text in runs if "uv sync" in text]
    for command, text in syncs:
        for flag in ("--locked", "--no-dev", f"--package motcua-{service.name}"):
            if not re.search(rf"{re.escape(flag)}(\s|$)", text):
                problems.append(f"{where}:{command.start_line}: `uv sync` lacks {flag}")
    if not any("--no-editable" in text for _, text in syncs):
        problems.append(f"{where}: no `uv sync --no-editable` in the build stage")
    problems += _manifest_problems(root, where, build_stages, syncs)
    sources = {
        src
        for s in build_stages
        for c in s.all("COPY")
        if not c.flags
        for src in _copy_sources(c)
    }
    for needed in ("shared/src", f"services/{service.name}/src"):
        if needed not in sources:
            problems.append(f"{where}: {needed} is not copied into the build stage")
    uv = {c.value[0].partition("=")[::2] for s in build_stages for c in s.all("ARG")}
    if ("UV_VERSION", bootstrap_uv_version(root)) not in uv:
        problems.append(f"{where}: ARG UV_VERSION is not the uv ./motcua bootstraps")
    return problems


_NONE = dockerfile.Command("", None, False, "", 0, 0, (), (), ())


def _manifest_problems(
    root: Path, where: str, build_stages: list[Stage], syncs: list[Any]
) -> list[str]:
    """``uv sync --locked`` sees the lock and every member's pyproject.toml,
    copied from a stage that deletes every other file (so the dependency
    layer is rebuilt when they change, not when a source file does)."""
    first = syncs[0][0].start_line if syncs else 0
    froms = {
        f.partition("=")[2]
        for s in build_stages
        for c in s.all("COPY")
        if c.start_line < first
        for f in c.flags
    }
    stage = next((s for s in build_stages if s.name in froms), None)
    kept = " ".join(" ".join(c.value) for c in stage.all("RUN")) if stage else ""
    rules = dockerignore_rules(root)
    return [
        f"{where}: {needed} does not reach `uv sync --locked`"
        for needed in ["pyproject.toml", "uv.lock", *workspace_pyprojects(root)]
        if is_ignored(needed, rules)
        or f"! -name {PurePosixPath(needed).name}" not in kept
    ]


# ---------------------------------------------------------------------------
# Checks of the compose file


def check_schema(root: Path) -> list[str]:
    """The Compose specification's JSON schema, offline: the command
    ``check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml``,
    run in this process (its start-up costs a second per run)."""
    from check_jsonschema import main as check_jsonschema

    result = CliRunner().invoke(
        check_jsonschema,
        ["--builtin-schema", "vendor.compose-spec", str(root / COMPOSE_FILE)],
    )
    if result.exit_code == 0:
        return []
    return [
        f"{COMPOSE_FILE} does not match the Compose specification:\n{result.output}"
    ]


def check_services(root: Path) -> list[str]:
    """The compose file builds exactly the code's services, each under its
    own name, from the repository root with the one Dockerfile."""
    compose = load_compose(root)
    containers = motcua_containers(root, compose)
    problems: list[str] = []
    code = code_services()
    for name, served in containers.items():
        if served not in code:
            problems.append(
                f"compose service {name!r} builds the image of service {served!r}, "
                f"but the code has no such service"
            )
        elif name != served:
            problems.append(
                f"compose service {name!r} builds the {served!r} service; "
                f"name it {served!r}"
            )
        context = build_of(compose["services"][name])
        if context and (root / context[0]).resolve() != root.resolve():
            problems.append(
                f"compose service {name!r}: build context must be the repository "
                f"root (the uv workspace), not {context[0]!r}"
            )
    for name in code:
        if name not in containers.values():
            problems.append(f"the code's service {name!r} is not in {COMPOSE_FILE}")
    return problems


def check_dockerfiles(root: Path) -> list[str]:
    """The one Dockerfile as compose builds it for each service, and every
    other image compose builds."""
    compose = load_compose(root)
    problems: list[str] = []
    code = code_services()
    containers = motcua_containers(root, compose)
    for name, served in containers.items():
        if served in code:
            args = build_args(compose["services"][name])
            problems += check_service_image(root, code[served], args)
    for name, spec in (compose.get("services") or {}).items():
        build = build_of(spec)
        if build is None or name in containers:
            continue
        context = root / build[0]
        problems += check_image_basics(context / build[1], context)
    return problems


def check_ports(root: Path) -> list[str]:
    """Each service publishes the code's port (``ServiceDefinition.default_port``)."""
    compose = load_compose(root)
    problems: list[str] = []
    code = code_services()
    for name, directory in motcua_containers(root, compose).items():
        if directory not in code:
            continue
        port = code[directory].default_port
        ports = container_ports(compose["services"][name])
        if ports != [port]:
            problems.append(
                f"compose service {name!r} publishes container ports {ports}, "
                f"the code's port is {port}"
            )
    return problems


@contextmanager
def _only_environment(env: Mapping[str, str]) -> Iterator[None]:
    with mock.patch.dict(os.environ, env, clear=True):
        yield


def check_environment(root: Path) -> list[str]:
    """Each service's variables exist in its settings, the required ones are
    set, secrets come from the operator's environment, and the values load."""
    compose = load_compose(root)
    services = compose.get("services") or {}
    operator = operator_environment(compose)
    problems: list[str] = []
    code = code_services()
    databases = (
        environment_of(services.get("postgres", {}))
        .get("SERVICE_DATABASES", "")
        .split()
    )
    for name, directory in motcua_containers(root, compose).items():
        if directory not in code:
            continue
        service = code[directory]
        env = environment_of(services[name])
        known = known_variables(service)
        prefix = f"MOTCUA_{directory.upper()}_"
        for key in env:
            if key not in known:
                problems.append(
                    f"{name}: {key} is not a variable {directory} reads "
                    f"(see ./motcua config)"
                )
        required = {
            "KAFKA_BOOTSTRAP_SERVERS": None,
            "MOTCUA_ENVIRONMENT": "production",
            "MOTCUA_JWT_SECRET": None,
            "MOTCUA_PERSONAL_DATA_KEYS": None,
            "OTEL_EXPORTER_OTLP_ENDPOINT": None,
            f"{prefix}HTTP_HOST": "0.0.0.0",
            f"{prefix}DATABASE_URL": None,
        }
        for key, value in required.items():
            if key not in env:
                problems.append(f"{name}: {key} is not set")
            elif value is not None and env[key] != value:
                problems.append(f"{name}: {key}={env[key]!r}, expected {value!r}")

        # Secrets: a required reference to the operator's environment.
        for key in secret_variables(service) & env.keys():
            refs = references(env[key])
            if not (
                len(refs) == 1
                and refs[0].required
                and env[key].startswith("${")
                and env[key].endswith("}")
            ):
                problems.append(
                    f"{name}: {key} must be ${{VAR:?message}} (no literal secret, "
                    f"no default)"
                )
        url_value = env.get(f"{prefix}DATABASE_URL", "")
        if url_value:
            problems += _check_database_url(
                name, url_value, operator, databases, services
            )
        problems += _kafka_endpoint_problems(
            f"{name}: KAFKA_BOOTSTRAP_SERVERS",
            env.get("KAFKA_BOOTSTRAP_SERVERS", ""),
            services,
        )
        for host in _hosts(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")):
            if host not in services:
                problems.append(
                    f"{name}: OTEL_EXPORTER_OTLP_ENDPOINT names {host!r}, not a compose service"
                )

        # The values must load, and mean what the deployment intends.
        values = {k: interpolate(v, operator) for k, v in env.items()}
        with _only_environment(values):
            try:
                settings = settings_class(service)()
            except ValidationError as exc:
                problems.append(f"{name}: its environment does not load: {exc}")
                continue
        if settings.http_port != service.default_port:
            problems.append(
                f"{name}: resolves to port {settings.http_port}, not "
                f"{service.default_port}"
            )
        if settings.kafka.profile != "kafka":
            problems.append(
                f"{name}: Kafka timing profile {settings.kafka.profile!r}, "
                f"a real cluster needs 'kafka'"
            )
        if not settings.resolved_database_url.startswith("postgresql+asyncpg://"):
            problems.append(f"{name}: would use {settings.resolved_database_url}")
    return problems


def _kafka_endpoint_problems(
    label: str, value: str, services: Mapping[str, Any]
) -> list[str]:
    """Each ``host:port`` is a compose service advertising that listener."""
    problems: list[str] = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        parsed = urlsplit(f"//{item}")
        if parsed.hostname not in services:
            problems.append(f"{label} names {parsed.hostname!r}, not a compose service")
            continue
        advertised = environment_of(services[parsed.hostname]).get(
            "KAFKA_ADVERTISED_LISTENERS", ""
        )
        if f"//{parsed.hostname}:{parsed.port}" not in advertised:
            problems.append(
                f"{label} is {item!r}, but {parsed.hostname} advertises {advertised!r}"
            )
    return problems


def _hosts(value: str) -> list[str]:
    hosts = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        parsed = urlsplit(item if "://" in item else f"//{item}")
        if parsed.hostname:
            hosts.append(parsed.hostname)
    return hosts


def _check_database_url(
    name: str,
    value: str,
    operator: Mapping[str, str],
    databases: list[str],
    services: Mapping[str, Any],
) -> list[str]:
    problems: list[str] = []
    parsed = urlsplit(interpolate(value, operator))
    if parsed.scheme != "postgresql+asyncpg":
        problems.append(
            f"{name}: database URL scheme {parsed.scheme!r}, expected "
            f"'postgresql+asyncpg'"
        )
    if parsed.hostname not in services:
        problems.append(
            f"{name}: database host {parsed.hostname!r} is not a compose service"
        )
    database = parsed.path.lstrip("/")
    if database not in databases:
        problems.append(
            f"{name}: database {database!r} is not created by the postgres "
            f"init script (SERVICE_DATABASES={' '.join(databases)!r})"
        )
    if parsed.username != database:
        problems.append(
            f"{name}: database user {parsed.username!r}; the init script makes one "
            f"role per database, named like it"
        )
    # Not urlsplit: the "?" of ${VAR:?message} would end the netloc.
    userinfo = value.partition("://")[2].rpartition("@")[0]
    password = userinfo.partition(":")[2]
    refs = references(password)
    if not (refs and refs[0].required and password.startswith("${")):
        problems.append(f"{name}: the database password must be ${{VAR:?message}}")
    return problems


def check_topics(root: Path) -> list[str]:
    """topic-init creates the code's topics with the services' partition count."""
    compose = load_compose(root)
    services = compose.get("services") or {}
    init = services.get("topic-init")
    if init is None:
        return ["no topic-init service"]
    problems: list[str] = []
    command = [str(item) for item in init.get("command") or []]
    wanted = expected_topics()
    missing = [t for t in wanted if t not in command]
    extra = [t for t in command if t not in wanted]
    if missing:
        problems.append(f"topic-init does not create {missing}")
    if extra:
        problems.append(f"topic-init creates topics the code does not use: {extra}")
    env = environment_of(init)
    defaults = KafkaSettings()
    for init_key, service_key, default in (
        ("PARTITIONS", "KAFKA_PARTITIONS", defaults.partitions),
        ("REPLICATION_FACTOR", "KAFKA_REPLICATION_FACTOR", defaults.replication_factor),
    ):
        for name in motcua_containers(root, compose):
            service_value = environment_of(services[name]).get(
                service_key, str(default)
            )
            if env.get(init_key) != service_value:
                problems.append(
                    f"topic-init {init_key}={env.get(init_key)!r} but {name} "
                    f"declares topics with {service_key}={service_value!r}"
                )
    script = _mounted_script(root, init)
    if script is None or not script.is_file():
        problems.append(
            "topic-init's entrypoint script is not mounted from the repository"
        )
    elif "--if-not-exists" not in script.read_text():
        problems.append(f"{_relative(script, root)} does not use --if-not-exists")
    problems += _kafka_endpoint_problems(
        "topic-init BOOTSTRAP_SERVERS", env.get("BOOTSTRAP_SERVERS", ""), services
    )
    return problems


def _bind_mounts(service: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of a compose service's bind mounts."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, Mapping):
            if volume.get("type") == "bind":
                mounts.append((str(volume["source"]), str(volume["target"])))
            continue
        parts = str(volume).split(":")
        if len(parts) >= 2 and parts[0].startswith((".", "/")):
            mounts.append((parts[0], parts[1]))
    return mounts


def _mounted_script(root: Path, service: Mapping[str, Any]) -> Path | None:
    argv = [str(a) for a in service.get("entrypoint") or []]
    for source, target in _bind_mounts(service):
        if target in argv:
            return root / source
    return None


def check_dependencies(root: Path) -> list[str]:
    """Start order and health: services wait for a healthy Kafka and
    PostgreSQL and for the topics; every long-running container has a
    healthcheck; mounts and volumes exist."""
    compose = load_compose(root)
    services = compose.get("services") or {}
    containers = motcua_containers(root, compose)
    problems: list[str] = []

    def healthcheck_of(name: str) -> bool:
        spec = services[name]
        if "healthcheck" in spec:
            return not spec["healthcheck"].get("disable", False)
        build = build_of(spec)
        if build is None:
            return False
        path = root / build[0] / build[1]
        return path.exists() and parse_stages(path)[-1].last("HEALTHCHECK") is not None

    for name, spec in services.items():
        depends = spec.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {d: {"condition": "service_started"} for d in depends}
        for target, rule in depends.items():
            if target not in services:
                problems.append(f"{name} depends on unknown service {target!r}")
                continue
            condition = (rule or {}).get("condition", "service_started")
            if condition == "service_healthy" and not healthcheck_of(target):
                problems.append(
                    f"{name} waits for {target} to be healthy, "
                    f"but {target} has no healthcheck"
                )
        if name in containers:
            for target, condition in (
                ("kafka", "service_healthy"),
                ("postgres", "service_healthy"),
                ("topic-init", "service_completed_successfully"),
            ):
                got = (depends.get(target) or {}).get("condition")
                if got != condition:
                    problems.append(
                        f"{name} must depend on {target} with condition {condition}"
                    )
        one_shot = str(spec.get("restart", "no")) == "no" and name not in containers
        if not one_shot and not healthcheck_of(name):
            problems.append(f"{name} has no healthcheck")
        for source, target in _bind_mounts(spec):
            if not (root / source).exists():
                problems.append(f"{name} mounts {source}, which does not exist")
            elif target.startswith("/docker-entrypoint-initdb.d/") and not os.access(
                root / source, os.X_OK
            ):
                # PostgreSQL's entrypoint sources a non-executable .sh instead.
                problems.append(
                    f"{name} mounts {source} as an init script, not executable"
                )
        for volume in spec.get("volumes") or []:
            source = (
                volume.get("source")
                if isinstance(volume, Mapping)
                else str(volume).split(":")[0]
            )
            named = source and not str(source).startswith((".", "/"))
            if named and source not in (compose.get("volumes") or {}):
                problems.append(f"{name} uses volume {source!r}, not declared")
    return problems


def check_telemetry(root: Path) -> list[str]:
    """Spans go from the services to the collector's OTLP/HTTP receiver and
    on to Jaeger, whose UI is published."""
    compose = load_compose(root)
    services = compose.get("services") or {}
    operator = operator_environment(compose)
    problems: list[str] = []
    endpoints = {
        interpolate(
            environment_of(services[name]).get("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
            operator,
        )
        for name in motcua_containers(root, compose)
    }
    for endpoint in sorted(endpoints):
        parsed = urlsplit(endpoint)
        collector = services.get(parsed.hostname or "")
        if collector is None:
            problems.append(f"OTLP endpoint {endpoint!r} names no compose service")
            continue
        config = _collector_config(root, collector)
        if config is None:
            problems.append(f"{parsed.hostname}: no collector config.yaml found")
            continue
        http = (
            config.get("receivers", {}).get("otlp", {}).get("protocols", {}).get("http")
        ) or {}
        receiver_port = urlsplit("//" + str(http.get("endpoint", ""))).port
        if receiver_port != parsed.port:
            problems.append(
                f"services send spans to port {parsed.port}, the collector's "
                f"OTLP/HTTP receiver listens on {receiver_port}"
            )
        pipeline = config.get("service", {}).get("pipelines", {}).get("traces", {})
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                if component not in (config.get(kind) or {}):
                    problems.append(
                        f"collector traces pipeline uses undefined {component!r}"
                    )
        if not pipeline.get("exporters"):
            problems.append("collector traces pipeline exports nowhere")
        for component in pipeline.get("exporters", []):
            target = (config.get("exporters") or {}).get(component) or {}
            for host in _hosts(str(target.get("endpoint", ""))):
                if host not in services:
                    problems.append(
                        f"collector exporter {component} sends to unknown host {host!r}"
                    )
    jaeger = [
        n
        for n, s in services.items()
        if str(s.get("image", "")).startswith("jaegertracing/")
    ]
    if not jaeger:
        problems.append("no Jaeger service")
    for name in jaeger:
        if 16686 not in container_ports(services[name]):
            problems.append(f"{name}: the Jaeger UI port 16686 is not published")
    return problems


def _collector_config(root: Path, service: Mapping[str, Any]) -> dict[str, Any] | None:
    build = build_of(service)
    candidates: list[Path] = []
    if build is not None:
        path = root / build[0] / build[1]
        if path.exists():
            for stage in parse_stages(path):
                for command in stage.all("COPY"):
                    if not any(f.startswith("--from") for f in command.flags):
                        candidates += [
                            root / build[0] / s
                            for s in _copy_sources(command)
                            if fnmatch.fnmatch(s, "*.yaml")
                        ]
    candidates += [
        root / source
        for source, _ in _bind_mounts(service)
        if source.endswith((".yaml", ".yml"))
    ]
    for candidate in candidates:
        if candidate.exists():
            data: dict[str, Any] = load_yaml(candidate)
            return data
    return None


ALL_CHECKS = (
    check_schema,
    check_services,
    check_dockerfiles,
    check_ports,
    check_environment,
    check_topics,
    check_dependencies,
    check_telemetry,
)
