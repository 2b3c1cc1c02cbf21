"""Which records and entities name which house: what lets placing follow a change (hub.resolve.placescope)."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base


class AddressEvidence(Base):
    """One record or entity address and the house it names (``<village>|<house>``, village None when unknown).

    Kept by the places step: a changed record's *old* house is read here (its old data is gone), and
    the evidence of one house is re-collected from the rows naming it instead of the whole county.
    ``kind`` is the stream of a record (``households``, ``units``, ``floating-persons``, ``incidents``,
    ``ps:<stream>`` for the address a public-security record names without its grid hint) or the
    entity whose address it is (``person``, ``organization``, ``household``; ``source`` is then "").
    Holds stored keys only (a personal-data key is already a token), never an address in clear.
    """

    __tablename__ = "address_evidence"
    __table_args__ = (Index("ix_address_evidence_house", "house", "village"),)

    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    ref: Mapped[str] = mapped_column(String(160), primary_key=True)
    village: Mapped[str | None] = mapped_column(String(15))
    house: Mapped[str] = mapped_column(String(200))
    #: for a house of no known village: the village it joined at the last pass (the one village with
    #: such a house), None when it stayed a building of its own
    joined: Mapped[str | None] = mapped_column(String(15))
