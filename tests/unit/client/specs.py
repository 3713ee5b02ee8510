"""Model metadata shared by the client's unit tests."""

from __future__ import annotations

from ovtriton_client import ModelSpec

# The example repository's two_io model as a server describes it (HTTP's JSON form).
TWO_IO = {
    "name": "two_io",
    "versions": ["1"],
    "inputs": [
        {"name": "a", "datatype": "FP32", "shape": [-1, 4]},
        {"name": "b", "datatype": "FP32", "shape": [-1, 4]},
    ],
    "outputs": [
        {"name": "sum", "datatype": "FP32", "shape": [-1, 4]},
        {"name": "product", "datatype": "FP32", "shape": [-1, 4]},
    ],
}
# Immutable (a frozen dataclass), so one instance serves every test.
TWO_IO_SPEC = ModelSpec.from_metadata(TWO_IO, max_batch_size=8)
