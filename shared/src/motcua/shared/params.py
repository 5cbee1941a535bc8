"""Query and path parameter types the HTTP APIs share.

Dates far outside any dossier's life (year 1, year 9999) are refused with a
Vietnamese 422 before they reach arithmetic that would overflow (a day in
Vietnam time converted to UTC, a period's next day).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final

from pydantic import Field

FIRST_DAY: Final = date(1900, 1, 1)
LAST_DAY: Final = date(2100, 12, 31)

BusinessDate = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
"""A calendar day a dossier could have lived: 1900-01-01 to 2100-12-31."""
