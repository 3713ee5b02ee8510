"""Functional-test helpers: ``ovtriton serve`` as a child process, and model repositories."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openvino as ov

from ovtriton_serve.server.stubs import child_processes
from tests.support.serve_process import ServeProcess as Serve
from tests.support.serve_process import free_port

__all__ = ["Serve", "add_model", "descendants", "free_port", "param", "rss_mb"]


def descendants(pid: int) -> list[tuple[int, list[str]]]:
    """Every process below ``pid``, with its command line."""
    found = []
    for child, argv in child_processes(pid):
        found.append((child, argv))
        found.extend(descendants(child))
    return found


def add_model(
    repository: Path,
    name: str,
    model: ov.Model | Path,
    config: str = "",
    versions: Sequence[int] = (1,),
    filename: str = "model.xml",
) -> Path:
    """Write ``repository/name`` with ``config.pbtxt`` and each version's model file."""
    folder = repository / name
    for version in versions:
        target = folder / str(version) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(model, Path):
            target.write_bytes(model.read_bytes())
        else:
            ov.save_model(model, target, compress_to_fp16=False)
    (folder / "config.pbtxt").write_text(f'backend: "ovtriton"\n{config}\n')
    return folder


def param(key: str, value: str) -> str:
    """A ``config.pbtxt`` string parameter line, quotes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'parameters: {{ key: "{key}" value: {{ string_value: "{escaped}" }} }}\n'


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")
