"""Hide latency without asyncio: start requests, do other work, then wait.

ovtriton serve --model-repository model_repository
python examples/start_async.py [URL]
"""

from __future__ import annotations

import time

import numpy as np
from _common import url_parser  # examples/_common.py, beside this script

import ovtriton_client as ovc


def preprocess(seed: int) -> np.ndarray:
    """Stand-in for real work done while the server computes."""
    return np.random.default_rng(seed).random((1, 3, 224, 224), np.float32)


def main() -> None:
    parser = url_parser(__doc__)
    parser.add_argument("--images", type=int, default=8)
    args = parser.parse_args()

    with ovc.Client(args.url) as client:
        client.wait_until_ready(timeout=30, models=["classifier"])
        # At most two requests in flight; start_async blocks only beyond that.
        model = client.model("classifier", max_in_flight=2)
        started = time.perf_counter()
        futures = []
        for seed in range(args.images):
            image = preprocess(seed)  # overlaps with the previous request
            futures.append(model.start_async(image, share_inputs=True))
        model.wait_all()
        labels = [int(f.result()["probabilities"].argmax()) for f in futures]
        print(f"{args.images} images in {time.perf_counter() - started:.3f} s: labels {labels}")


if __name__ == "__main__":
    main()
