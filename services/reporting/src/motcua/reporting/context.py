"""What reporting's routes share (kept on ``app.state.reporting``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from motcua.reporting.facts import IdHasher
from motcua.reporting.lookup import id_hasher
from motcua.reporting.settings import ReportingSettings
from motcua.shared.errors import ApiError
from motcua.shared.service import ServiceRuntime


@dataclass
class PublicLimits:
    """In-process moving-window limits on the public endpoints, per client
    address and per dossier code (one process; put a shared store behind
    ``limits`` when running several)."""

    per_client: list[RateLimitItem]
    per_code: list[RateLimitItem]
    limiter: MovingWindowRateLimiter = field(
        default_factory=lambda: MovingWindowRateLimiter(MemoryStorage())
    )

    def check(self, client: str, code: str) -> None:
        hits = [(item, "client", client) for item in self.per_client] + [
            (item, "code", code) for item in self.per_code
        ]
        allowed = [self.limiter.hit(item, kind, key) for item, kind, key in hits]
        if not all(allowed):
            raise ApiError(
                429,
                "too_many_requests",
                "Bạn đã tra cứu quá nhiều lần, vui lòng thử lại sau ít phút.",
            )


@dataclass
class ReportingContext:
    settings: ReportingSettings
    runtime: ServiceRuntime
    hash_id: IdHasher
    limits: PublicLimits

    @classmethod
    def create(
        cls, settings: ReportingSettings, runtime: ServiceRuntime
    ) -> ReportingContext:
        return cls(
            settings=settings,
            runtime=runtime,
            hash_id=id_hasher(settings.lookup_secret.get_secret_value().encode()),
            limits=PublicLimits(
                per_client=parse_many(settings.public_rate_limit),
                per_code=parse_many(settings.public_code_rate_limit),
            ),
        )


def reporting(request: Request) -> ReportingContext:
    context: ReportingContext = request.app.state.reporting
    return context
