"""A province on one hub: many counties in one store, resolved county by county.

A county's sources are named ``<division code>.<name>`` (``130182.population``): the code is the
county's 6-digit GB/T 2260 division code, so every source record and link knows its county from
its source alone, and the PostgreSQL store partitions its large tables by that code.
"""
