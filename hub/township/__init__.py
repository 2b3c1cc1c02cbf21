"""The township's work over the unified model (grid-work.md): the eight ledger categories, a grid's
printable ledger, the assessment figures, the quarterly ranking, the random household check and the
grid's public face. CLI (hub.cli.township), API and console call these same functions."""
