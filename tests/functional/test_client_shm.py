"""System shared memory on the real server, over HTTP and gRPC.

Same results as the plain path; regions registered once and reused; nothing left
in /dev/shm or on the server after close(), a ``with`` block, garbage collection,
interpreter exit; other processes' regions untouched; a SIGKILLed process's
regions reclaimed by the next session.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import ovtriton_client as ovc
from ovtriton_client._shm import SHM_ROOT

pytestmark = pytest.mark.functional
RNG = np.random.default_rng(44)

# A second client process: registers regions, reports their names, then serves
# requests read from stdin until EOF (close) - or exits at once without closing.
OTHER_PROCESS = """
import sys
import numpy as np
import ovtriton_client as ovc

url, mode = sys.argv[1], sys.argv[2]
model = ovc.Client(url).model("add_one", shared_memory=True)
model(np.zeros((2, 16), np.float32))
print(" ".join(model.shared_memory_regions), flush=True)
if mode == "serve":
    for line in sys.stdin:
        x = np.full((2, 16), float(line), np.float32)
        print(float(model(x)["y"][0, 0]), flush=True)
    model.close()
"""


# Each test runs once per protocol, on the session's example server.


def registered(client: ovc.Client) -> set[str]:
    return {region.name for region in client.shared_memory_status()}


def in_dev_shm(names: list[str] | set[str]) -> set[str]:
    return {name for name in names if (SHM_ROOT / name).exists()}


def start_other(url: str, mode: str) -> tuple[subprocess.Popen[str], list[str]]:
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, url, mode],
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert other.stdout is not None
    names = other.stdout.readline().split()
    assert len(names) == 2, f"the other process did not start: {names}"
    return other, names


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        ("add_one", [{"x": (2, 16)}, {"x": (32, 16)}, {"x": (1, 16)}]),
        ("two_io", [{"a": (3, 4), "b": (3, 4)}, {"a": (8, 4), "b": (8, 4)}]),
        (
            "dynamic_sequence",
            [{"tokens": (2, 5, 8)}, {"tokens": (3, 40, 8)}, {"tokens": (1, 2, 8)}],
        ),
        ("classifier", [{"image": (2, 3, 224, 224)}]),
    ],
)
def test_results_equal_the_plain_path(
    client: ovc.Client, name: str, shapes: list[dict[str, tuple[int, ...]]]
) -> None:
    plain = client.model(name)
    with client.model(name, shared_memory=True) as shared:
        for shape in shapes:
            inputs = {key: RNG.random(dims, np.float32) for key, dims in shape.items()}
            expected = plain(inputs)
            for share_outputs in (False, True):
                result = shared(inputs, share_outputs=share_outputs)
                assert set(result) == set(expected)
                for output in expected:
                    np.testing.assert_array_equal(result[output], expected[output])


def test_regions_are_registered_once_and_reused(client: ovc.Client) -> None:
    with client.model("two_io", shared_memory=True) as model:
        a, b = np.ones((4, 4), np.float32), np.full((4, 4), 3, np.float32)
        model({"a": a, "b": b})
        names = model.shared_memory_regions
        assert len(names) == 4  # two inputs, two outputs
        assert all(name.startswith(f"ovtriton_{os.getpid()}_") for name in names)
        for batch in (1, 4, 2):
            result = model({"a": a[:batch], "b": b[:batch]}, outputs=["product"])
            np.testing.assert_array_equal(result["product"], np.full((batch, 4), 3))
        assert model.shared_memory_regions == names
        assert set(names) <= registered(client) and in_dev_shm(names) == set(names)


def test_share_outputs_views_follow_the_next_call_and_stay_valid(client: ovc.Client) -> None:
    model = client.model("add_one", shared_memory=True)
    first = model(np.zeros((2, 16), np.float32), share_outputs=True)["y"]
    copied = model(np.zeros((2, 16), np.float32))["y"]
    assert not first.flags.writeable and copied.flags.writeable
    model(np.full((2, 16), 10, np.float32))
    np.testing.assert_array_equal(first, 11)  # a view of the region, like OpenVINO's
    np.testing.assert_array_equal(copied, 1)  # a copy is the caller's own
    model.close()
    np.testing.assert_array_equal(first, 11)  # still mapped while the view lives


def test_input_buffer_is_sent_without_copy(
    client: ovc.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    with client.model("add_one", shared_memory=True) as model:
        buffer = model.input_buffer("x", (4, 16))
        buffer[:] = np.arange(64, dtype=np.float32).reshape(4, 16)

        def no_copy(*args: object, **kwargs: object) -> None:
            raise AssertionError("the input was copied")

        monkeypatch.setattr(np, "copyto", no_copy)
        result = model({"x": buffer})
        np.testing.assert_array_equal(result["y"], np.arange(64).reshape(4, 16) + 1)


def test_close_and_with_exit_leave_nothing(client: ovc.Client) -> None:
    model = client.model("add_one", shared_memory=True)
    model(np.zeros((1, 16), np.float32))
    names = model.shared_memory_regions
    assert set(names) <= registered(client)
    model.close()
    model.close()  # idempotent
    assert not set(names) & registered(client) and not in_dev_shm(names)
    with client.model("two_io", shared_memory=True) as scoped:
        scoped({"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32)})
        names = scoped.shared_memory_regions
    assert not set(names) & registered(client) and not in_dev_shm(names)


def test_garbage_collection_leaves_nothing(client: ovc.Client) -> None:
    model = client.model("add_one", shared_memory=True)
    model(np.zeros((1, 16), np.float32))
    names = model.shared_memory_regions
    del model
    gc.collect()
    assert not set(names) & registered(client) and not in_dev_shm(names)


def test_interpreter_exit_leaves_nothing(client: ovc.Client, url: str) -> None:
    other, names = start_other(url, "exit")
    assert other.wait(30) == 0
    assert not set(names) & registered(client) and not in_dev_shm(names)


def test_other_process_regions_survive_our_cleanup(client: ovc.Client, url: str) -> None:
    other, theirs = start_other(url, "serve")
    assert other.stdin is not None and other.stdout is not None
    try:
        with client.model("add_one", shared_memory=True) as ours:  # a session reclaims
            ours(np.zeros((1, 16), np.float32))
        assert set(theirs) <= registered(client) and in_dev_shm(theirs) == set(theirs)
        other.stdin.write("41\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "42.0"  # still working
    finally:
        other.stdin.close()
        assert other.wait(30) == 0
    assert not set(theirs) & registered(client) and not in_dev_shm(theirs)


def test_sigkilled_process_regions_are_reclaimed_by_the_next_session(
    client: ovc.Client, url: str
) -> None:
    other, theirs = start_other(url, "serve")
    other.send_signal(signal.SIGKILL)
    other.wait(30)
    assert set(theirs) <= registered(client), "a killed process cannot clean up"
    with client.model("add_one", shared_memory=True) as model:
        assert not set(theirs) & registered(client) and not in_dev_shm(theirs)
        np.testing.assert_array_equal(model(np.zeros((2, 16), np.float32))["y"], 1)


def test_too_small_output_region_grows(client: ovc.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # Underestimate every output: the server names the size it needs, the region grows.
    monkeypatch.setattr(ovc.ModelSpec, "estimate_output_shape", lambda *args: (1,))
    with client.model("dynamic_sequence", shared_memory=True) as model:
        tokens = RNG.random((4, 64, 8), np.float32)  # 8 KiB of scores: beyond one page
        result = model(tokens)
        np.testing.assert_allclose(result["scores"], np.cumsum(tokens, axis=1) * 2, rtol=1e-5)
        sizes = {r.name: r.byte_size for r in client.shared_memory_status()}
        assert max(sizes[name] for name in model.shared_memory_regions) >= tokens.nbytes


def test_output_of_unknown_size_comes_back_in_the_response(
    client: ovc.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ovc.ModelSpec, "estimate_output_shape", lambda *args: None)
    with client.model("dynamic_sequence", shared_memory=True) as model:
        tokens = RNG.random((2, 3, 8), np.float32)
        np.testing.assert_allclose(
            model(tokens)["scores"], np.cumsum(tokens, axis=1) * 2, rtol=1e-5
        )
        assert len(model.shared_memory_regions) == 1  # the input's only


def test_start_async_with_shared_memory(client: ovc.Client) -> None:
    before = registered(client)  # other tests' handles may still hold regions
    model = client.model("add_one", shared_memory=True, max_in_flight=3)
    inputs = [np.full((2, 16), i, np.float32) for i in range(30)]
    futures = [model.start_async(x, share_outputs=True) for x in inputs]
    results = [f.result(30)["y"] for f in futures]
    for x, y in zip(inputs, results, strict=True):
        np.testing.assert_array_equal(y, x + 1)  # copies: workers reuse their regions
    ours = {
        r.name
        for r in client.shared_memory_status()
        if r.name.startswith(f"ovtriton_{os.getpid()}_") and r.name not in before
    }
    model.close()
    assert ours and not ours & registered(client) and not in_dev_shm(ours)
