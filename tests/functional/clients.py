"""Plain tritonclient calls for functional tests, one function per protocol concern.

Each thread keeps one tritonclient client per server and protocol, so a test talks
to a server through one client (connection reuse, as a real caller does) rather
than opening a new one per request; tritonclient's HTTP client is not
thread-safe, hence one per thread.
"""

from __future__ import annotations

import re
import threading
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient._plugin import InferenceServerClientPlugin
from tritonclient.utils import np_to_triton_dtype

PROTOCOLS = ("http", "grpc")
# Status of a refused request, in HTTP's and gRPC's spelling.
INVALID = ("400", "StatusCode.INVALID_ARGUMENT")

_THREAD = threading.local()


class _Headers(InferenceServerClientPlugin):
    """Adds fixed headers (gRPC: metadata) to every call of a tritonclient client."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def __call__(self, request: Any) -> None:
        request.headers.update(self._headers)


def client(protocol: str, server: Any, admin: bool = True) -> Any:
    """This thread's tritonclient client for ``server`` over ``protocol``.

    Looked up per thread (a thread-local dies with its thread, so a later thread
    with a recycled id never inherits a client made elsewhere) and also listed on
    the server object, which closes them before it stops. With ``admin`` (the
    default: most tests administer their server), every call carries the server's
    admin key; ``admin=False`` is a client without it.
    """
    cache: dict[tuple[str, int, bool], tuple[Any, Any]] = _THREAD.__dict__.setdefault(
        "clients", {}
    )
    entry = cache.get((protocol, id(server), admin))
    if entry is None or entry[0] is not server:
        module = httpclient if protocol == "http" else grpcclient
        address = server.http_url if protocol == "http" else server.grpc_url
        triton = module.InferenceServerClient(address)
        headers = server.admin_headers(protocol) if admin else {}
        if headers:
            triton.register_plugin(_Headers(headers))
        entry = (server, triton)
        cache[(protocol, id(server), admin)] = entry
        server.clients.append(triton)
    return entry[1]


def url_of(server: Any, protocol: str) -> str:
    """The URL an SDK client uses for ``server`` over ``protocol`` ("http" or "grpc")."""
    return server.http_url if protocol == "http" else f"grpc://{server.grpc_url}"


def metric(server: Any, event: str, model: str) -> int:
    """The value of ``ovtriton_variant_<event>_total`` for ``model`` (0 if absent)."""
    with urllib.request.urlopen(server.metrics_url, timeout=10) as reply:
        text = reply.read().decode()
    pattern = rf'ovtriton_variant_{event}_total{{[^}}]*model="{model}"[^}}]*}} (\d+)'
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0


def infer(
    protocol: str,
    server: Any,
    model: str,
    inputs: Mapping[str, np.ndarray],
    outputs: Sequence[str] = (),
    version: str = "",
) -> dict[str, np.ndarray]:
    """One inference through tritonclient; returns every output received."""
    module = httpclient if protocol == "http" else grpcclient
    request = []
    for name, array in inputs.items():
        tensor = module.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
        tensor.set_data_from_numpy(array)
        request.append(tensor)
    requested = [module.InferRequestedOutput(name) for name in outputs] or None
    result = client(protocol, server).infer(
        model, request, outputs=requested, model_version=version
    )
    response = result.get_response()
    names = (
        [o["name"] for o in response["outputs"]]
        if protocol == "http"
        else [o.name for o in response.outputs]
    )
    return {name: result.as_numpy(name) for name in names}


def error_of(protocol: str, server: Any, model: str, inputs: Mapping[str, np.ndarray]) -> Any:
    """The InferenceServerException a bad request gets (fails the test if none)."""
    from tritonclient.utils import InferenceServerException

    try:
        infer(protocol, server, model, inputs)
    except InferenceServerException as error:
        return error
    raise AssertionError(f"request to {model} unexpectedly succeeded")


def status_of(protocol: str, error: Any) -> str:
    """HTTP status code or gRPC status name of a failed request."""
    return str(error.status())


def _as_json(protocol: str, call: str, server: Any, *args: Any) -> Any:
    kwargs = {"as_json": True} if protocol == "grpc" else {}
    return getattr(client(protocol, server), call)(*args, **kwargs)


def model_config(protocol: str, server: Any, model: str) -> dict[str, Any]:
    """The served config as JSON, the same shape for both protocols."""
    config = _as_json(protocol, "get_model_config", server, model)
    return dict(config.get("config", config))


def model_metadata(protocol: str, server: Any, model: str) -> dict[str, Any]:
    """Inputs and outputs as ``{name: (datatype, [shape])}`` for both protocols."""
    metadata = _as_json(protocol, "get_model_metadata", server, model)
    return {
        tensor["name"]: (tensor["datatype"], [int(d) for d in tensor.get("shape", [])])
        for tensor in (*metadata.get("inputs", []), *metadata.get("outputs", []))
    }


def run_clients(loop: Callable[[int], None], count: int, timeout: float) -> None:
    """Run ``loop(seed)`` on ``count`` threads at once (seeds 0..count-1) and join them.

    Concurrent clients are what makes Triton's dynamic batcher combine requests.
    """
    threads = [threading.Thread(target=loop, args=(seed,)) for seed in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
