"""Argument checks of the TensorFlow-style names: data and filter arrays, groups, settings.

The rules that both front doors share (window fit, forward sizes, legal transposed sizes) live in
:mod:`jconv._args`; the arithmetic in :mod:`jconv._shapes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax

from jconv import _args, _layout


def data(
    fn: str, name: str, value: Any, rank: int | None, data_format: str | None
) -> tuple[jax.Array, int, bool, tuple[int, ...]]:
    """An inexact array of rank ``rank + 2`` (any rank >= 3 when ``rank`` is None); returns it,
    the spatial rank, whether channels come first and the spatial sizes."""
    value = _args.array(fn, name, value)
    if rank is None and value.ndim < 3:
        raise ValueError(
            f"{fn}: {name} has shape {value.shape}; it needs a batch, at least one spatial "
            "and a channel dimension"
        )
    if rank is not None and value.ndim != rank + 2:
        layout = data_format or _layout.default_data_format(rank)
        raise ValueError(
            f"{fn}: {name} has shape {value.shape} ({value.ndim} dims); {layout} needs "
            f"{rank + 2} dims"
        )
    spatial_rank = value.ndim - 2
    channels_first = _layout.parse_data_format(fn, data_format, spatial_rank)
    spatial = value.shape[2:] if channels_first else value.shape[1:-1]
    return value, spatial_rank, channels_first, tuple(spatial)


def channels(shape: Sequence[int], channels_first: bool) -> int:
    return shape[1] if channels_first else shape[-1]


def filters(
    fn: str, value: Any, rank: int, like: jax.Array, like_name: str, *, forward: bool = False
) -> jax.Array:
    """TensorFlow's forward conv refuses a filter without taps; its transposes and gradients
    accept one (their result is then all zeros)."""
    value = _args.array(fn, "filters", value)
    if value.ndim != rank + 2:
        raise ValueError(
            f"{fn}: filters has shape {value.shape}; expected {rank + 2} dims "
            f"(*kernel_size, in_channels, out_channels) for {rank} spatial dim(s)"
        )
    if forward and any(k < 1 for k in value.shape[:rank]):
        raise ValueError(
            f"{fn}: filters has shape {value.shape}; kernel sizes must be >= 1 (TensorFlow's "
            "forward conv refuses a filter with zero taps)"
        )
    _args.same_dtype(fn, (like_name, "filters"), like, value)
    return value


def groups(
    fn: str, total: int, per_group: int, out_channels: int, what: tuple[str, str, str]
) -> int:
    """Groups = total / per_group (TensorFlow infers them); both channel counts must split."""
    if per_group < 1:
        raise ValueError(
            f"{fn}: {what[1]} is {per_group}; it must be >= 1 (TensorFlow refuses a filter "
            "depth of 0)"
        )
    if total % per_group:
        raise ValueError(
            f"{fn}: {what[0]} has {total} channels, which is not a multiple of {what[1]} "
            f"{per_group}; it must divide {total}"
        )
    count = total // per_group
    if out_channels % count:
        raise ValueError(
            f"{fn}: {total} / {per_group} = {count} groups, but {what[2]} {out_channels} "
            f"is not divisible by {count}"
        )
    return count


def settings(
    fn: str,
    strides: Any,
    padding: Any,
    dilations: Any,
    rank: int,
    channels_first: bool,
    precision: Any,
    preferred_element_type: Any,
    strides_name: str = "strides",
) -> tuple[tuple[int, ...], Any, tuple[int, ...], Any, str | None]:
    """Strides, padding spec, dilations, precision and element type, normalised and checked."""
    return (
        _args.ints_per_dim(fn, strides_name, strides, rank, channels_first),
        _args.padding_spec(fn, padding, rank, channels_first),
        _args.ints_per_dim(fn, "dilations", dilations, rank, channels_first),
        _args.precision(fn, precision),
        _args.element_type(fn, preferred_element_type),
    )


def dim_padding(spec: Any, i: int) -> Any:
    """Dim ``i``'s padding: the string, or its ``(lo, hi)``."""
    return spec if isinstance(spec, str) else spec[i]
