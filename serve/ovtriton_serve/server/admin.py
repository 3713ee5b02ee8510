"""The administrative key: which APIs need it, how Triton is told, where it comes from.

Triton restricts API categories to requests carrying a header (HTTP
``--http-restricted-api``, gRPC ``--grpc-restricted-protocol`` in 2.51). ovtriton
restricts everything but health, metadata, model configuration (read-only in
Triton's API) and inference, under the header :data:`HEADER`; gRPC clients send it
as the metadata key :data:`GRPC_HEADER` (Triton prefixes the name).

The front door applies the same rule on its own port, default-deny: a path it does
not recognise as open needs the key, and the header is relayed to Triton only on a
request that needs it and carries it right, so Triton re-checks every request the
front door lets through. Pure logic, apart from reading the key file.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ovtriton_client._local import ADMIN_GRPC_HEADER, ADMIN_HEADER, ADMIN_KEY_ENV, valid_admin_key

__all__ = [
    "ADMIN_KEY_ENV",
    "GRPC_HEADER",
    "HEADER",
    "OPEN_CATEGORIES",
    "RESTRICTED",
    "AdminKey",
    "AdminKeyError",
    "category",
    "load_admin_key",
    "triton_arguments",
]

HEADER = ADMIN_HEADER
GRPC_HEADER = ADMIN_GRPC_HEADER
# Triton 2.51's categories (tritonserver --help); these need the key.
RESTRICTED = ("model-repository", "shared-memory", "logging", "trace", "statistics")
OPEN_CATEGORIES = ("health", "metadata", "model-config", "inference")

_MODEL = r"/v2/models/[^/]+(?:/versions/[^/]+)?"
# The only paths open without the key, as Triton's HTTP server routes them.
_OPEN = (
    (re.compile(r"/v2/health/(?:live|ready)"), "health"),
    (re.compile(rf"{_MODEL}/ready"), "health"),
    (re.compile(r"/v2/?"), "metadata"),
    (re.compile(rf"{_MODEL}/config"), "model-config"),
    (re.compile(rf"{_MODEL}/(?:infer|generate|generate_stream)"), "inference"),
    (re.compile(_MODEL), "metadata"),
)
# Paths that look like model metadata but that Triton routes elsewhere.
_NOT_A_MODEL = re.compile(r"/v2/models/(?:stats|trace)(?:/.*)?")


def category(path: str) -> str:
    """Triton's API category of an HTTP request path (query string allowed).

    Anything that is not one of the open paths is ``"restricted"``: unknown paths
    need the key too, so a routing difference can only refuse, never open.
    """
    path = path.split("?", 1)[0]
    if _NOT_A_MODEL.fullmatch(path):
        return "restricted"
    for pattern, name in _OPEN:
        if pattern.fullmatch(path):
            return name
    return "restricted"


class AdminKeyError(ValueError):
    """The configured key cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class AdminKey:
    """The key in force, and where it came from (for the startup message)."""

    value: str
    source: str

    def matches(self, presented: str | None) -> bool:
        """Constant-time comparison with a presented header value."""
        return presented is not None and hmac.compare_digest(
            presented.encode("utf-8", "replace"), self.value.encode()
        )

    @property
    def generated(self) -> bool:
        """True when ``ovtriton serve`` made the key up (no operator key was given)."""
        return self.source == "generated"


def load_admin_key(path: Path | None, environ: Mapping[str, str] = os.environ) -> AdminKey:
    """The key from ``path``, else ``$OVTRITON_ADMIN_KEY``, else a new random one.

    Raises:
        AdminKeyError: The file is missing, unreadable, readable by every user, or
            the key is not 16-256 characters from ``[A-Za-z0-9._~+/-]``.
    """
    if path is not None:
        try:
            info = path.stat()
            text = path.read_text()
        except OSError as error:
            raise AdminKeyError(f"cannot read --admin-key-file {path}: {error.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise AdminKeyError(f"--admin-key-file {path} is not a regular file")
        if info.st_mode & (stat.S_IROTH | stat.S_IWOTH):
            raise AdminKeyError(
                f"--admin-key-file {path} is readable or writable by every user "
                f"(mode {stat.S_IMODE(info.st_mode):o}); run: chmod 600 {path}"
            )
        return _checked(text.strip(), f"--admin-key-file {path}")
    if environ.get(ADMIN_KEY_ENV):
        return _checked(environ[ADMIN_KEY_ENV].strip(), f"${ADMIN_KEY_ENV}")
    return AdminKey(secrets.token_urlsafe(32), "generated")


def _checked(value: str, source: str) -> AdminKey:
    if not valid_admin_key(value):
        raise AdminKeyError(
            f"the admin key in {source} must be 16-256 characters from [A-Za-z0-9._~+/-]"
        )
    return AdminKey(value, source)


def triton_arguments(key: str) -> list[str]:
    """Tritonserver flags restricting :data:`RESTRICTED` to holders of ``key``."""
    apis = ",".join(RESTRICTED)
    return [
        f"--http-restricted-api={apis}:{HEADER}={key}",
        f"--grpc-restricted-protocol={apis}:{HEADER}={key}",
    ]
