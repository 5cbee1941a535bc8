"""Agency names for reports and the console come from the shared registry."""

from __future__ import annotations

from motcua.reporting.agencies import agency_name


def test_agency_names_come_from_the_registry() -> None:
    assert agency_name("000.00.12.H14") == "Trung tâm Phục vụ hành chính công tỉnh Mẫu"
    assert agency_name("999.99.99.X99") == "999.99.99.X99"
    assert agency_name(None) == "Chưa xác định"
