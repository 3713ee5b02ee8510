"""What docker/Dockerfile sets up, read from the file itself (Docker cannot run here).

The unit tests check it against what ``ovtriton serve`` assembles and against the
manifests; the Python 3.10 container test (tests/functional/test_container_py310.py)
rebuilds it outside Docker from the same reading.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
CONTAINER_TRITON = "/opt/tritonserver"
CONTAINER_BACKEND = f"{CONTAINER_TRITON}/backends/ovtriton"


@dataclass(frozen=True)
class FinalStage:
    """The image's last stage: what a running container is made of."""

    base: str
    pip_installs: tuple[tuple[str, ...], ...]  # each RUN pip install's arguments
    backend_copies: tuple[tuple[str, str], ...]  # (source in the repo, path under the backend)
    user: str
    exposed: tuple[int, ...]
    command: tuple[str, ...]  # ENTRYPOINT + CMD


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` per instruction, comments dropped, continuations joined."""
    joined = re.sub(r"\\\n", " ", "\n".join(x for x in text.splitlines() if not x.startswith("#")))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def final_stage(path: Path = DOCKERFILE) -> FinalStage:
    """Read the last ``FROM`` stage of ``path``."""
    steps = instructions(path.read_text())
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    base = steps[last_from][1].split()[0]
    pip: list[tuple[str, ...]] = []
    copies: list[tuple[str, str]] = []
    user, entrypoint, cmd = "root", [], []
    exposed: tuple[int, ...] = ()
    for word, rest in steps[last_from + 1 :]:
        if word == "RUN" and rest.startswith("pip install"):
            pip.append(tuple(shlex.split(rest)[2:]))
        elif word == "COPY" and not rest.startswith("--from"):
            source, target = rest.split()
            if target.startswith(CONTAINER_BACKEND):
                copies.append((source, target[len(CONTAINER_BACKEND) :].strip("/")))
        elif word == "USER":
            user = rest
        elif word == "EXPOSE":
            exposed = tuple(int(p) for p in rest.split())
        elif word == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif word == "CMD":
            cmd = json.loads(rest)
    return FinalStage(base, tuple(pip), tuple(copies), user, exposed, (*entrypoint, *cmd))


def requirements(stage: FinalStage) -> list[str]:
    """The third-party requirements the image installs (the project's wheel left out)."""
    return [
        a
        for args in stage.pip_installs
        for a in args
        if not a.startswith("-") and not a.endswith(".whl")
    ]


def lay_out_backend(stage: FinalStage, target: Path) -> Path:
    """Copy the repository files as the COPY lines put them under the container's backend."""
    import shutil

    for source, relative in stage.backend_copies:
        origin, destination = ROOT / source, target / relative
        if origin.is_dir():
            shutil.copytree(origin, destination, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination)
    return target
