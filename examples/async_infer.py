"""asyncio: many concurrent requests, each result matched to its input.

ovtriton serve --model-repository model_repository
python examples/async_infer.py [URL] [--requests N]
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from _common import url_parser  # examples/_common.py, beside this script

import ovtriton_client as ovc


async def run(url: str, requests: int) -> None:
    async with ovc.AsyncClient(url) as client:
        await client.wait_until_ready(timeout=30, models=["add_one"])
        model = await client.model("add_one", max_in_flight=16)
        inputs = [np.full((1, 16), i, np.float32) for i in range(requests)]
        started = time.perf_counter()
        results = await asyncio.gather(*(model({"x": x}) for x in inputs))
        elapsed = time.perf_counter() - started
        matched = all(np.array_equal(r["y"], x + 1) for x, r in zip(inputs, results, strict=True))
        print(f"{requests} requests in {elapsed:.3f} s, every result matched: {matched}")


def main() -> None:
    parser = url_parser(__doc__)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.url, args.requests))


if __name__ == "__main__":
    main()
