"""The chain state of every dossier a service knows (in every service's
database, like the outbox and inbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from motcua.shared.db import UTCDateTime, utcnow


class ChainRow(SQLModel, table=True):
    """A dossier's chain as this service knows it (``ChainState`` as JSON)."""

    __tablename__ = "signing_chain"

    dossier_code: str = Field(primary_key=True, max_length=64)
    state: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    version: int = Field(default=0)
    """Bumped at every change; checkpoints remember the version they signed."""
    checkpointed_version: int = Field(default=0, index=True)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime, nullable=False)
    )


class CheckpointRow(SQLModel, table=True):
    """A signed checkpoint (written by reporting, the checkpointer)."""

    __tablename__ = "signing_checkpoint"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    digest: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    """The checkpoint as JSON, leaves and signature included."""


SIGNING_TABLES = frozenset({"signing_chain", "signing_checkpoint"})


def create_signing_tables(op: Any) -> None:
    op.create_table(
        "signing_chain",
        sa.Column("dossier_code", sa.String(length=64), primary_key=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checkpointed_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_signing_chain_checkpointed_version",
        "signing_chain",
        ["checkpointed_version"],
    )
    op.create_table(
        "signing_checkpoint",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )


def drop_signing_tables(op: Any) -> None:
    op.drop_table("signing_checkpoint")
    op.drop_index("ix_signing_chain_checkpointed_version", table_name="signing_chain")
    op.drop_table("signing_chain")
