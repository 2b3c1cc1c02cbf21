"""Columns the gate adds to landing files beside the contract's canonical ones.

Its own module so the gate and the GX suite it runs (``expectations``) both read the names without
importing each other: the gate calls the suite, never the other way round.
"""

from __future__ import annotations

KEY = "_source_key"  # the record's source key
FIELDS = "_fields"  # a valid row's withheld fields: [{column, reasons}] as JSON, null when none
RAW = "_raw"  # the raw row as JSON: every quarantined row, and a valid row with a withheld field
