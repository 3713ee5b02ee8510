"""Blocking calls: a model handle used like openvino.CompiledModel.

Run against the example repository:

    ovtriton serve --model-repository model_repository
    python examples/sync_infer.py                      # HTTP on localhost:8000
    python examples/sync_infer.py grpc://localhost:8001
"""

from __future__ import annotations

import numpy as np
from _common import url_parser  # examples/_common.py, beside this script

import ovtriton_client as ovc


def main() -> None:
    url = url_parser(__doc__).parse_args().url

    with ovc.Client(url) as client:
        client.wait_until_ready(timeout=30, models=["two_io"])

        # One call, no handle: metadata is fetched and cached behind the scenes.
        x = np.arange(32, dtype=np.float32).reshape(2, 16)
        print("add_one:", client.infer("add_one", {"x": x})["y"][0, :4])

        # A handle checks inputs against the metadata and reuses its request objects.
        model = client.model("two_io")
        print("inputs:", ", ".join(map(str, model.inputs)))
        a, b = np.ones((4, 4), np.float32), np.full((4, 4), 3, np.float32)
        for _ in range(3):
            result = model({"a": a, "b": b})
        print("sum:", result["sum"][0], "product:", result["product"][0])

        # Postponed return: only the requested output is computed into the response.
        only = model([a, b], outputs=["product"])
        print("requested only:", list(only))

        # Mistakes are caught before anything is sent, saying what was expected.
        try:
            model({"a": a.astype(np.float64), "b": b})
        except ovc.InvalidInputError as error:
            print("invalid input:", error)
        try:
            client.model("no_such_model")
        except ovc.ModelNotReadyError as error:
            print("not ready:", error)


if __name__ == "__main__":
    main()
