"""CPU cost of sealing and opening a dossier's personal data (ADR 0007).

Intake seals one JWE per entitled service for every reception; notification,
portal and reporting each open theirs. This measures both per dossier (process
CPU time, so other load on the machine matters less than for wall time), with
a reception's usual people: an applicant with every contact, a representative
and a postal address.

    .venv/bin/python bench/personal_data_bench.py --dossiers 5000
"""

from __future__ import annotations

import argparse
import time

import structlog

from motcua.shared.contracts.dossier import Person, PersonalData, PostalAddress
from motcua.shared.personal_data import (
    ENTITLEMENTS,
    PersonalDataAccess,
    PersonalDataKeys,
    PersonalDataSealer,
)

PEOPLE = PersonalData(
    applicant=Person(
        full_name="Nguyễn Thị Lan",
        id_number="001190012345",
        phone="+84912345678",
        email="lan@example.vn",
        address="Thôn 3, xã Kim Long, tỉnh Mẫu",
    ),
    representative=Person(full_name="Trần Văn Bình", phone="+84987654321"),
    postal_address=PostalAddress(
        receiver_name="Nguyễn Thị Lan",
        address="Thôn 3, xã Kim Long, tỉnh Mẫu",
        phone="0912345678",
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=5000)
    n = parser.parse_args().dossiers
    # the audit line is part of the cost; render it nowhere
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())
    keys = PersonalDataKeys.generate()
    sealer = PersonalDataSealer(keys)
    codes = [f"000.01.31.H14-260302-{i % 10000:04d}" for i in range(n)]
    started = time.process_time()
    sealed = [sealer.seal(PEOPLE, dossier_code=code) for code in codes]
    seal_ms = (time.process_time() - started) * 1000 / n
    print(
        f"seal for {len(ENTITLEMENTS)} services (intake): {seal_ms:.3f} ms CPU per dossier"
    )
    size = sum(len(v) for v in sealed[0].values())
    print(f"sealed size: {size} bytes per reception event")
    for service in ENTITLEMENTS:
        access = PersonalDataAccess(service, keys)
        started = time.process_time()
        for code, block in zip(codes, sealed, strict=True):
            access.open(block, dossier_code=code, purpose="bench")
        open_ms = (time.process_time() - started) * 1000 / n
        print(f"open ({service}): {open_ms:.3f} ms CPU per dossier")


if __name__ == "__main__":
    main()
