"""The classic manual derivation's helpers (public): ``rot180``, ``pad_to_full``, ``nhwc_to_hwio``.

With them the transposed conv is ``conv(pad_to_full(dy), rot180(w))`` (``method="pad"``), and
the filter gradient a conv of the batch-moved input with the output gradient."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
from jax import lax

from jconv import _core, _shapes


def _per_dim(value: int | Sequence[int], rank: int) -> tuple[int, ...]:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def rot180(filters):
    """Rotate a filter by 180 degrees: reverse every spatial axis of ``(*k, C_in, C_out)``.

    Correlating with ``rot180(w)`` is convolving with ``w``; the input gradient of a conv is a
    correlation of the output gradient with the rotated kernel.

    Args:
      filters: ``(*k, C_in, C_out)`` array; the last two axes are channels and stay put.

    Returns:
      ``filters[::-1, ..., ::-1, :, :]``.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> w = jnp.arange(1.0, 10.0).reshape(3, 3, 1, 1)
      >>> jconv.rot180(w)[..., 0, 0]
      Array([[9., 8., 7.],
             [6., 5., 4.],
             [3., 2., 1.]], dtype=float32)
    """
    filters = jnp.asarray(filters)
    return lax.rev(filters, tuple(range(filters.ndim - 2)))


def pad_to_full(
    x,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    dilations: int | Sequence[int] = 1,
):
    """Insert ``s - 1`` zeros between rows and pad ``k_eff - 1`` zeros on both sides.

    A VALID, stride-1 correlation of the result with ``rot180(w)`` is the "full" transposed
    convolution of ``x``: length ``(m - 1) * s + k_eff`` per spatial dim, every position where a
    stride-``s`` window of the forward conv touched.

    Args:
      x: ``(N, *spatial, C)`` array.
      kernel_size: ``k`` per spatial dim (an int for all).
      strides: forward stride per spatial dim.
      dilations: kernel dilation per spatial dim.

    Returns:
      ``(N, *[(m - 1) * s + 1 + 2 * (k_eff - 1)], C)``.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.pad_to_full(jnp.ones((1, 2, 1)), 3, strides=2)[0, :, 0]
      Array([0., 0., 1., 0., 1., 0., 0.], dtype=float32)
    """
    x = jnp.asarray(x)
    rank = x.ndim - 2
    ks, ss, ds = (_per_dim(v, rank) for v in (kernel_size, strides, dilations))
    edges = [_shapes.effective_kernel_size(k, d) - 1 for k, d in zip(ks, ds)]
    return _core.zero_pad(x, [(e, e) for e in edges], interior=[s - 1 for s in ss])


def nhwc_to_hwio(x):
    """Move the batch axis next to the channels: ``(N, *spatial, C)`` to ``(*spatial, N, C)``.

    With it a batch of output gradients serves as a filter whose input channels are the batch. For
    stride 1 and VALID padding the filter gradient of ``conv2d(x, w)`` is
    ``nhwc_to_hwio(conv2d(jnp.swapaxes(x, 0, -1), nhwc_to_hwio(dy)))``: the input's channels
    become its batch, the batch is contracted like a channel.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.nhwc_to_hwio(jnp.zeros((2, 5, 7, 3))).shape
      (5, 7, 2, 3)
    """
    x = jnp.asarray(x)
    return jnp.moveaxis(x, 0, -2)
