"""``python -m motcua.notification.simulators sms|postal|smtp [--port N]``."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from motcua.notification.simulators import (
    MAILBOX_PORT,
    POSTAL_PORT,
    SMS_PORT,
    SMTP_PORT,
)
from motcua.notification.simulators.common import SimulatorSettings
from motcua.notification.simulators.mail import create_mail_simulator
from motcua.notification.simulators.postal import create_postal_simulator
from motcua.notification.simulators.sms import create_sms_simulator
from motcua.shared.logging import configure_logging
from motcua.shared.service import freeze_heap


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Provider simulators for motcua notification"
    )
    parser.add_argument("which", choices=["sms", "postal", "smtp"])
    parser.add_argument("--port", type=int, default=None, help="HTTP port")
    parser.add_argument(
        "--smtp-port", type=int, default=SMTP_PORT, help="SMTP port (smtp only)"
    )
    parser.add_argument(
        "--journal",
        type=Path,
        default=None,
        help="Keep what was accepted across restarts in this file (sms only).",
    )
    args = parser.parse_args()
    settings = SimulatorSettings()
    configure_logging(f"{args.which}-simulator")
    if args.which == "sms":
        app = create_sms_simulator(settings, journal=args.journal)
        port = args.port or SMS_PORT
    elif args.which == "postal":
        app, port = create_postal_simulator(settings), args.port or POSTAL_PORT
    else:
        app = create_mail_simulator(settings, smtp_port=args.smtp_port)
        port = args.port or MAILBOX_PORT
    # As a service does (motcua.shared.service.freeze_heap): the bench times
    # the pipeline through these, not their collector's full passes.
    freeze_heap()
    uvicorn.run(app, host=settings.host, port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
