"""Shared-memory region names and keys: the naming scheme and its validation.

A region has a *name* (how requests and the server refer to it) and a *key* (the
POSIX shared-memory object, ``/dev/shm/<key without slash>``). The SDK uses
``key == "/" + name`` and names of the form ``<prefix>_<pid>_<token>_<n>``, so a
region's owning process can be read back from its name: that is how regions left
by a killed process are recognised and reclaimed, and how regions of live
processes and of other naming schemes are left alone.

Names are validated wherever they are generated or accepted (including names the
server reports, before acting on them), and keys are only ever derived from a
valid name: only ``[A-Za-z0-9_.-]``, at most 200 characters, never ``.`` or
``..``, so neither can become a path outside /dev/shm.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid

from ovtriton_client._errors import InvalidInputError

__all__ = [
    "MAX_NAME_LENGTH",
    "RegionNaming",
    "is_valid_region_name",
    "key_for",
    "validate_region_name",
]

MAX_NAME_LENGTH = 200
MAX_PREFIX_LENGTH = 64
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def is_valid_region_name(name: object) -> bool:
    """True when ``name`` is safe as a region name and as a file name in /dev/shm."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_NAME_LENGTH
        and _NAME.fullmatch(name) is not None
        and name not in {".", ".."}
    )


def validate_region_name(name: object) -> str:
    """Return ``name`` if it is a valid region name.

    Raises:
        InvalidInputError: If it is empty, longer than 200 characters, or has characters outside
            ``[A-Za-z0-9_.-]`` (path separators in particular). An empty name is
            refused because the server reads it as "every region".
    """
    if not is_valid_region_name(name):
        raise InvalidInputError(
            f"invalid shared-memory region name {name!r}: use 1-{MAX_NAME_LENGTH} "
            "characters from [A-Za-z0-9_.-]"
        )
    assert isinstance(name, str)
    return name


def key_for(name: str) -> str:
    """The POSIX shared-memory key of region ``name``: ``"/" + name``."""
    return "/" + validate_region_name(name)


class RegionNaming:
    """Generates unique region names ``<prefix>_<pid>_<token>_<n>`` and parses them back.

    Args:
        prefix: Identifies the scheme; 1-64 characters from ``[A-Za-z0-9_.-]``.

    Raises:
        InvalidInputError: If ``prefix`` is not valid.
    """

    def __init__(self, prefix: str = "ovtriton") -> None:
        if not is_valid_region_name(prefix) or len(prefix) > MAX_PREFIX_LENGTH:
            raise InvalidInputError(
                f"invalid shared-memory prefix {prefix!r}: use 1-{MAX_PREFIX_LENGTH} "
                "characters from [A-Za-z0-9_.-]"
            )
        self.prefix = prefix
        # The token keeps names unique across sessions of one process and across
        # reuse of a pid; the counter across regions of one session.
        self._token = uuid.uuid4().hex[:8]
        self._counter = itertools.count()
        self._pattern = re.compile(re.escape(prefix) + r"_(\d{1,10})_[0-9a-f]{8}_\d{1,12}")

    def next_name(self) -> str:
        """A new name owned by the calling process."""
        # os.getpid() at each call, so a forked child never reuses its parent's names.
        return validate_region_name(
            f"{self.prefix}_{os.getpid()}_{self._token}_{next(self._counter)}"
        )

    def owner(self, name: str) -> int | None:
        """The pid encoded in ``name``, or None if ``name`` is not of this scheme."""
        match = self._pattern.fullmatch(name) if is_valid_region_name(name) else None
        return int(match.group(1)) if match else None
