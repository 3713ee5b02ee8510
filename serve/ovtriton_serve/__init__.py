"""ovtriton_serve: the launcher around Triton (``ovtriton serve``, the front door, supervision).

This package runs outside Triton's Python stub. What runs inside the stub is the
``ovtriton`` package (rules, runtime and ``model.py``), which this package copies
into Triton's backend directory and never the other way round.
"""

from ovtriton import __version__

__all__ = ["__version__"]
