"""Agencies and their hierarchy: one source of truth for intake and routing (pure).

Codes follow QCVN 102:2016/BTTTT electronic identifiers (mã định danh điện
tử), e.g. ``000.00.12.H14``: four groups from the lowest unit to the province
code. The registry holds both hierarchies: the three-level one (province,
district, commune) valid until 30/6/2025 and the two-level one (province,
commune) since 1/7/2025; each agency has a validity range and, when it was
merged away, its successor.

An agency can fill several roles (``types``): a legacy commune People's
Committee was also its own one-stop desk. Types used by the procedure
catalogue's workflows:

==========================  =====================================================
``one_stop_centre``         receives and returns dossiers (TTPVHCC, Bộ phận một cửa)
``peoples_committee``       Ủy ban nhân dân (commune, district, province)
``justice``                 Sở Tư pháp / Phòng Tư pháp
``police``                  Công an tỉnh / Công an xã (residence)
``social_security``         Bảo hiểm xã hội (health-insurance cards, benefits)
``agriculture_environment`` Sở Nông nghiệp và Môi trường / Phòng TN&MT
``land_registry``           Văn phòng Đăng ký đất đai and its branches
``home_affairs``            Sở Nội vụ
``health``                  Sở Y tế
``finance``                 Sở Tài chính
``construction``            Sở Xây dựng
==========================  =====================================================
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path

from motcua.shared.contracts.common import AgencyLevel

CODE_PATTERN = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
TWO_LEVEL_SINCE = date(2025, 7, 1)
"""Districts were abolished on this day (two-level local government)."""


class UnknownAgencyError(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(f"Không tìm thấy cơ quan có mã {code}.")
        self.code = code


def is_valid_code(code: str) -> bool:
    """Shape of a QCVN 102 e-ID code (``ddd.dd.dd.Xdd``)."""
    return bool(CODE_PATTERN.match(code))


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    level: AgencyLevel
    types: frozenset[str]
    parent_code: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    successor_code: str | None = None
    address: str = ""

    @property
    def province_code(self) -> str:
        return self.code.rsplit(".", 1)[-1]

    def active_on(self, day: date) -> bool:
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_until and day > self.valid_until)

    def has_type(self, agency_type: str) -> bool:
        return agency_type in self.types


class AgencyRegistry:
    """Lookups over a fixed set of agencies."""

    def __init__(self, agencies: Iterable[Agency]) -> None:
        self._by_code: dict[str, Agency] = {}
        for agency in agencies:
            if agency.code in self._by_code:
                msg = f"agency code {agency.code} appears twice"
                raise ValueError(msg)
            if not is_valid_code(agency.code):
                msg = f"agency code {agency.code} is not a QCVN 102 e-ID"
                raise ValueError(msg)
            self._by_code[agency.code] = agency
        for agency in self._by_code.values():
            for ref in (agency.parent_code, agency.successor_code):
                if ref and ref not in self._by_code:
                    msg = f"{agency.code} refers to unknown agency {ref}"
                    raise ValueError(msg)

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def find(self, code: str) -> Agency | None:
        return self._by_code.get(code)

    def get(self, code: str) -> Agency:
        agency = self._by_code.get(code)
        if agency is None:
            raise UnknownAgencyError(code)
        return agency

    def active(self, on: date) -> list[Agency]:
        return [a for a in self._by_code.values() if a.active_on(on)]

    def children(self, code: str) -> list[Agency]:
        return [a for a in self._by_code.values() if a.parent_code == code]

    def ancestors(self, code: str) -> list[Agency]:
        """Parents from nearest to the top, excluding the agency itself."""
        chain: list[Agency] = []
        current = self.get(code)
        while current.parent_code:
            current = self.get(current.parent_code)
            chain.append(current)
        return chain

    def area_of(self, code: str) -> Agency:
        """The People's Committee whose area an agency serves (itself if it is one)."""
        agency = self.get(code)
        for candidate in (agency, *self.ancestors(code)):
            if candidate.has_type("peoples_committee"):
                return candidate
        return agency

    def current(self, code: str, on: date) -> Agency:
        """The agency that does ``code``'s job on ``on``, following mergers."""
        agency = self.get(code)
        seen = {agency.code}
        while not agency.active_on(on) and agency.successor_code:
            agency = self.get(agency.successor_code)
            if agency.code in seen:
                msg = f"successor loop at {agency.code}"
                raise ValueError(msg)
            seen.add(agency.code)
        return agency

    def resolve(self, agency_type: str, *, near: str, on: date) -> Agency | None:
        """The active agency of ``agency_type`` competent for a dossier filed at
        ``near``: first within the same area (commune or district), then up the
        hierarchy to the province. Dossiers may be filed anywhere in the
        province, so the search never crosses into another province."""
        start = self.current(near, on)
        areas = [self.area_of(start.code)]
        areas += [
            a for a in self.ancestors(areas[0].code) if a.has_type("peoples_committee")
        ]
        for area in areas:
            found = self._of_type_in_area(agency_type, area, on)
            if found is not None:
                return found
        return None

    def _of_type_in_area(
        self, agency_type: str, area: Agency, on: date
    ) -> Agency | None:
        candidates = [
            a
            for a in self._by_code.values()
            if a.active_on(on)
            and a.has_type(agency_type)
            and (a.code == area.code or self.area_of(a.code).code == area.code)
        ]
        # The committee itself last: a specialised body of the area comes first.
        candidates.sort(key=lambda a: (a.code == area.code, a.code))
        return candidates[0] if candidates else None

    def one_stop_centre_for(self, code: str, on: date) -> Agency | None:
        """Where dossiers for ``code``'s area are received and returned."""
        return self.resolve("one_stop_centre", near=code, on=on)


def _parse_date(value: object) -> date | None:
    if value in (None, ""):
        return None
    return date.fromisoformat(str(value))


def read_agencies(path: Path) -> AgencyRegistry:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    agencies = [
        Agency(
            code=item["code"],
            name=item["name"],
            level=AgencyLevel(item["level"]),
            types=frozenset(item.get("types", [])),
            parent_code=item.get("parent") or None,
            valid_from=_parse_date(item.get("valid_from")),
            valid_until=_parse_date(item.get("valid_until")),
            successor_code=item.get("successor") or None,
            address=item.get("address", ""),
        )
        for item in data["agencies"]
    ]
    return AgencyRegistry(agencies)


def default_agencies_path() -> Path:
    return Path(str(resources.files("motcua.shared") / "data" / "agencies.toml"))


@cache
def load_registry(path: Path | None = None) -> AgencyRegistry:
    """The registry every service uses (the demo province unless configured)."""
    return read_agencies(path or default_agencies_path())
