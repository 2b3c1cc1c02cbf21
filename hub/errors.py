"""Errors a user sees as one line: what went wrong and where, never a traceback."""


class HubError(Exception):
    """A failure the user can act on; the CLI prints `str(err)` and exits non-zero."""

    exit_code = 1


class ConfigError(HubError):
    """The hub.yaml (or an environment override) is missing or invalid."""

    exit_code = 2


class SourceError(HubError):
    """A department system is unreachable, refuses credentials, or sends unreadable data."""


class SchemaDriftError(HubError):
    """A source's columns no longer match its contract: the run stops before loading."""


class LedgerMismatchError(HubError):
    """A run's ledger does not balance: rows read != loaded + unchanged + quarantined + tombstoned."""
