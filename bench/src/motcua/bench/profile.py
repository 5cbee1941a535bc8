"""Flame graphs of the services while the bench drives them (py-spy).

py-spy samples a running process from outside (``--nonblocking``: it reads
the interpreter's memory without pausing it, so the profile costs the
service nothing); it needs ptrace rights, which root has."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil

PROFILED = ("intake", "routing", "notification", "reporting", "portal")


def py_spy() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def flame_graphs(
    processes: dict[str, psutil.Process],
    folder: Path,
    stamp: str,
    *,
    rate_hz: int = 97,
) -> Iterator[dict[str, Path]]:
    """Record each service until the block ends; yields service → SVG path."""
    exe = py_spy()
    if exe is None:
        msg = "py-spy is not installed (it comes with the bench package)"
        raise RuntimeError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    recorders: list[subprocess.Popen[bytes]] = []
    for name in PROFILED:
        process = processes.get(name)
        if process is None:
            continue
        # The SVG to look at, and the collapsed stacks (raw) to add up.
        for fmt, suffix in (("flamegraph", "svg"), ("raw", "txt")):
            out = folder / f"flame-{stamp}-{name}.{suffix}"
            if fmt == "flamegraph":
                outputs[name] = out
            recorders.append(_record(exe, process.pid, out, fmt, rate_hz))
    try:
        yield outputs
    finally:
        for recorder in recorders:  # SIGINT: py-spy writes the graph and exits
            recorder.send_signal(2)
        for recorder in recorders:
            try:
                recorder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                recorder.kill()


def _record(
    exe: str, pid: int, out: Path, fmt: str, rate_hz: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            exe,
            "record",
            "--nonblocking",
            "--rate",
            str(rate_hz),
            "--pid",
            str(pid),
            "--output",
            str(out),
            "--format",
            fmt,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def hot_frames(raw: Path, *, top: int = 25) -> list[tuple[str, float, float]]:
    """From py-spy's collapsed stacks: the frames where most samples were,
    as (frame, inclusive %, self %), by inclusive share (a frame counted once
    per stack, however deep it recurses)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    if not total:
        return []
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    return [
        (frame, round(100 * n / total, 1), round(100 * own.get(frame, 0) / total, 1))
        for frame, n in ranked
    ]


def _short(frame: str) -> str:
    """``func (path/to/module.py:12)`` → ``func (module.py)``: lines apart."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(path.split('/')[-2:])})"


_LAYERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("signing (JWS, RFC 8785)", re.compile(r"joserfc|cryptography|rfc8785|signing/")),
    (
        "database (SQLAlchemy, driver)",
        re.compile(r"sqlalchemy|aiosqlite|sqlite|asyncpg|greenlet|sqlmodel"),
    ),
    ("validation (pydantic)", re.compile(r"pydantic")),
    ("broker client (aiokafka)", re.compile(r"aiokafka")),
    ("FastStream", re.compile(r"faststream|fast_depends")),
    (
        "HTTP (uvicorn, Starlette, FastAPI, httpx)",
        re.compile(r"starlette|fastapi|uvicorn|httptools|h11|httpx|httpcore|anyio"),
    ),
    ("tracing and metrics", re.compile(r"opentelemetry|prometheus")),
    ("logging", re.compile(r"structlog|logging/")),
    ("SMTP", re.compile(r"aiosmtplib|smtp")),
    (
        "motcua code",
        re.compile(r"motcua|intake/|routing/|notification/|reporting/|shared/"),
    ),
    ("event loop (asyncio, uvloop)", re.compile(r"asyncio/")),
)


def layer_shares(raw: Path) -> dict[str, float]:
    """Share of the samples (%) per layer of the stack: each sample goes to the
    layer of its innermost frame that belongs to one (a pydantic call made
    by motcua code counts as pydantic)."""
    counts: dict[str, int] = {}
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        total += int(count_text)
        layer = _layer(stack.split(";"))
        counts[layer] = counts.get(layer, 0) + int(count_text)
    return (
        {
            k: round(100 * v / total, 1)
            for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
        }
        if total
        else {}
    )


def _layer(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in _LAYERS:
            if pattern.search(frame):
                return name
    return "other (threads, C code)"
