"""System shared memory: tensors move through /dev/shm instead of the socket.

The server must run on the same host. Regions are sized from the model's
metadata, registered once, reused by every call, and released on close.

    ovtriton serve --model-repository model_repository
    python examples/shared_memory.py [URL]
"""

from __future__ import annotations

import numpy as np
from _common import url_parser  # examples/_common.py, beside this script

import ovtriton_client as ovc


def main() -> None:
    url = url_parser(__doc__).parse_args().url

    with ovc.Client(url) as client:
        client.wait_until_ready(timeout=30, models=["classifier"])
        plain = client.model("classifier")
        with client.model("classifier", shared_memory=True) as model:
            images = np.random.default_rng(0).random((4, 3, 224, 224), np.float32)
            result = model(images)
            same = np.array_equal(result["probabilities"], plain(images)["probabilities"])
            print("regions:", model.shared_memory_regions, "same as plain path:", same)

            # Zero copy both ways: fill the input region in place, read a view of
            # the output region (valid until this handle's next call).
            buffer = model.input_buffer("image", images.shape)
            buffer[:] = images
            view = model({"image": buffer}, share_outputs=True)["probabilities"]
            print("top classes:", view.argmax(axis=1))
        print(
            "registered after close:",
            [r.name for r in client.shared_memory_status() if r.name.startswith("ovtriton_")],
        )


if __name__ == "__main__":
    main()
