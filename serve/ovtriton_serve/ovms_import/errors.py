"""The one error the OVMS import raises."""

from __future__ import annotations


class OvmsImportError(Exception):
    """A ``config.json`` that cannot be converted; the message names the entry and option."""
