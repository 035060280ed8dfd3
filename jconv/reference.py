"""Plain NumPy loop references: what each op means, written for reading, not speed.

Layout as jconv's TensorFlow API with channels last: data ``(N, *spatial, C)``, filters
``(*k, C_in / groups, C_out)``. ``padding`` is ``"SAME"``, ``"VALID"`` or one ``(lo, hi)`` pair per
spatial dim; ``strides``/``dilations`` an int or one int per spatial dim. Groups are inferred from
the channel counts. Loops run over output positions and kernel taps; each step is a small matrix
product over the channels.

Examples:
  The classic Stack Overflow conv2d_transpose example, drawn as the overlay: each input element
  stamps the kernel, scaled, at stride offsets; overlapping stamps add.

  >>> import numpy as np
  >>> from jconv import reference
  >>> x = np.array([[-67., -77.], [-117., -127.]]).reshape(1, 2, 2, 1)
  >>> w = np.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]]).reshape(3, 3, 1, 1)
  >>> reference.conv_transpose(x, w, (5, 5), strides=2, padding="VALID")[0, 0, 0, 0]
  np.float64(67.0)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from jconv import _shapes

Ints = int | Sequence[int]
Padding = str | Sequence[tuple[int, int]]

__all__ = ["conv", "conv_transpose", "conv_backprop_input", "conv_backprop_filter"]


def _per_dim(value, rank):
    if isinstance(value, Sequence) or isinstance(value, np.ndarray):
        return tuple(int(v) for v in value)
    return (int(value),) * rank


def _pads(padding, sizes, ks, ss, ds):
    if isinstance(padding, str):
        padding = padding.upper()
        return [
            _shapes.resolve_padding(padding, n, k, s, d) for n, k, s, d in zip(sizes, ks, ss, ds)
        ]
    return [tuple(p) for p in padding]


def _at(index):
    """``a[:, *index]``: every example at one spatial index (or slice)."""
    return (slice(None), *index)


def _setup(x_shape, w_shape, strides, dilations):
    rank = len(x_shape) - 2
    ks = tuple(w_shape[:rank])
    return rank, ks, _per_dim(strides, rank), _per_dim(dilations, rank)


def _windows(out_sizes, ks, ss, ds):
    """Yield (output index, tap, padded input position) for every multiply of the conv."""
    for i in itertools.product(*map(range, out_sizes)):
        for t in itertools.product(*map(range, ks)):
            yield i, t, tuple(a * s + b * d for a, b, s, d in zip(i, t, ss, ds))


def conv(
    x: ArrayLike,
    w: ArrayLike,
    strides: Ints = 1,
    padding: Padding = "VALID",
    dilations: Ints = 1,
) -> np.ndarray:
    """``y[b, i, o] = sum_{t, c} x_pad[b, i * s + t * d, c in group(o)] * w[t, c, o]``."""
    x, w = np.asarray(x), np.asarray(w)
    rank, ks, ss, ds = _setup(x.shape, w.shape, strides, dilations)
    pads = _pads(padding, x.shape[1:-1], ks, ss, ds)
    groups = x.shape[-1] // w.shape[-2]
    cin_g, cout = w.shape[-2], w.shape[-1]
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_sizes = [
        _shapes.conv_output_size(n, k, s, d, lo, hi)
        for n, k, s, d, (lo, hi) in zip(x.shape[1:-1], ks, ss, ds, pads)
    ]
    y = np.zeros((x.shape[0], *out_sizes, cout), np.result_type(x, w))
    for i, t, pos in _windows(out_sizes, ks, ss, ds):
        xs = xp[_at(pos)].reshape(x.shape[0], groups, cin_g)
        ws = w[t].reshape(cin_g, groups, cout // groups)
        y[_at(i)] += np.einsum("bgc,cgo->bgo", xs, ws).reshape(x.shape[0], cout)
    return y


def _overlay(dy, w, n, pads, ks, ss, ds, groups):
    cin_g, cout = w.shape[-2], w.shape[-1]
    full = [
        max(a + lo + hi, (m - 1) * s + _shapes.effective_kernel_size(k, d))
        for a, m, k, s, d, (lo, hi) in zip(n, dy.shape[1:-1], ks, ss, ds, pads)
    ]
    out = np.zeros((dy.shape[0], *full, cin_g * groups), np.result_type(dy, w))
    for i, t, pos in _windows(dy.shape[1:-1], ks, ss, ds):
        dys = dy[_at(i)].reshape(dy.shape[0], groups, cout // groups)
        ws = w[t].reshape(cin_g, groups, cout // groups)
        out[_at(pos)] += np.einsum("bgo,cgo->bgc", dys, ws).reshape(dy.shape[0], groups * cin_g)
    crop = tuple(slice(lo, lo + a) for a, (lo, _) in zip(n, pads))
    return out[_at(crop)]


def conv_transpose(
    dy: ArrayLike,
    w: ArrayLike,
    output_size: Sequence[int],
    strides: Ints = 1,
    padding: Padding = "SAME",
    dilations: Ints = 1,
    groups: int = 1,
) -> np.ndarray:
    """The transposed conv as an overlay (scatter-add).

    Every ``dy[b, i, o]`` adds ``dy[b, i, o] * w[t, :, o]`` into output row ``i * s + t * d - lo``
    for each tap ``t``; rows that fall into the padding are dropped. ``w`` is the forward conv's
    filter ``(*k, C_out_t / groups, C_in_t)``; ``output_size`` is the forward input's spatial size
    ``n`` (several are legal when ``s > 1``).
    """
    dy, w = np.asarray(dy), np.asarray(w)
    _, ks, ss, ds = _setup(dy.shape, w.shape, strides, dilations)
    n = tuple(int(a) for a in output_size)
    return _overlay(dy, w, n, _pads(padding, n, ks, ss, ds), ks, ss, ds, groups)


def conv_backprop_input(
    input_sizes: Sequence[int],
    w: ArrayLike,
    dy: ArrayLike,
    strides: Ints = 1,
    padding: Padding = "VALID",
    dilations: Ints = 1,
) -> np.ndarray:
    """Input gradient of :func:`conv` for an input of full shape ``input_sizes``.

    The same overlay as :func:`conv_transpose`; groups are ``input_sizes[-1] // w.shape[-2]``.
    """
    dy, w = np.asarray(dy), np.asarray(w)
    _, ks, ss, ds = _setup(dy.shape, w.shape, strides, dilations)
    n = tuple(int(a) for a in input_sizes[1:-1])
    groups = int(input_sizes[-1]) // w.shape[-2]
    return _overlay(dy, w, n, _pads(padding, n, ks, ss, ds), ks, ss, ds, groups)


def conv_backprop_filter(
    x: ArrayLike,
    filter_sizes: Sequence[int],
    dy: ArrayLike,
    strides: Ints = 1,
    padding: Padding = "VALID",
    dilations: Ints = 1,
) -> np.ndarray:
    """Filter gradient of :func:`conv`.

    ``dw[t, c, o] = sum_{b, i} x_pad[b, i * s + t * d, c] * dy[b, i, o]`` over the channels ``c``
    of output channel ``o``'s group.
    """
    x, dy = np.asarray(x), np.asarray(dy)
    filter_sizes = tuple(int(a) for a in filter_sizes)
    _, ks, ss, ds = _setup(x.shape, filter_sizes, strides, dilations)
    pads = _pads(padding, x.shape[1:-1], ks, ss, ds)
    cin_g, cout = filter_sizes[-2], filter_sizes[-1]
    groups = x.shape[-1] // cin_g
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    dw = np.zeros(filter_sizes, np.result_type(x, dy))
    for i, t, pos in _windows(dy.shape[1:-1], ks, ss, ds):
        xs = xp[_at(pos)].reshape(x.shape[0], groups, cin_g)
        dys = dy[_at(i)].reshape(x.shape[0], groups, cout // groups)
        dw[t] += np.einsum("bgc,bgo->cgo", xs, dys).reshape(cin_g, cout)
    return dw
