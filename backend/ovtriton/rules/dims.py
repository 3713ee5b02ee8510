"""Dimensions and shapes as OVMS prints and checks them.

A :class:`Dim` is a fixed size, a bounded range or "any" (``-1``). Shapes print in
OVMS's form, ``(1,[0~3],5,-1)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Dim:
    """One dimension: ``lower <= size <= upper``; ``upper is None`` means unbounded.

    ``Dim(3, 3)`` is fixed 3, ``Dim(1, 5)`` the range ``[1~5]``, ``Dim(0, None)`` any.
    """

    lower: int
    upper: int | None

    @classmethod
    def fixed(cls, size: int) -> Dim:
        """Exactly ``size``."""
        return cls(size, size)

    @classmethod
    def any(cls) -> Dim:
        """Any size (OVMS's ``-1``)."""
        return cls(0, None)

    @property
    def is_static(self) -> bool:
        """Whether exactly one size fits."""
        return self.upper is not None and self.lower == self.upper

    @property
    def is_any(self) -> bool:
        """Whether every size fits."""
        return self.lower == 0 and self.upper is None

    def contains(self, size: int) -> bool:
        """Whether ``size`` fits."""
        return self.lower <= size and (self.upper is None or size <= self.upper)

    def intersect(self, other: Dim) -> Dim | None:
        """The sizes both dimensions take, or None when they share none."""
        lower = max(self.lower, other.lower)
        uppers = [u for u in (self.upper, other.upper) if u is not None]
        upper = min(uppers) if uppers else None
        return None if upper is not None and lower > upper else Dim(lower, upper)

    def to_triton(self) -> int:
        """The dims value Triton's config takes: the size if fixed, else ``-1``."""
        return self.lower if self.is_static else -1

    def __str__(self) -> str:
        if self.is_static:
            return str(self.lower)
        if self.is_any:
            return "-1"
        upper = "" if self.upper is None else str(self.upper)
        return f"[{self.lower}~{upper}]"


Shape = tuple[Dim, ...]


def format_shape(shape: Sequence[Dim] | Sequence[int]) -> str:
    """OVMS's printed form: ``(1,[0~3],5,-1)``."""
    return "(" + ",".join(str(dim) for dim in shape) + ")"


def shape_accepts(shape: Sequence[Dim], sizes: Sequence[int]) -> bool:
    """True when a concrete shape fits a (possibly dynamic) one, rank included."""
    return len(shape) == len(sizes) and all(
        dim.contains(size) for dim, size in zip(shape, sizes, strict=True)
    )
