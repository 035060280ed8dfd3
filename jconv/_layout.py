"""Layout strings ("NHWC", "NCDHW", ...) parsed once into axis permutations.

The core works channels-last: ``(N, *spatial, C)``. A channels-first array is moved there on the
way in and back on the way out; filters always keep TensorFlow's ``(*k, in, out)`` layout.
"""

from __future__ import annotations

import functools

_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}


@functools.cache
def parse_data_format(fn: str, data_format: str | None, rank: int) -> bool:
    """Validate a data_format for ``rank`` spatial dims; return True when channels come first.

    ``None`` means channels-last. Accepted: ``"N" + spatial + "C"`` and ``"NC" + spatial`` where
    spatial is W / HW / DHW (TensorFlow's names); for other ranks any ``rank`` letters.
    """
    if data_format is None:
        return False
    if not isinstance(data_format, str):
        raise TypeError(
            f"{fn}: data_format must be a string such as 'NHWC' or 'NCHW', "
            f"got {type(data_format).__name__} {data_format!r}"
        )
    spatial = _SPATIAL.get(rank)
    upper = data_format.upper()
    if spatial is not None:
        legal = ("N" + spatial + "C", "NC" + spatial)
        if upper not in legal:
            raise ValueError(
                f"{fn}: data_format {data_format!r} is not valid for {rank} spatial "
                f"dimension(s): use {legal[0]!r} (channels last) or {legal[1]!r} (channels first)"
            )
        return upper == legal[1]
    if len(upper) != rank + 2 or not upper.startswith("N") or "C" not in (upper[1], upper[-1]):
        raise ValueError(
            f"{fn}: data_format {data_format!r} must have {rank + 2} letters, 'N' first and 'C' "
            "second or last"
        )
    return upper[1] == "C"


def to_channels_last(rank: int) -> tuple[int, ...]:
    """Permutation taking ``(N, C, *spatial)`` to ``(N, *spatial, C)``."""
    return (0, *range(2, rank + 2), 1)


def to_channels_first(rank: int) -> tuple[int, ...]:
    """Permutation taking ``(N, *spatial, C)`` to ``(N, C, *spatial)``."""
    return (0, rank + 1, *range(1, rank + 1))


def default_data_format(rank: int, channels_first: bool = False) -> str:
    """TensorFlow's name for the layout: ``NHWC``, ``NCDHW``..."""
    spatial = _SPATIAL.get(rank, "S" * rank)
    return "NC" + spatial if channels_first else "N" + spatial + "C"
