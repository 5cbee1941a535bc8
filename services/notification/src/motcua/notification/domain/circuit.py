"""A circuit breaker per provider: stop calling a provider that is down.

Closed: calls flow and consecutive infrastructure failures are counted. At the
threshold the circuit opens: nothing is sent to that provider (notices wait in
the database, none is lost or burns an attempt). After ``reset_after_s`` one
trial call is let through (half-open); its success closes the circuit, its
failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at >= self.reset_after_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def capacity(self, wanted: int) -> int:
        """How many calls may start now: all when closed, one trial when
        half-open and none is running, else none."""
        state = self.state
        if state == CircuitState.CLOSED:
            return wanted
        if state == CircuitState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return min(wanted, 1)
        return 0

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._trial_in_flight or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
        self._trial_in_flight = False

    def release_trial(self) -> None:
        """A granted trial was not used (nothing was due): allow another."""
        self._trial_in_flight = False
