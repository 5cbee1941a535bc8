"""Local stand-ins for the providers, for ``motcua up``, tests and demos.

- SMS gateway on 127.0.0.1:8011: accepts brand-name SMS (Basic auth,
  Idempotency-Key), answers 202, sends a signed delivery receipt after a delay.
- Postal operator on 127.0.0.1:8012: accepts orders (bearer token,
  Idempotency-Key) with status "100", then calls back accepted → delivered.
- SMTP server on 127.0.0.1:2525 (aiosmtpd), its mailbox on http://127.0.0.1:8013.

Each can fail a configurable fraction of requests and be steered over
``POST /api/control`` (outage, failures, delays); each lists what it received
as JSON under ``/api/...`` and as a small page under ``/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from motcua.shared.service import ProcessSpec

SMS_PORT = 8011
POSTAL_PORT = 8012
SMTP_PORT = 2525
MAILBOX_PORT = 8013


def processes(data_dir: Path) -> list[ProcessSpec]:  # noqa: ARG001  (no state on disk)
    """What ``motcua up`` starts beside the services."""
    run = [sys.executable, "-m", "motcua.notification.simulators"]
    return [
        ProcessSpec(
            name="sms-simulator",
            argv=[*run, "sms"],
            url=f"http://127.0.0.1:{SMS_PORT}",
            health_url=f"http://127.0.0.1:{SMS_PORT}/healthz",
        ),
        ProcessSpec(
            name="postal-simulator",
            argv=[*run, "postal"],
            url=f"http://127.0.0.1:{POSTAL_PORT}",
            health_url=f"http://127.0.0.1:{POSTAL_PORT}/healthz",
        ),
        ProcessSpec(
            name="smtp-simulator",
            argv=[*run, "smtp"],
            url=f"http://127.0.0.1:{MAILBOX_PORT}  SMTP 127.0.0.1:{SMTP_PORT}",
            health_url=f"http://127.0.0.1:{MAILBOX_PORT}/healthz",
        ),
    ]
