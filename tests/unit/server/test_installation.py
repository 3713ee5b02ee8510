"""The backend directory `ovtriton serve` assembles, and the container's copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovtriton_serve.server.installation import find_installation, install_backend
from tests.support.dockerfile import final_stage, lay_out_backend

ROOT = Path(__file__).resolve().parents[3]


def files_under(folder: Path) -> set[str]:
    return {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def dockerfile_layout() -> set[str]:
    """Files the Dockerfile's COPY lines put into the container's backend folder."""
    layout: set[str] = set()
    for source, relative in final_stage().backend_copies:
        source_path = ROOT / source
        if source_path.is_dir():
            layout |= {f"{relative}/{f}" for f in files_under(source_path)}
        else:
            layout.add(relative)
    return layout


def test_dockerfile_copies_what_serve_assembles(tmp_path: Path) -> None:
    assembled = files_under(install_backend(tmp_path / "ovtriton"))
    assert "model.py" in assembled and "ovtriton/runtime/engine.py" in assembled
    assert dockerfile_layout() == assembled


def test_dockerfile_runs_unprivileged() -> None:
    assert final_stage().user not in ("root", "0")


def test_an_installed_container_backend_is_what_serve_copies(tmp_path: Path) -> None:
    """In the container, serve copies /opt/tritonserver/backends/ovtriton (the COPY lines)."""
    import shutil

    wheel = find_installation()
    root = tmp_path / "tritonserver"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(wheel.server, root / "bin" / "tritonserver")
    shutil.copytree(wheel.python_backend, root / "backends" / "python")
    shutil.copy2(wheel.stub, root / "backends" / "python" / "triton_python_backend_stub")
    installed = lay_out_backend(final_stage(), root / "backends" / "ovtriton")
    (installed / "container-marker").write_text("from the image")
    installation = find_installation(root / "bin" / "tritonserver")
    assert installation.ovtriton_backend == installed
    backends = installation.backend_directory(tmp_path / "assembled")
    assert (backends / "ovtriton" / "container-marker").read_text() == "from the image"
    assert files_under(backends / "ovtriton") - {"container-marker"} == dockerfile_layout()


def test_wheel_backend_directory_has_python_backend_and_ovtriton(tmp_path: Path) -> None:
    installation = find_installation()
    backends = installation.backend_directory(tmp_path / "backends")
    python = backends / "python"
    assert (python / "libtriton_python.so").is_file()
    assert not (python / "libtriton_python.so").is_symlink()  # Triton refuses escaping links
    assert (python / "triton_python_backend_stub").is_file()
    assert (backends / "ovtriton" / "model.py").is_file()


def test_environment_puts_this_python_first(tmp_path: Path) -> None:
    import sys

    env = find_installation().environment({"PATH": "/usr/bin"})
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert "nvidia_pytriton.libs" in env["LD_LIBRARY_PATH"]


def test_missing_server_binary_is_reported(tmp_path: Path) -> None:
    from ovtriton_serve.server.installation import InstallationError

    with pytest.raises(InstallationError, match="not found"):
        find_installation(tmp_path / "bin" / "tritonserver")


def test_copied_backend_tree_holds_only_the_stub_side(tmp_path: Path) -> None:
    """The stub imports rules and runtime; the launcher (ovtriton_serve) never enters it."""
    import ast

    backend = install_backend(tmp_path / "ovtriton")
    imported: set[str] = set()
    for path in backend.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    outside = ("ovtriton_serve", "ovtriton_client")
    launcher = sorted(m for m in imported if m.split(".")[0] in outside)
    assert launcher == [], f"the stub side imports the launcher side: {launcher}"
    assert not (backend / "ovtriton" / "server").exists()
    assert not (backend / "ovtriton" / "cli").exists()


def test_extra_backend_is_copied_beside_python_and_ovtriton(tmp_path: Path) -> None:
    import dataclasses

    from ovtriton_serve.server.installation import check_extra_backend

    peer = tmp_path / "peer" / "openvino"
    peer.mkdir(parents=True)
    (peer / "libtriton_openvino.so").write_bytes(b"\x7fELF")
    installation = dataclasses.replace(
        find_installation(), extra_backends=(check_extra_backend(peer),)
    )
    backends = installation.backend_directory(tmp_path / "backends")
    copied = backends / "openvino" / "libtriton_openvino.so"
    assert copied.read_bytes() == b"\x7fELF"
    assert not copied.is_symlink()  # Triton refuses a library resolving outside the folder
    assert (backends / "ovtriton" / "model.py").is_file()


def test_default_installation_has_no_extra_backend(tmp_path: Path) -> None:
    backends = find_installation().backend_directory(tmp_path / "backends")
    assert sorted(p.name for p in backends.iterdir()) == ["ovtriton", "python"]


@pytest.mark.parametrize("name", ["python", "ovtriton"])
def test_extra_backend_may_not_replace_ours(tmp_path: Path, name: str) -> None:
    from ovtriton_serve.server.installation import InstallationError, check_extra_backend

    (tmp_path / name).mkdir()
    with pytest.raises(InstallationError, match=f"replace the {name} backend"):
        check_extra_backend(tmp_path / name)
    with pytest.raises(InstallationError, match="is not a folder"):
        check_extra_backend(tmp_path / "missing")
