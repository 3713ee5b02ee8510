"""Key files and /dev/shm hygiene shared by the SDK and the front door."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tritonclient.utils import InferenceServerException

import ovtriton_client as ovc
from ovtriton_client._errors import map_error
from ovtriton_client._local import (
    create_shm_file,
    find_admin_key,
    is_loopback,
    is_stale_shm,
    key_file,
    read_local_key,
    remove_local_key,
    runtime_dir,
    write_local_key,
)

KEY = "a-key-of-sixteen-or-more"


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("OVTRITON_ADMIN_KEY", raising=False)
    return tmp_path / "ovtriton"


def test_key_files_round_trip(runtime: Path) -> None:
    path = write_local_key(8000, KEY)
    assert path == runtime / "8000.key" == key_file(8000)
    assert oct(runtime.stat().st_mode & 0o777) == "0o700"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert read_local_key(8000) == KEY and read_local_key(8001) is None
    write_local_key(8000, KEY + "2")  # a newer server on the port replaces it
    remove_local_key(8000, KEY)  # the old one's cleanup leaves the new key alone
    assert read_local_key(8000) == KEY + "2"
    remove_local_key(8000, KEY + "2")
    assert read_local_key(8000) is None


def test_files_open_to_others_are_not_trusted(runtime: Path) -> None:
    path = write_local_key(8000, KEY)
    path.chmod(0o644)
    assert read_local_key(8000) is None
    path.unlink()
    os.symlink("/etc/hostname", path)
    assert read_local_key(8000) is None
    runtime.chmod(0o755)
    with pytest.raises(PermissionError, match="mode 0700"):
        runtime_dir()


def test_find_admin_key(runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_local_key(8000, KEY)
    assert find_admin_key("127.0.0.1:8000")[0] == KEY
    assert find_admin_key("localhost:8000/base")[0] == KEY
    assert find_admin_key("[::1]:8000")[0] == KEY
    key, looked = find_admin_key("10.1.2.3:8000")
    assert key is None and "loopback" in looked
    key, looked = find_admin_key("127.0.0.1:9")
    assert key is None and str(runtime / "9.key") in looked
    monkeypatch.setenv("OVTRITON_ADMIN_KEY", "from-the-environment-1")
    assert find_admin_key("10.1.2.3:8000")[0] == "from-the-environment-1"


def test_loopback() -> None:
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("[::1]")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")


def test_shm_files_are_exclusive_no_follow_and_locked(tmp_path: Path) -> None:
    target = tmp_path / "region"
    fd = create_shm_file(target, 4096)
    try:
        assert target.stat().st_size == 4096 and oct(target.stat().st_mode & 0o777) == "0o600"
        with pytest.raises(FileExistsError):
            create_shm_file(target, 4096)
        # A dead pid, but the lock is held: alive (another PID namespace, say).
        assert not is_stale_shm(target, 2**22 + 7)
    finally:
        os.close(fd)
    assert is_stale_shm(target, 2**22 + 7)
    assert not is_stale_shm(target, os.getpid())
    link = tmp_path / "link"
    os.symlink(tmp_path / "elsewhere", link)
    with pytest.raises(OSError):
        create_shm_file(link, 4096)
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("403", "This API is restricted, expecting header 'ovtriton-admin-key'"),
        (
            "StatusCode.UNAVAILABLE",
            "This protocol is restricted, expecting header "
            "'triton-grpc-protocol-ovtriton-admin-key'",
        ),
    ],
)
def test_a_missing_key_is_its_own_error(status: str, message: str) -> None:
    error = map_error(InferenceServerException(message, status=status))
    assert isinstance(error, ovc.PermissionDeniedError) and isinstance(error, PermissionError)
    assert error.message == message
