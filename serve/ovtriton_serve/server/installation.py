"""Where Triton lives and how to lay out a backend directory for it.

Two installations are supported: the Triton 2.51 build inside the
``nvidia-pytriton`` wheel (developer machines, CI) and NVIDIA's container
(``/opt/tritonserver``). Either way the backend directory holds Triton's Python
backend in ``python/`` and ovtriton in ``ovtriton/`` (``model.py`` plus the
``ovtriton`` package beside it), the same layout ``docker/Dockerfile`` copies.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass
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

    def backend_directory(self, target: Path) -> Path:
        """Assemble ``target/{python,ovtriton}`` and return ``target``.

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
            shutil.copytree(
                self.ovtriton_backend,
                target / "ovtriton",
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
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
