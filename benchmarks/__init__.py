"""ovtriton's benchmark suite: served throughput next to its baselines, in one run.

``./dev bench`` (or ``.venv/bin/python -m benchmarks.run``) measures, on one
machine and one Triton server:

- raw OpenVINO (``AsyncInferQueue``, same hint) against ovtriton driven by
  ``perf_analyzer`` over HTTP and gRPC, with and without system shared memory;
- ovtriton against a naive per-request ``model.py`` on the same server;
- a tiny elementwise model in ovtriton against a minimal numpy Python-backend model;
- the client SDK against raw ``tritonclient``, and its shared-memory path against
  its plain path for a 16 MB tensor.

It prints a markdown table of ratios with their targets and writes it to
``benchmarks/results/latest.md``.
"""
