"""Public, framework-neutral shape helpers: a forward conv's output shape and the legal output
sizes of a transposed conv, with the TensorFlow-style names' rules and messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jconv import _args, _shapes


def _common(
    fn: str,
    input_spatial: Sequence[int],
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    dilations: int | Sequence[int],
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], Any]:
    sizes = _args.as_int_tuple(fn, "input_spatial", input_spatial)
    rank = len(sizes)
    if rank == 0:
        raise ValueError(f"{fn}: input_spatial must have at least one spatial size")
    ks = _args.ints_per_dim(fn, "kernel_size", kernel_size, rank, False)
    ss = _args.ints_per_dim(fn, "strides", strides, rank, False)
    ds = _args.ints_per_dim(fn, "dilations", dilations, rank, False)
    spec = _args.padding_spec(fn, padding, rank, False)
    return sizes, ks, ss, ds, spec


def conv_output_shape(
    input_spatial: Sequence[int],
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    dilations: int | Sequence[int] = 1,
) -> tuple[int, ...]:
    """Spatial output sizes of a forward conv, as TensorFlow: ``(n + lo + hi - k_eff + s) / s``
    per dim in C's division, ``floor((n + lo + hi - k_eff) / s) + 1`` where the window fits and 0
    where it misses the padded input by less than ``s``.

    Args:
      input_spatial: the input's spatial sizes ``n``.
      kernel_size, strides, dilations: an int or one per spatial dim.
      padding: ``"SAME"``, ``"VALID"`` or one ``(lo, hi)`` per dim.

    Returns:
      tuple of output sizes.

    Raises:
      ValueError: if the window misses the padded input by ``s`` or more in some dim.

    Examples:
      >>> import jconv
      >>> jconv.conv_output_shape((5, 5), 3, strides=2, padding="VALID")
      (2, 2)
      >>> jconv.conv_output_shape((5, 8), (3, 4), strides=2, padding="SAME")
      (3, 4)
      >>> jconv.conv_output_shape((0, 2), 3, padding=[(1, 1), (1, 1)])   # misses by 1: 0
      (0, 2)
    """
    fn = "jconv.conv_output_shape"
    sizes, ks, ss, ds, spec = _common(fn, input_spatial, kernel_size, strides, padding, dilations)
    return _args.tf_forward_sizes(fn, spec, sizes, ks, ss, ds)[1]


def conv_transpose_output_shapes(
    input_spatial: Sequence[int],
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "SAME",
    dilations: int | Sequence[int] = 1,
) -> tuple[tuple[int, int], ...]:
    """The legal output sizes of a transposed conv, as one inclusive ``(min, max)`` per dim.

    ``n`` is legal when the forward conv maps it back to the transposed conv's input size ``m``;
    see :func:`jconv.conv2d_transpose` for the formulas. For stride ``s`` each range holds up to
    ``s`` sizes.

    Examples:
      >>> import jconv
      >>> jconv.conv_transpose_output_shapes((2, 2), 3, strides=2, padding="VALID")
      ((5, 6), (5, 6))
      >>> jconv.conv_transpose_output_shapes((4,), 4, strides=2, padding="SAME")
      ((7, 8),)
    """
    fn = "jconv.conv_transpose_output_shapes"
    sizes, ks, ss, ds, spec = _common(fn, input_spatial, kernel_size, strides, padding, dilations)
    return tuple(
        _shapes.tf_transpose_size_range(m, k, s, d, spec if isinstance(spec, str) else spec[i])
        for i, (m, k, s, d) in enumerate(zip(sizes, ks, ss, ds))
    )
