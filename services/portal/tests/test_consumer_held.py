"""The portal consumer keeps a dossier's last record for one transaction: a
savepoint's release keeps it, a savepoint's rollback and the end of the
transaction forget it (the next transaction may follow another instance's
writes)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.portal import consumer


def test_the_held_records_live_for_one_transaction() -> None:
    engine = sa.create_engine("sqlite://")
    with Session(engine) as session:
        session.begin()
        session.info[consumer._HELD] = {"code": None}
        session.begin_nested().commit()
        assert consumer._HELD in session.info
        session.begin_nested().rollback()
        assert consumer._HELD not in session.info
        session.info[consumer._HELD] = {"code": None}
        session.commit()
        assert consumer._HELD not in session.info
