"""The peer: Triton's own C++ OpenVINO backend, built here when missing.

``../shared/peers/build_openvino_backend.sh`` (see its README) builds NVIDIA's
``libtriton_openvino.so`` against the ``nvidia-pytriton`` wheel's Triton and the
``openvino`` wheel of this venv in about 30 s. It is built with
``CPU_PLUGIN_PROPERTIES=INFERENCE_PRECISION_HINT=f32`` (a ``plugins.xml`` beside the
library), so the peer computes in f32 as ovtriton does on every CPU. The result,
``build/peers/openvino_backend/openvino/``, is served beside ovtriton by
``ovtriton serve --extra-backend``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "build" / "peers" / "openvino_backend"
LIBRARY = "libtriton_openvino.so"
PRECISION = "INFERENCE_PRECISION_HINT=f32"
# Where the build script is looked for, first match wins: $OVTRITON_PEERS, the
# shared folder beside the repository, and the shared folder of these machines.
SCRIPT_NAME = "build_openvino_backend.sh"
SCRIPT_FOLDERS = (ROOT.parent / "shared" / "peers", Path("/work/shared/peers"))


class PeerError(RuntimeError):
    """The peer backend could not be found or built."""


def backend_folder(output: Path = OUTPUT) -> Path:
    """The folder to pass to ``--extra-backend`` (its name, ``openvino``, is the backend's)."""
    return output / "openvino"


def is_built(output: Path = OUTPUT) -> bool:
    """The library is there and its ``plugins.xml`` pins f32 (a build without it is redone)."""
    folder = backend_folder(output)
    plugins = folder / "plugins.xml"
    return (folder / LIBRARY).is_file() and plugins.is_file() and "f32" in plugins.read_text()


def find_script(environ: dict[str, str] | None = None) -> Path:
    """The build script: ``$OVTRITON_PEERS/build_openvino_backend.sh`` or a shared folder.

    Raises:
        PeerError: None of the places has it.
    """
    environ = dict(os.environ) if environ is None else environ
    folders = [Path(environ["OVTRITON_PEERS"])] if environ.get("OVTRITON_PEERS") else []
    folders += SCRIPT_FOLDERS
    for folder in folders:
        if (folder / SCRIPT_NAME).is_file():
            return folder / SCRIPT_NAME
    raise PeerError(
        f"{SCRIPT_NAME} not found in {', '.join(str(f) for f in folders)}; "
        "set OVTRITON_PEERS to the folder holding it"
    )


def ensure_built(venv: Path, output: Path = OUTPUT) -> Path:
    """Build the peer unless it is built; return :func:`backend_folder`.

    Raises:
        PeerError: The script is missing or the build failed (its log is named).
    """
    if is_built(output):
        return backend_folder(output)
    script = find_script()
    output.parent.mkdir(parents=True, exist_ok=True)
    log = output.parent / "openvino_backend.build.log"
    print(f"building the peer (Triton's C++ OpenVINO backend), log: {log} ...", file=sys.stderr)
    env = {**os.environ, "CPU_PLUGIN_PROPERTIES": PRECISION}
    with log.open("w") as sink:
        done = subprocess.run(
            ["bash", str(script), str(venv), str(output)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not is_built(output):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:])
        raise PeerError(f"building the peer failed (exit {done.returncode}), see {log}:\n{tail}")
    return backend_folder(output)
