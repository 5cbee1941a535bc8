"""What a service's container runs (the one ``Dockerfile``).

``python -m motcua.shared.container`` serves the service named by
``MOTCUA_SERVICE`` (the image sets it from its ``SERVICE`` build argument;
only that service is installed in it); ``--health`` instead asks that
service's ``/healthz`` on the port its settings resolve, as the image's
HEALTHCHECK (so an operator who moves the port does not break it).
"""

from __future__ import annotations

import os
import sys
import urllib.request

from motcua.shared.cli.services import installed_services, load_object
from motcua.shared.service import ServiceDefinition, serve
from motcua.shared.settings import ServiceSettings

SERVICE_VARIABLE = "MOTCUA_SERVICE"


def the_service() -> ServiceDefinition:
    """The installed service ``MOTCUA_SERVICE`` names."""
    name = os.environ.get(SERVICE_VARIABLE, "")
    installed = installed_services()
    for service in installed:
        if service.name == name:
            return service
    names = ", ".join(s.name for s in installed) or "none"
    msg = (
        f"{SERVICE_VARIABLE}={name!r} is not an installed service (installed: {names})"
    )
    raise SystemExit(msg)


def healthz_url(service: ServiceDefinition) -> str:
    settings: ServiceSettings = load_object(service.settings)()
    return f"http://127.0.0.1:{settings.http_port}/healthz"


def healthy(service: ServiceDefinition, timeout_s: float = 4.0) -> bool:
    try:
        # (a fixed http URL on the loopback: no user-chosen scheme)
        with urllib.request.urlopen(healthz_url(service), timeout=timeout_s) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    service = the_service()
    if args == ["--health"]:
        return 0 if healthy(service) else 1
    if args:
        msg = "usage: python -m motcua.shared.container [--health]"
        raise SystemExit(msg)
    serve(load_object(service.app_factory)())
    return 0


if __name__ == "__main__":
    sys.exit(main())
