"""Every script in examples/ runs against ``ovtriton serve`` over HTTP and gRPC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.clients import PROTOCOLS, url_of
from tests.functional.serving import Serve

pytestmark = pytest.mark.functional
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPECTED = {
    "sync_infer.py": "requested only: ['product']",
    "async_infer.py": "every result matched: True",
    "start_async.py": "8 images in",
    "shared_memory.py": "same as plain path: True",
}
# Modules the scripts import, not examples of their own.
HELPERS = ["_common.py"]


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted([*EXPECTED, *HELPERS])


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script: str, protocol: str, example_server: Serve) -> None:
    url = url_of(example_server, protocol)
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / script), url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert EXPECTED[script] in run.stdout, run.stdout
