"""The national portal's API through the province's integration platform.

Two credentials, each cached and renewed only when needed (OpenCPS logs in
before every call; the platform and the portal count that against us):

- the platform's OAuth2 token (client credentials, HTTP Basic), kept until
  shortly before it expires or the platform answers 401;
- the portal's session (``POST …/auth``), kept until the portal answers
  ``error_code`` "01"; concurrent calls that see the same expired session log
  in once.

TLS is always verified (``ca_bundle`` adds the province's authorities).
Answers are returned as the portal gives them; a call that got no answer
(network, timeout, HTTP 5xx, the platform down) raises
:class:`PortalUnavailableError`, which the callers retry later.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import structlog
from prometheus_client import CollectorRegistry, Counter

from motcua.portal.outbound import SESSION_EXPIRED

log = structlog.get_logger(__name__)

TOKEN_MARGIN_S = 30.0
"""Renew the platform's token this long before it expires."""


class PortalUnavailableError(Exception):
    """The platform or the portal gave no usable answer (retry later)."""


@dataclass(frozen=True)
class Credentials:
    token_url: str
    client_id: str
    client_secret: str
    adapter_url: str
    username: str
    password: str
    dstcode: str
    madonvi: str


@dataclass(frozen=True)
class Answer:
    error_code: str
    message: str
    body: dict[str, Any]


class ClientMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        kwargs: dict[str, Any] = {"registry": registry}
        self.token_requests = Counter(
            "motcua_portal_token_requests_total",
            "Tokens asked of the integration platform",
            **kwargs,
        )
        self.logins = Counter(
            "motcua_portal_logins_total", "Logins to the national portal", **kwargs
        )
        self.calls = Counter(
            "motcua_portal_calls_total",
            "Calls of the portal's services, by service and error code "
            "(`unavailable`: no answer)",
            ["service", "error_code"],
            **kwargs,
        )


class PortalClient:
    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout_s: float = 10.0,
        ca_bundle: Path | None = None,
        registry: CollectorRegistry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self.metrics = ClientMetrics(registry)
        self._http = httpx.AsyncClient(
            timeout=timeout_s,
            verify=str(ca_bundle) if ca_bundle else True,
            transport=transport,
        )
        self._token: str | None = None
        self._token_expires = 0.0
        self._session: str | None = None
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- credentials ------------------------------------------------------------

    async def _bearer(self) -> str:
        if self._token is None or time.monotonic() >= self._token_expires:
            async with self._lock:
                if self._token is None or time.monotonic() >= self._token_expires:
                    await self._fetch_token()
        assert self._token is not None
        return self._token

    async def _fetch_token(self) -> None:
        c = self.credentials
        self.metrics.token_requests.inc()
        response = await self._post(
            c.token_url,
            data={"grant_type": "client_credentials"},
            auth=(c.client_id, c.client_secret),
        )
        if response.status_code != 200:
            raise PortalUnavailableError(
                f"token endpoint answered HTTP {response.status_code}"
            )
        body = response.json()
        lifetime = float(body.get("expires_in") or 300)
        self._token = str(body["access_token"])
        self._token_expires = time.monotonic() + max(
            lifetime - TOKEN_MARGIN_S, lifetime / 2
        )
        log.info("portal_token_renewed", expires_in_s=lifetime)

    def _drop_token(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _current_session(self) -> str:
        if self._session is None:
            async with self._lock:
                if self._session is None:
                    self._session = await self._login()
        return self._session

    async def _login(self) -> str:
        c = self.credentials
        for _ in range(2):  # once more with a fresh token after a 401
            token = await self._bearer_unlocked()
            self.metrics.logins.inc()
            response = await self._post(
                f"{c.adapter_url}/auth",
                json={"username": c.username, "password": c.password},
                headers=self._headers(token),
            )
            if response.status_code == 401:
                self._drop_token(token)
                continue
            body = self._json(response)
            if body.get("error_code") == "00" and body.get("session"):
                log.info("portal_logged_in")
                return str(body["session"])
            raise PortalUnavailableError(
                f"portal login refused ({body.get('error_code')}): "
                f"{body.get('message', '')}"
            )
        raise PortalUnavailableError("the platform refused its own token")

    async def _bearer_unlocked(self) -> str:
        """:meth:`_bearer` for a caller already holding the lock."""
        if self._token is None or time.monotonic() >= self._token_expires:
            await self._fetch_token()
        assert self._token is not None
        return self._token

    def _drop_session(self, session: str) -> None:
        if self._session == session:
            self._session = None

    # -- calls --------------------------------------------------------------------

    async def call(self, service: str, body: dict[str, Any]) -> Answer:
        """Call one of the portal's services; renews the token on 401 and the
        session on "01", once each."""
        c = self.credentials
        renewed = False
        while True:
            token = await self._bearer()
            session = await self._current_session()
            response = await self._post(
                f"{c.adapter_url}/integration",
                json={
                    "session": session,
                    "madonvi": c.madonvi,
                    "service": service,
                    **body,
                },
                headers=self._headers(token),
                service=service,
            )
            if response.status_code == 401 and not renewed:
                self._drop_token(token)
                renewed = True
                continue
            answer = self._answer(response)
            self.metrics.calls.labels(service, answer.error_code).inc()
            if answer.error_code == SESSION_EXPIRED and not renewed:
                self._drop_session(session)
                renewed = True
                continue
            return answer

    def _answer(self, response: httpx.Response) -> Answer:
        body = self._json(response)
        return Answer(
            error_code=str(body.get("error_code", "")),
            message=str(body.get("message", "")),
            body=body,
        )

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "dstcode": self.credentials.dstcode,
        }

    async def _post(
        self, url: str, *, service: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = await self._http.post(url, **kwargs)
        except httpx.HTTPError as exc:
            self._count_unavailable(service)
            raise PortalUnavailableError(
                f"{type(exc).__name__} calling {url}"
            ) from None
        if response.status_code >= 500:
            self._count_unavailable(service)
            raise PortalUnavailableError(f"HTTP {response.status_code} from {url}")
        return response

    def _count_unavailable(self, service: str | None) -> None:
        if service:
            self.metrics.calls.labels(service, "unavailable").inc()

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise PortalUnavailableError(
                f"HTTP {response.status_code} without a JSON object"
            )
        return body
