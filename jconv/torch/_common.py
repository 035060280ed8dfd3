"""Argument checks and layout moves of the PyTorch-style names.

The rules both front doors share (window fit, forward sizes, legal input sizes) live in
:mod:`jconv._args`; the arithmetic (``padding="same"``, output sizes) in :mod:`jconv._shapes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from jconv import _args, _shapes


def ints(fn: str, name: str, value: Any, rank: int, minimum: int) -> tuple[int, ...]:
    """An int or a tuple of 1 or ``rank`` ints, each ``>= minimum``, as ``rank`` ints."""
    if isinstance(value, (tuple, list)):
        values = _args.as_int_tuple(fn, name, value)
        if len(values) == 1:
            values = values * rank
        if len(values) != rank:
            raise ValueError(f"{fn}: {name}={value!r} needs 1 or {rank} entries")
    else:
        values = (_args.as_int(fn, name, value),) * rank
    if any(v < minimum for v in values):
        raise ValueError(f"{fn}: {name}={value!r} must be >= {minimum} in every spatial dim")
    return values


def data(fn: str, name: str, value: Any, rank: int) -> tuple[jax.Array, bool]:
    """Batched ``(N, C, *sp)`` or unbatched ``(C, *sp)``; returns the batched array and a flag."""
    value = _args.array(fn, name, value)
    if value.ndim == rank + 1:
        return value[None], True
    if value.ndim != rank + 2:
        raise ValueError(
            f"{fn}: {name} has shape {value.shape}; expected {rank + 2} dims (N, C, *spatial) "
            f"or {rank + 1} (C, *spatial)"
        )
    spatial(fn, name, value.shape, rank)
    return value, False


def spatial(fn: str, name: str, shape: Sequence[int], rank: int) -> None:
    for i, n in enumerate(shape[2:]):
        if n < 1:
            raise ValueError(
                f"{fn}: {name} has shape {tuple(shape)} with {_args.dim_name(rank, i)} {n}; "
                "spatial sizes must be >= 1 (PyTorch supports only zero batch or zero channel "
                "inputs)"
            )


def at_least_groups(fn: str, name: str, channels: int, groups: int) -> None:
    """PyTorch's check of the weight's first dim: ``weight.shape[0] >= groups``."""
    if channels < groups:
        raise ValueError(
            f"{fn}: {name} is {channels}; PyTorch expects it to be at least groups={groups} "
            "(no zero output channels for a conv, no zero input channels for a transposed conv)"
        )


def weight(fn: str, value: Any, rank: int, like: jax.Array, name: str = "input") -> jax.Array:
    value = _args.array(fn, "weight", value)
    if value.ndim != rank + 2:
        raise ValueError(f"{fn}: weight has shape {value.shape}; expected {rank + 2} dims")
    if any(k < 1 for k in value.shape[2:]):
        raise ValueError(f"{fn}: weight has shape {value.shape}; kernel sizes must be >= 1")
    _args.same_dtype(fn, (name, "weight"), like, value)
    return value


def groups(
    fn: str, value: Any, cin: int, per_group: int, cout: int, cin_name: str = "input channels"
) -> int:
    count = _args.as_int(fn, "groups", value)
    if count < 1:
        raise ValueError(f"{fn}: groups={count} must be >= 1")
    if cin % count or cout % count:
        raise ValueError(
            f"{fn}: groups={count} must divide both the {cin_name} ({cin}) and the output "
            f"channels ({cout})"
        )
    if cin // count != per_group:
        raise ValueError(
            f"{fn}: expected weight.shape[1] == {cin_name} / groups = {cin} / {count} = "
            f"{cin // count}, got {per_group}"
        )
    return count


def padding(
    fn: str, value: Any, rank: int, ks: Sequence[int], ss: Sequence[int], ds: Sequence[int]
) -> tuple[tuple[int, int], ...]:
    """int / tuple -> symmetric pairs; "valid" -> zeros; "same" (stride 1) ->
    :func:`jconv._shapes.torch_same_padding`."""
    if isinstance(value, str):
        if value == "valid":  # PyTorch's strings are lower case only
            return ((0, 0),) * rank
        if value == "same":
            if any(s != 1 for s in ss):
                raise ValueError(
                    f"{fn}: padding='same' is not supported for strided convolutions "
                    f"(stride={ss}); use an explicit padding"
                )
            return tuple(_shapes.torch_same_padding(k, d) for k, d in zip(ks, ds))
        raise ValueError(
            f"{fn}: padding={value!r} is not 'same', 'valid', an int or a tuple of ints"
        )
    return tuple((p, p) for p in ints(fn, "padding", value, rank, 0))


def to_tf_forward(w: jax.Array) -> jax.Array:
    """PyTorch's ``(C_out, C_in / g, *k)`` -> TensorFlow's ``(*k, C_in / g, C_out)``; also a
    transposed-conv weight ``(C_in, C_out / g, *k)`` -> TensorFlow's transpose filter."""
    rank = w.ndim - 2
    return jnp.transpose(w, (*range(2, rank + 2), 1, 0))


def from_tf_forward(w: jax.Array) -> jax.Array:
    rank = w.ndim - 2
    return jnp.transpose(w, (rank + 1, rank, *range(rank)))


def bias(fn: str, value: Any, channels: int, like: jax.Array) -> jax.Array | None:
    if value is None:
        return None
    value = _args.array(fn, "bias", value)
    if value.shape != (channels,):
        raise ValueError(f"{fn}: bias has shape {value.shape}; expected ({channels},)")
    _args.same_dtype(fn, ("input", "bias"), like, value)
    return value


def add_bias(y: jax.Array, b: jax.Array | None) -> jax.Array:
    if b is None:
        return y
    return y + b.reshape(-1, *(1,) * (y.ndim - 2)).astype(y.dtype)


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def padding_mode(
    fn: str, value: Any, sizes: Sequence[int], pads: Sequence[_shapes.Pair], name: str = "input"
) -> str:
    """``padding_mode`` checked as ``torch.nn.Conv*d`` checks it, and its pads against the input
    as ``F.pad`` checks them (:func:`jconv._shapes.padding_mode_limit`)."""
    if not isinstance(value, str) or value not in PADDING_MODES:
        raise ValueError(
            f"{fn}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, but got "
            f"padding_mode={value!r}"
        )
    rank = len(sizes)
    for i, (n, (lo, hi)) in enumerate(zip(sizes, pads)):
        limit = _shapes.padding_mode_limit(value, n)
        if limit is not None and max(lo, hi) > limit:
            rule = "smaller than" if value == "reflect" else "at most"
            raise ValueError(
                f"{fn}: padding_mode={value!r} needs the padding {rule} the {name} size: padding "
                f"({lo}, {hi}) in {_args.dim_name(rank, i)} of {name} size {n} (at most {limit})"
            )
    return value


def pad(x: jax.Array, pads: Sequence[_shapes.Pair], mode: str) -> jax.Array:
    """``F.pad(x, pads, mode)`` on the spatial dims of ``(N, C, *spatial)`` data: reflect (no edge
    repeat), replicate (numpy's ``"edge"``) or circular (``"wrap"``)."""
    return jnp.pad(x, ((0, 0), (0, 0), *pads), mode=_NUMPY_MODES[mode])
