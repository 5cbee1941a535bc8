"""The pieces every service's composition root (``create_app()``) wires together.

:class:`ServiceRuntime` owns the database, the broker, the outbox relay and the
consumers; :func:`create_http_app` wraps it in a FastAPI app with health,
readiness, metrics and the AsyncAPI document. Nothing here runs at import time:
the runtime connects in the app's lifespan, and it keeps serving HTTP while the
broker is unreachable (writes go to the outbox and flow once it is back).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import make_asgi_app
from prometheus_fastapi_instrumentator import Instrumentator
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.shared.asyncapi import build_asyncapi
from motcua.shared.contracts.envelope import EventData
from motcua.shared.contracts.topics import BUSINESS_TOPICS
from motcua.shared.db import (
    count_statements,
    create_engine,
    create_session_factory,
    migrate,
    ping,
    schema_revisions,
)
from motcua.shared.errors import install_error_handlers
from motcua.shared.kafka import (
    create_broker,
    declare_topics,
    kafka_publisher,
    subscribe,
    topics_for,
)
from motcua.shared.logging import configure_logging
from motcua.shared.messaging.admission import Check
from motcua.shared.messaging.consumer import EventConsumer, EventHandler
from motcua.shared.messaging.relay import OutboxRelay
from motcua.shared.metrics import ServiceMetrics
from motcua.shared.offsets import broker_probe
from motcua.shared.sampling import Sample, Sampler
from motcua.shared.settings import ServiceSettings
from motcua.shared.signing.guard import ChainGuard
from motcua.shared.signing.keystore import KeyMaterial
from motcua.shared.signing.local import key_material
from motcua.shared.signing.store import SIGNER
from motcua.shared.telemetry import (
    ContextTracerProvider,
    TraceContextMiddleware,
    create_tracer_provider,
)

log = structlog.get_logger(__name__)

_CONNECT_ATTEMPT_S = 60.0
"""One try at declaring topics and starting the broker client."""
_SHUTDOWN_STEP_S = 10.0
"""Each broker-facing step of a shutdown (relay, clients)."""

VERSION = "0.1.0"


@dataclass(frozen=True)
class ProcessSpec:
    """A helper process ``motcua up`` starts beside the services (simulators)."""

    name: str
    argv: list[str]
    url: str
    health_url: str | None = None


@dataclass(frozen=True)
class ServiceDefinition:
    """What the ``motcua`` CLI needs to know about a service (entry point
    ``motcua.services``), without importing its application code."""

    name: str
    title: str
    default_port: int
    app_factory: str
    settings: str
    """``module:Class`` of the service's settings (for ``motcua config``)."""
    cli: str | None = None
    """``module:function(root_app, service_group)`` adding CLI commands."""
    extra_processes: str | None = None
    """``module:function(data_dir) -> list[ProcessSpec]`` for ``motcua up``."""
    links: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """(label, path) pairs ``motcua up`` prints."""


class ServiceRuntime:
    """Database, broker, outbox relay and consumers of one service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations: Path,
        publishes: Sequence[type[EventData]] = (),
        description: str = "",
    ) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.freeze_heap_when_connected = False
        """Set by :func:`serve` (a service's own process): see :func:`freeze_heap`."""
        self.description = description
        self.publishes = tuple(publishes)
        self.migrations = migrations
        self.metrics = ServiceMetrics(self.name)
        self.tracer_provider = create_tracer_provider(self.name, settings.telemetry)
        self.tracer = self.tracer_provider.get_tracer(f"motcua.{self.name}")
        self.database_url = settings.resolved_database_url
        self.engine = create_engine(self.database_url)
        count_statements(self.engine, self.metrics.db_statements)
        self.sessions = create_session_factory(
            self.engine, info={SIGNER: lambda: self.keys}
        )
        self.chain_guard = ChainGuard(lambda: self.keys, settings.signing)
        self.broker = create_broker(settings.kafka, client_id=self.name)
        self.relay = OutboxRelay(
            name=self.name,
            engine=self.engine,
            sessions=self.sessions,
            publish=kafka_publisher(self.broker),
            metrics=self.metrics,
            batch_size=settings.relay_batch_size,
            poll_interval_s=settings.relay_poll_interval_s,
            retention=timedelta(hours=settings.outbox_retention_h),
            probe=broker_probe(settings.kafka),
            check_interval_s=settings.relay_broker_check_interval_s,
        )
        self.sampler = Sampler(
            metrics=self.metrics,
            sessions=self.sessions,
            kafka=settings.kafka,
            interval_s=settings.metrics_sample_interval_s,
            broker_ready=lambda: self.broker_connected,
        )
        self.consumers: list[EventConsumer] = []
        self.extra_topics: list[str] = []
        """Topics this service only produces to, declared at start."""
        self.broker_connected = False
        self.connect_broker = True
        """False: start serves HTTP over the database and never connects to
        the broker (tests: :mod:`motcua.shared.testing.offline`)."""
        self._connect_task: asyncio.Task[None] | None = None
        self._background: list[asyncio.Task[Any]] = []
        self._on_connected: list[Callable[[], Any]] = []
        self._keys: KeyMaterial | None = None

    @property
    def keys(self) -> KeyMaterial:
        """The keystore this process signs and verifies with (opened, and in
        development created, on first use: never at import time)."""
        if self._keys is None:
            self._keys = key_material(self.settings.common, self.settings.signing)
        return self._keys

    # -- wiring ---------------------------------------------------------------

    def add_consumer(
        self,
        handler: EventHandler,
        *,
        topics: Sequence[str],
        group_id: str | None = None,
        description: str = "",
        handles: Iterable[type[EventData]] | None = None,
        checks: Sequence[Check] = (),
    ) -> EventConsumer:
        """Consume ``topics`` in a group named after the service (by default).

        ``handles``: the payload classes (type and version) the handler acts
        on; records of other types are acknowledged without being parsed (much
        cheaper) and counted, a handled type in another version is refused
        (``None``: every registered type). ``checks``: further checks on every
        admitted record (see :mod:`motcua.shared.messaging.admission`).
        """
        consumer = EventConsumer(
            group_id=group_id or self.name,
            topics=topics,
            handler=handler,
            sessions=self.sessions,
            producer=self.name,
            tracer=self.tracer,
            metrics=self.metrics,
            max_attempts=self.settings.consumer_max_attempts,
            on_committed=self.relay.wake,
            handles=handles,
            checks=checks,
            guard=self.chain_guard,
        )
        subscribe(
            self.broker,
            consumer,
            self.settings.kafka,
            batch_size=self.settings.consumer_batch_size,
            description=description,
        )
        self.consumers.append(consumer)
        self.sampler.watch_lag([consumer.group_id], topics)
        return consumer

    def observe_lag(self, groups: Sequence[str]) -> None:
        """Also report the lag of other services' groups (``motcua_consumer_lag``),
        so it is seen while they are down."""
        self.sampler.watch_lag(groups, BUSINESS_TOPICS)

    def add_sampler(self, name: str, sample: Sample) -> None:
        """Refresh a gauge every ``metrics_sample_interval_s`` (not per record)."""
        self.sampler.add(name, sample)

    def run_in_background(self, factory: Callable[[], Any]) -> None:
        """Start a coroutine once the broker is connected (schedulers, workers)."""
        self._on_connected.append(factory)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work for HTTP handlers; outbox rows written in it are
        published right after the commit."""
        async with self.sessions() as session, session.begin():
            yield session
        self.relay.wake()

    # -- lifecycle ------------------------------------------------------------

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name}"

    async def migrate(self) -> None:
        """Upgrade the database to the newest revision this release ships."""
        await migrate(
            self.migrations, self.database_url, version_table=self.version_table
        )

    async def check_schema(self) -> None:
        """Refuse to run on a database another release's migrations left."""
        current, head = await schema_revisions(
            self.migrations, self.database_url, version_table=self.version_table
        )
        if current != head:
            msg = (
                f"the {self.name} database is at revision {current or 'none'}, this "
                f"release needs {head}: run `motcua {self.name} migrate` (the "
                f"migration Job) first"
            )
            raise RuntimeError(msg)

    async def start(self) -> None:
        _ = self.keys.keyring()  # a missing production keystore stops us here
        if self.settings.migrate_on_start:
            await self.migrate()
        else:
            await self.check_schema()
        if not self.connect_broker:
            return
        self.sampler.start()
        self._connect_task = asyncio.create_task(
            self._connect(), name=f"{self.name}-connect"
        )

    async def _connect(self) -> None:
        """Declare topics and start the broker, retrying until it answers."""
        delay = 0.5
        while True:
            try:
                # A bounded attempt: a start that hangs (a connection lost
                # while joining) is retried instead of leaving the service
                # unready for good.
                await asyncio.wait_for(self._connect_once(), _CONNECT_ATTEMPT_S)
            except Exception as exc:
                log.warning("broker_unavailable", error=repr(exc), retry_in_s=delay)
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            break
        self.broker_connected = True
        self.relay.start()
        for factory in self._on_connected:
            self._background.append(asyncio.create_task(factory()))
        for consumer in self.consumers:
            self._background.append(
                asyncio.create_task(
                    self._expire_parked(consumer), name=f"{consumer.group_id}-parked"
                )
            )
        if self.freeze_heap_when_connected:
            freeze_heap()
        log.info(
            "service_started", bootstrap_servers=self.settings.kafka.bootstrap_servers
        )

    async def _expire_parked(self, consumer: EventConsumer) -> None:
        """Dead-letter what a consumer parked longer than ``parked_ttl_s``."""
        ttl = timedelta(seconds=self.settings.parked_ttl_s)
        interval = min(60.0, self.settings.parked_ttl_s / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await consumer.expire_parked(ttl)
            except Exception:  # the next round retries; the service goes on
                log.exception("parked_expiry_failed", consumer=consumer.group_id)

    async def stop(self) -> None:
        await self.sampler.stop()
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connect_task
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Bounded: with the broker gone these wait for requests that never
        # finish. Cutting them short loses nothing: unacknowledged outbox rows
        # stay unpublished, uncommitted offsets are read again and the inbox
        # drops what was already applied.
        if self.broker_connected:
            await _bounded("relay_stop", self.relay.stop())
        await _bounded("broker_stop", self.broker.stop())  # LeaveGroup
        self.broker_connected = False
        self.tracer_provider.shutdown()
        await self.engine.dispose()

    async def _connect_once(self) -> None:
        await declare_topics(
            self.settings.kafka, [*topics_for(self.consumers), *self.extra_topics]
        )
        await self.broker.start()

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(ping(self.engine), 2.0)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        if not self.broker_connected:
            checks["broker"] = "connecting"
        else:
            ok = await self.broker.ping(timeout=2.0)
            checks["broker"] = "ok" if ok else "unavailable"
        # "connecting" is the connect loop's to report (broker_unavailable)
        failed = {k: v for k, v in checks.items() if v not in ("ok", "connecting")}
        if failed:  # what an operator (or a failed test) reads to see why
            log.warning("not_ready", checks=failed)
        return checks

    def asyncapi(self) -> dict[str, Any]:
        return build_asyncapi(
            service=self.name,
            title=f"motcua {self.name}",
            description=self.description,
            version=VERSION,
            bootstrap_servers=self.settings.kafka.bootstrap_servers,
            consumes=[(c.group_id, c.topics) for c in self.consumers],
            publishes=self.publishes,
        )


_ASYNCAPI_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} – AsyncAPI</title><style>body{{font-family:sans-serif;margin:2rem}}
pre{{background:#f6f8fa;padding:1rem;overflow:auto}}</style></head><body>
<h1>{title}</h1><p>AsyncAPI 3.0 document: <a href="/asyncapi.json">/asyncapi.json</a></p>
<h2>Channels</h2><ul>{channels}</ul></body></html>"""


async def _bounded(step: str, work: Awaitable[Any]) -> None:
    try:
        await asyncio.wait_for(work, _SHUTDOWN_STEP_S)
    except TimeoutError:
        log.warning("shutdown_step_timed_out", step=step, after_s=_SHUTDOWN_STEP_S)
    except Exception as exc:  # stopping anyway; say why it was not clean
        log.warning("shutdown_step_failed", step=step, error=repr(exc))


def health_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @router.get(
        "/readyz",
        summary="Readiness: database and broker reachable",
        responses={503: {"description": "Database or broker unreachable"}},
    )
    async def readyz(
        broker: Annotated[
            Literal["required", "optional"],
            Query(
                description="`optional`: ready while the database answers, even "
                "when the broker does not (writes wait in the outbox); what "
                "Kubernetes' readiness probe asks, so a Kafka outage does not "
                "take the HTTP API away."
            ),
        ] = "required",
    ) -> JSONResponse:
        checks = await runtime.readiness()
        deciding = {
            k: v for k, v in checks.items() if k != "broker" or broker == "required"
        }
        ready = all(v == "ok" for v in deciding.values())
        return JSONResponse(
            {
                "status": "ok" if ready else "unavailable",
                "service": runtime.name,
                "checks": checks,
            },
            status_code=200 if ready else 503,
        )

    @router.get(
        "/asyncapi.json", summary="AsyncAPI 3.0 document of this service's events"
    )
    async def asyncapi_json() -> dict[str, Any]:
        return runtime.asyncapi()

    @router.get("/asyncapi", response_class=HTMLResponse, include_in_schema=False)
    async def asyncapi_html() -> str:
        doc = runtime.asyncapi()
        items = "".join(
            f"<li><code>{name}</code>: {', '.join(ch['messages'])}</li>"
            for name, ch in doc["channels"].items()
        )
        return _ASYNCAPI_HTML.format(title=doc["info"]["title"], channels=items)

    return router


class CorrelationMiddleware:
    """Binds the caller's correlation id to the logs of the request and echoes
    it back, with the time the app took (plain ASGI: no extra task per request,
    unlike Starlette's BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        correlation_id = (
            headers.get(b"x-correlation-id") or headers.get(b"x-request-id") or b""
        ).decode("latin-1") or None
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (
                        b"server-timing",
                        f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode(),
                    )
                ]
                if correlation_id:
                    extra.append(
                        (b"x-correlation-id", correlation_id.encode("latin-1"))
                    )
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        with structlog.contextvars.bound_contextvars(
            correlation_id=correlation_id, path=scope.get("path")
        ):
            await self.app(scope, receive, send_with_headers)


def create_http_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    on_startup: Sequence[Callable[[], Any]] = (),
    on_shutdown: Sequence[Callable[[], Any]] = (),
    untraced: Sequence[str] = (),
) -> FastAPI:
    """A service's FastAPI app around its runtime (the shared composition).
    ``untraced``: paths whose requests open no server span (providers'
    callbacks carry no trace context, so each would be a trace of its own,
    one per SMS receipt, at a CPU cost the size of the rest of the call)."""
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        for hook in on_startup:
            await hook()
        try:
            yield
        finally:
            for hook in on_shutdown:
                await hook()
            await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version=VERSION,
        lifespan=lifespan,
        # FastAPI's native telemetry follows the global OpenTelemetry providers,
        # which motcua never sets (its spans are the runtime's, below): off, it
        # is not asked per request whether they were set meanwhile
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    app.state.common_settings = settings.common
    install_error_handlers(app)
    app.include_router(health_router(runtime))
    for router in routers:
        app.include_router(router)
    app.mount("/metrics", make_asgi_app(runtime.metrics.registry))
    Instrumentator(
        excluded_handlers=["/healthz", "/readyz", "/metrics"],
        registry=runtime.metrics.registry,
    ).instrument(app)
    excluded = ("healthz", "readyz", "metrics", *untraced)
    if isinstance(runtime.tracer_provider, ContextTracerProvider):
        app.add_middleware(CorrelationMiddleware)
        # outermost, as the instrumentor's: the span is current in every layer
        app.add_middleware(
            TraceContextMiddleware, tracer=runtime.tracer, excluded=excluded
        )
        return app
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=runtime.tracer_provider,
        excluded_urls=",".join(excluded),
        # one server span per request; the per-message ASGI receive/send spans
        # tripled the tracing cost and said nothing the server span does not
        exclude_spans=["receive", "send"],
    )
    app.add_middleware(CorrelationMiddleware)
    return app


def freeze_heap() -> None:
    """Leave what start-up made (modules, the app, its clients: some 150,000
    objects) out of the cyclic collector's full passes from now on.

    A full pass walks every tracked object: measured in the bench, 0.45-1.4 s
    with the event loop stopped, on a busy machine, every minute or so in
    each service; every dossier passing through then waits that long (the
    tail of submit → notified). Those objects live as long as the process,
    so the passes have nothing to find among them; what is made later is
    still collected as before. Only a service's own process does this (a
    test process runs many apps and would keep what each left)."""
    gc.collect()
    gc.freeze()


def serve(app: FastAPI) -> None:
    """Run one service process (``python -m motcua.<service>``)."""
    runtime: ServiceRuntime = app.state.runtime
    runtime.freeze_heap_when_connected = True
    settings: ServiceSettings = runtime.settings
    configure_logging(
        settings.service_name,
        level=settings.common.log_level,
        json=settings.common.log_json,
    )
    trusted = settings.common.trusted_proxies.strip()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep our structlog configuration
        access_log=False,
        timeout_graceful_shutdown=15,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise:
        # any local caller could then pose as any address.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )
