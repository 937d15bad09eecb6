"""Errors that carry a message an operator can act on (printed as one line by the CLI)."""


class GovkpiError(Exception):
    """Base class: the message says what failed, where, and what to do."""


class ConfigError(GovkpiError):
    """A required setting is missing or invalid."""


class WarehouseUnreachable(GovkpiError):
    """The PostgreSQL warehouse does not answer."""


class SourceError(GovkpiError):
    """A source system failed in a way retries did not fix."""


class GateFailed(GovkpiError):
    """The quality gate found CRITICAL failures: nothing may be published."""
