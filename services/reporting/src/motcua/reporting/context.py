"""What reporting's routes share (kept on ``app.state.reporting``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from motcua.reporting.settings import ReportingSettings
from motcua.shared.errors import ApiError
from motcua.shared.personal_data import PersonalDataAccess, load_keys
from motcua.shared.service import ServiceRuntime

_TOO_MANY = ApiError(
    429,
    "too_many_requests",
    "Bạn đã tra cứu quá nhiều lần, vui lòng thử lại sau ít phút.",
)


@dataclass
class PublicLimits:
    """In-process moving-window limits on the public endpoints (one process;
    put a shared store behind ``limits`` when running several).

    Every request counts against its client address. Only *wrong* ID numbers
    count against a dossier code: per client address and code (a guesser is
    stopped without locking the citizen out, who asks from another address),
    and, with a higher ceiling, per code from all addresses together.
    """

    per_client: list[RateLimitItem]
    per_client_and_code: list[RateLimitItem]
    per_code: list[RateLimitItem]
    limiter: MovingWindowRateLimiter = field(
        default_factory=lambda: MovingWindowRateLimiter(MemoryStorage())
    )

    def admit(self, client: str, code: str) -> None:
        """Count the request; refuse it if the client or the code is over a limit."""
        allowed = [self.limiter.hit(item, "client", client) for item in self.per_client]
        allowed += [
            self.limiter.test(item, "guess", client, code)
            for item in self.per_client_and_code
        ]
        allowed += [self.limiter.test(item, "code", code) for item in self.per_code]
        if not all(allowed):
            raise _TOO_MANY

    def wrong_id_number(self, client: str, code: str) -> None:
        """A lookup of ``code`` gave a wrong ID number (or the code is unknown)."""
        for item in self.per_client_and_code:
            self.limiter.hit(item, "guess", client, code)
        for item in self.per_code:
            self.limiter.hit(item, "code", code)


@dataclass
class ReportingContext:
    settings: ReportingSettings
    runtime: ServiceRuntime
    access: PersonalDataAccess
    """Reporting's path to personal data: the lookup digest (ADR 0007)."""
    limits: PublicLimits

    @classmethod
    def create(
        cls, settings: ReportingSettings, runtime: ServiceRuntime
    ) -> ReportingContext:
        return cls(
            settings=settings,
            runtime=runtime,
            access=PersonalDataAccess(
                settings.service_name, load_keys(settings.common)
            ),
            limits=PublicLimits(
                per_client=parse_many(settings.public_rate_limit),
                per_client_and_code=parse_many(settings.public_code_rate_limit),
                per_code=parse_many(settings.public_code_guess_limit),
            ),
        )


async def reporting(request: Request) -> ReportingContext:  # async: no thread hop
    context: ReportingContext = request.app.state.reporting
    return context
