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

import os
import sys
from pathlib import Path

from motcua.shared.service import ProcessSpec

SMS_PORT = 8011
POSTAL_PORT = 8012
SMTP_PORT = 2525
MAILBOX_PORT = 8013


def _port(name: str, default: int) -> int:
    """``MOTCUA_SIMULATOR_<NAME>_PORT``, else the usual port (a second system
    on one machine, e.g. ``motcua chaos --start``, moves them all)."""
    return int(os.environ.get(f"MOTCUA_SIMULATOR_{name}_PORT") or default)


def processes(data_dir: Path) -> list[ProcessSpec]:
    """What ``motcua up`` starts beside the services (the SMS gateway keeps a
    journal in the data folder: a restart neither forgets a message nor the
    delivery receipt it owes)."""
    run = [sys.executable, "-m", "motcua.notification.simulators"]
    sms, postal = _port("SMS", SMS_PORT), _port("POSTAL", POSTAL_PORT)
    smtp, mailbox = _port("SMTP", SMTP_PORT), _port("MAILBOX", MAILBOX_PORT)
    return [
        ProcessSpec(
            name="sms-simulator",
            argv=[
                *run,
                "sms",
                "--port",
                str(sms),
                "--journal",
                str(data_dir / "simulators" / "sms.jsonl"),
            ],
            url=f"http://127.0.0.1:{sms}",
            health_url=f"http://127.0.0.1:{sms}/healthz",
        ),
        ProcessSpec(
            name="postal-simulator",
            argv=[*run, "postal", "--port", str(postal)],
            url=f"http://127.0.0.1:{postal}",
            health_url=f"http://127.0.0.1:{postal}/healthz",
        ),
        ProcessSpec(
            name="smtp-simulator",
            argv=[*run, "smtp", "--port", str(mailbox), "--smtp-port", str(smtp)],
            url=f"http://127.0.0.1:{mailbox}  SMTP 127.0.0.1:{smtp}",
            health_url=f"http://127.0.0.1:{mailbox}/healthz",
        ),
    ]
