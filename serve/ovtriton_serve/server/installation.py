"""Where Triton lives and how to lay out a backend directory for it.

Two installations are supported: the Triton 2.51 build inside the
``nvidia-pytriton`` wheel (developer machines, CI) and NVIDIA's container
(``/opt/tritonserver``). Either way the backend directory holds Triton's Python
backend in ``python/`` and ovtriton in ``ovtriton/`` (``model.py`` plus the
``ovtriton`` package beside it), the same layout ``docker/Dockerfile`` copies.
Extra backends (``ovtriton serve --extra-backend DIR``, e.g. Triton's C++ OpenVINO
backend for a side-by-side benchmark) are copied in beside them; by default there
are none.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import ovtriton

CONTAINER_ROOT = Path("/opt/tritonserver")
PYTHON_BACKEND_FILES = ("libtriton_python.so", "triton_python_backend_utils.py")
STUB_NAME = "triton_python_backend_stub"
# The stub side: the ``ovtriton`` package, whose ``model.py`` is Triton's entry point.
STUB_PACKAGE = Path(ovtriton.__file__).resolve().parent


class InstallationError(RuntimeError):
    """Triton or one of its parts cannot be found."""


@dataclass(frozen=True)
class TritonInstallation:
    """A tritonserver binary and the Python backend files that go with it."""

    server: Path
    python_backend: Path
    stub: Path
    library_dirs: tuple[Path, ...]
    # The container's installed ovtriton backend (``<root>/backends/ovtriton``, laid out by
    # docker/Dockerfile), used instead of this interpreter's package when present.
    ovtriton_backend: Path | None = None
    extra_backends: tuple[Path, ...] = field(default=())

    def backend_directory(self, target: Path) -> Path:
        """Assemble ``target/{python,ovtriton}`` (plus any extra backend) and return ``target``.

        ``libtriton_python.so`` is copied, not linked: Triton refuses a backend
        library that resolves outside the backend directory.
        """
        python_dir = target / "python"
        python_dir.mkdir(parents=True, exist_ok=True)
        for name in PYTHON_BACKEND_FILES:
            shutil.copy2(self.python_backend / name, python_dir / name)
        shutil.copy2(self.stub, python_dir / STUB_NAME)
        if self.ovtriton_backend is None:
            install_backend(target / "ovtriton")
        else:
            _copy_tree(self.ovtriton_backend, target / "ovtriton")
        for backend in self.extra_backends:
            _copy_tree(backend, target / backend.name)
        return target

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment tritonserver and its Python stubs need.

        The stub runs the first ``python3`` on ``PATH`` (so this interpreter's
        ``bin`` goes first) and links ``libpython3.X.so`` from the interpreter's
        ``LIBDIR``.
        """
        env = dict(os.environ if base is None else base)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        libdirs = [str(d) for d in self.library_dirs]
        libdir = sysconfig.get_config_var("LIBDIR")
        if libdir:
            libdirs.append(libdir)
        if env.get("LD_LIBRARY_PATH"):
            libdirs.append(env["LD_LIBRARY_PATH"])
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libdirs)
        return env


def install_backend(target: Path) -> Path:
    """Lay out Triton's backend folder in ``target``: ``model.py`` beside the ``ovtriton`` package.

    Triton's Python-based backends load ``<backend dir>/model.py`` and put that
    folder on the stub's ``sys.path``, so the package the glue imports sits beside it.
    Only the stub side is copied: nothing of ``ovtriton_serve`` enters the stub.
    """
    model_py = STUB_PACKAGE / "model.py"
    if not model_py.is_file():
        raise InstallationError(f"{model_py} not found: the ovtriton package is incomplete")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model_py, target / "model.py")
    shutil.copytree(
        STUB_PACKAGE,
        target / "ovtriton",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return target


def check_extra_backend(folder: Path) -> Path:
    """``folder`` as an extra backend: an existing folder named after the backend.

    Triton finds ``backend: "NAME"`` in ``<backend dir>/NAME/libtriton_NAME.so`` (or a
    ``model.py`` for a Python-based backend), so the folder's name is the backend's.

    Raises:
        InstallationError: It is not a folder, or it would replace ``python`` or
            ``ovtriton``.
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise InstallationError(f"extra backend {folder} is not a folder")
    if folder.name in ("python", "ovtriton"):
        raise InstallationError(
            f"extra backend {folder} would replace the {folder.name} backend; rename the folder"
        )
    return folder


def _copy_tree(source: Path, target: Path) -> None:
    """Hard-link copy of ``source`` (instant, no extra disk), a plain copy where links fail.

    A copy, not a symlink: Triton rejects a backend library that resolves outside
    the backend directory.
    """

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # another device, or a file system without hard links
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link_or_copy, dirs_exist_ok=True)


def find_installation(server: Path | None = None) -> TritonInstallation:
    """Find Triton: ``server`` if given, else the wheel's build, else the container's.

    Raises:
        InstallationError: Nothing usable was found; the message says what is missing.
    """
    if server is not None:
        root = Path(server).resolve().parent.parent
        return _installation_at(Path(server), root)
    wheel_root = _wheel_root()
    if wheel_root is not None:
        return _installation_at(wheel_root / "bin" / "tritonserver", wheel_root)
    if (CONTAINER_ROOT / "bin" / "tritonserver").is_file():
        return _installation_at(CONTAINER_ROOT / "bin" / "tritonserver", CONTAINER_ROOT)
    raise InstallationError(
        "no tritonserver found: install nvidia-pytriton (pip install -e .), "
        "run inside NVIDIA's Triton container, or pass --tritonserver PATH"
    )


def _wheel_root() -> Path | None:
    try:
        import pytriton
    except ImportError:
        return None
    root = Path(pytriton.__file__).resolve().parent / "tritonserver"
    return root if (root / "bin" / "tritonserver").is_file() else None


def _installation_at(server: Path, root: Path) -> TritonInstallation:
    if not server.is_file():
        raise InstallationError(f"tritonserver not found at {server}")
    python_backend = root / "backends" / "python"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    # The wheel keeps one stub per Python version; the container has it in place.
    stubs = [root / "python_backend_stubs" / version / STUB_NAME, python_backend / STUB_NAME]
    stub = next((s for s in stubs if s.is_file()), None)
    missing = [n for n in PYTHON_BACKEND_FILES if not (python_backend / n).is_file()]
    if stub is None or missing:
        raise InstallationError(
            f"Triton's Python backend is incomplete under {root}: missing "
            f"{missing or [STUB_NAME + ' for Python ' + version]}"
        )
    libs = root.parent.parent / "nvidia_pytriton.libs"
    library_dirs = tuple(d for d in (libs, root / "lib") if d.is_dir())
    installed = root / "backends" / "ovtriton"
    ovtriton_backend = installed if (installed / "model.py").is_file() else None
    return TritonInstallation(server, python_backend, stub, library_dirs, ovtriton_backend)
