"""What a client and a server on the same host share: key files and /dev/shm hygiene.

Both the SDK and ``ovtriton serve`` (its front door) create POSIX shared-memory
files and reclaim the ones their dead owners left; both read or write the
administrative key a local server uses. One module keeps one set of rules for both
(the launcher imports it; the stub side never does).

Admin key files. ``ovtriton serve`` writes the key it uses to
``<runtime dir>/<port>.key`` for its HTTP and gRPC ports, where the runtime dir is
``$XDG_RUNTIME_DIR/ovtriton`` (else ``/tmp/ovtriton-<uid>``): a directory of mode
0700 owned by the user, files of mode 0600. A client of a loopback URL finds the
key there, so a local user's shared memory needs no configuration, while other
users (and remote clients) cannot read it.

Shared-memory files are created exclusively (``O_EXCL``: never an existing file),
without following a symbolic link (``O_NOFOLLOW``), mode 0600, with their pages
reserved; the creator holds a shared ``flock`` on them for as long as it lives.
A file is reclaimed only when provably dead: the pid in its name is not ours and
not running here, *and* nobody holds its lock. The lock is what makes this safe
across PID namespaces (two containers sharing ``/dev/shm``), where a pid in a name
means nothing to the other side.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import stat
from pathlib import Path

__all__ = [
    "ADMIN_GRPC_HEADER",
    "ADMIN_HEADER",
    "ADMIN_KEY_ENV",
    "SHM_ROOT",
    "create_shm_file",
    "find_admin_key",
    "is_loopback",
    "is_stale_shm",
    "key_file",
    "pid_alive",
    "read_local_key",
    "remove_local_key",
    "runtime_dir",
    "shm_locked",
    "valid_admin_key",
    "write_local_key",
]

SHM_ROOT = Path("/dev/shm")
ADMIN_KEY_ENV = "OVTRITON_ADMIN_KEY"
ADMIN_HEADER = "ovtriton-admin-key"
# Triton's --grpc-restricted-protocol prefixes the header name it checks.
ADMIN_GRPC_HEADER = f"triton-grpc-protocol-{ADMIN_HEADER}"
# Printable, no whitespace, and none of ',', ':', '=' that Triton's
# --http-restricted-api=<apis>:<header>=<value> syntax would misread.
_KEY = re.compile(r"[A-Za-z0-9._~+/-]{16,256}")


def valid_admin_key(key: str) -> bool:
    """True for a key Triton's restricted-API flags can carry unambiguously."""
    return _KEY.fullmatch(key) is not None


# -- admin key files -------------------------------------------------------------


def runtime_dir(create: bool = False) -> Path:
    """This user's private directory for ovtriton key files.

    Raises:
        PermissionError: The directory exists but is a symbolic link, is not owned
            by this user, or is open to others (someone else could plant a key).
    """
    base = os.environ.get("XDG_RUNTIME_DIR")
    uid = os.getuid()
    folder = (
        Path(base) / "ovtriton"
        if base and Path(base).is_dir() and Path(base).stat().st_uid == uid
        else Path(f"/tmp/ovtriton-{uid}")
    )
    if create:
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return folder
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
        raise PermissionError(
            f"{folder} must be a directory owned by uid {uid} with mode 0700; remove it"
        )
    return folder


def key_file(port: int) -> Path:
    """Where a local server on ``port`` keeps its admin key."""
    return runtime_dir() / f"{int(port)}.key"


def read_local_key(port: int) -> str | None:
    """The admin key a server of this user on ``port`` wrote, or None."""
    try:
        path = key_file(port)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd) as handle:
        info = os.fstat(handle.fileno())
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None  # not written by our server: never trust it
        key = handle.read().strip()
    return key if valid_admin_key(key) else None


def write_local_key(port: int, key: str) -> Path:
    """Write ``key`` as the local server's on ``port`` (mode 0600), replacing any old one.

    Written under a temporary name and renamed, so a reader never sees half a key.
    """
    folder = runtime_dir(create=True)
    target = folder / f"{int(port)}.key"
    scratch = folder / f".{int(port)}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with contextlib.suppress(FileNotFoundError):
        scratch.unlink()
    fd = os.open(scratch, flags, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    os.replace(scratch, target)
    return target


def remove_local_key(port: int, key: str) -> None:
    """Remove the key file of ``port`` if it still holds ``key`` (not a newer server's)."""
    if read_local_key(port) == key:
        with contextlib.suppress(OSError):
            key_file(port).unlink()


def find_admin_key(address: str) -> tuple[str | None, str]:
    """The key a client of ``address`` (``host:port[/path]``) can use without being told.

    ``$OVTRITON_ADMIN_KEY`` first; else, for a loopback address, the key file a local
    ``ovtriton serve`` of this user wrote for that port.

    Returns:
        The key or None, and where it was looked for (for error messages).
    """
    if os.environ.get(ADMIN_KEY_ENV):
        return os.environ[ADMIN_KEY_ENV].strip(), f"${ADMIN_KEY_ENV}"
    host, _, port = address.split("/", 1)[0].rpartition(":")
    if not (port.isdigit() and is_loopback(host)):
        return None, f"${ADMIN_KEY_ENV} (unset; key files are used for loopback URLs only)"
    try:
        where = str(key_file(int(port)))
    except PermissionError as error:
        return None, str(error)
    return read_local_key(int(port)), f"${ADMIN_KEY_ENV} (unset) and {where}"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.x``, ``::1``)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- shared-memory files ---------------------------------------------------------


def create_shm_file(path: Path, size: int) -> int:
    """Create ``path`` exclusively, reserve ``size`` bytes, lock it; return its fd.

    The caller keeps the fd open for the file's lifetime: the shared lock tells
    :func:`is_stale_shm` in other processes that the owner is alive.

    Raises:
        OSError: The file exists (even as a symbolic link), or the space cannot be
            reserved (a full ``/dev/shm`` fails here, not as SIGBUS later); nothing
            is left behind.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    return fd


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs here (a zombie has released its files: dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # cannot tell: assume alive
    return state != "Z"


def shm_locked(path: Path) -> bool:
    """True when a live process holds ``path``'s lock (or it cannot be checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def is_stale_shm(path: Path, pid: int) -> bool:
    """Whether the shm file ``path``, named after owner ``pid``, is provably dead."""
    return pid != os.getpid() and not pid_alive(pid) and not shm_locked(path)
