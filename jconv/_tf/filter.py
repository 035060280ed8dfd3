"""TensorFlow's filter gradients: ``conv_backprop_filter`` and ``conv{1,2,3}d_backprop_filter``."""

from __future__ import annotations

from collections.abc import Sequence

import jax
from jax import lax
from jax.typing import ArrayLike, DTypeLike

from jconv import _args, _jit, _shapes
from jconv._tf import _common


def _backprop_filter(
    input: ArrayLike,
    filter_sizes: Sequence[int],
    out_backprop: ArrayLike,
    *,
    fn: str,
    rank: int | None,
    strides: int | Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    data_format: str | None,
    dilations: int | Sequence[int],
    method: str,
    precision: lax.PrecisionLike,
    preferred_element_type: DTypeLike | None,
) -> jax.Array:
    """The implementation of every filter-gradient name: normalise, validate, call the jit entry."""
    x, rank, channels_first, sizes = _common.data(fn, "input", input, rank, data_format)
    dy, _, _, ms = _common.data(fn, "out_backprop", out_backprop, rank, data_format)
    _args.same_dtype(fn, ("input", "out_backprop"), x, dy)
    method = _args.method(fn, method, _jit.FILTER_GRAD_METHODS)
    ss, spec, ds, prec, pet = _common.settings(
        fn, strides, padding, dilations, rank, channels_first, precision, preferred_element_type
    )
    fs = _args.as_int_tuple(fn, "filter_sizes", filter_sizes)
    if len(fs) != rank + 2 or any(v < 0 for v in fs):
        raise ValueError(
            f"{fn}: filter_sizes {list(fs)} must be {rank + 2} ints >= 0 "
            "(*kernel_size, in_channels / groups >= 1, out_channels)"
        )
    ks = fs[:rank]
    cout = _common.channels(dy.shape, channels_first)
    if fs[-1] != cout:
        raise ValueError(
            f"{fn}: filter_sizes {list(fs)} has out_channels {fs[-1]} but out_backprop has "
            f"{cout} channels"
        )
    if dy.shape[0] != x.shape[0]:
        raise ValueError(
            f"{fn}: out_backprop has batch {dy.shape[0]} but input has batch {x.shape[0]}"
        )
    groups = _common.groups(
        fn,
        _common.channels(x.shape, channels_first),
        fs[-2],
        cout,
        ("input", "filter_sizes[-2] (in_channels per group)", "out_channels"),
    )
    pads, wants = _args.tf_forward_sizes(fn, spec, sizes, ks, ss, ds)
    geometry = [
        (n, k, s, d, _common.dim_padding(spec, i))
        for i, (n, k, s, d) in enumerate(zip(sizes, ks, ss, ds))
    ]
    _args.forward_sizes_match(fn, "out_backprop", ms, wants, geometry)
    if _shapes.is_zero_result(x.shape, dy.shape, fs):
        return _jit.zeros(fs, x.dtype, pet)
    return _jit.filter_grad(
        x,
        dy,
        kernel_sizes=ks,
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=groups,
        channels_first=channels_first,
        method=method,
        precision=prec,
        preferred_element_type=pet,
    )


def conv_backprop_filter(
    input: ArrayLike,
    filter_sizes: Sequence[int],
    out_backprop: ArrayLike,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    data_format: str | None = None,
    dilations: int | Sequence[int] = 1,
    method: str = "auto",
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """Filter gradient of :func:`jconv.conv` (N-D), ``tf.nn.conv_backprop_filter``.

    ``dw[t, c, o] = sum_(b, i) x_pad[b, i * s + t * d, c] * dy[b, i, o]`` over the input channels
    ``c`` of output channel ``o``'s group. ``filter_sizes`` is needed because the groups and the
    kernel size are not implied by the two arrays.

    Args:
      input: the forward input ``(N, *n, C_in)`` (or channels first).
      filter_sizes: the filter's shape ``(*k, C_in / groups, C_out)``; groups follow from it.
      out_backprop: ``(N, *m, C_out)``; ``m`` must be the forward output size.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``filter_sizes``-shaped gradient (always TF's filter layout).

    Raises:
      ValueError: ``out_backprop`` sizes that the forward conv does not produce, channel or batch
        mismatches, bad settings.
      TypeError: non-float or mismatched dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.arange(25.0).reshape(1, 5, 5, 1), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dw = jconv.conv2d_backprop_filter(x, w.shape, dy, strides=2)
      >>> bool((dw == jax.grad(lambda w: (jconv.conv2d(x, w, strides=2) * dy).sum())(w)).all())
      True

    See also: ``tf.nn.conv_backprop_filter``, ``torch.nn.grad.convNd_weight``.
    """
    return _backprop_filter(
        input,
        filter_sizes,
        out_backprop,
        fn="jconv.conv_backprop_filter",
        rank=None,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv1d_backprop_filter(
    input: ArrayLike,
    filter_sizes: Sequence[int],
    out_backprop: ArrayLike,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    data_format: str | None = "NWC",
    dilations: int | Sequence[int] = 1,
    method: str = "auto",
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """Filter gradient of :func:`jconv.conv1d` (1-D), ``tf.nn.conv1d_backprop_filter``.

    ``dw[t, c, o] = sum_(b, i) x_pad[b, i * s + t * d, c] * dy[b, i, o]`` over the input channels
    ``c`` of output channel ``o``'s group. ``filter_sizes`` is needed because the groups and the
    kernel size are not implied by the two arrays.

    Args:
      input: the forward input ``(N, n, C_in)`` (or ``(N, C_in, n)`` with ``"NCW"``).
      filter_sizes: the filter's shape ``(k, C_in / groups, C_out)``; groups follow from it.
      out_backprop: ``(N, m, C_out)``; ``m`` must be the forward output size.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``filter_sizes``-shaped gradient (always TF's filter layout).

    Raises:
      ValueError: ``out_backprop`` sizes that the forward conv does not produce, channel or batch
        mismatches, bad settings.
      TypeError: non-float or mismatched dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.arange(25.0).reshape(1, 5, 5, 1), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dw = jconv.conv2d_backprop_filter(x, w.shape, dy, strides=2)
      >>> bool((dw == jax.grad(lambda w: (jconv.conv2d(x, w, strides=2) * dy).sum())(w)).all())
      True

    See also: ``tf.nn.conv1d_backprop_filter``, ``torch.nn.grad.conv1d_weight``.
    """
    return _backprop_filter(
        input,
        filter_sizes,
        out_backprop,
        fn="jconv.conv1d_backprop_filter",
        rank=1,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv2d_backprop_filter(
    input: ArrayLike,
    filter_sizes: Sequence[int],
    out_backprop: ArrayLike,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    data_format: str | None = "NHWC",
    dilations: int | Sequence[int] = 1,
    method: str = "auto",
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """Filter gradient of :func:`jconv.conv2d` (2-D), ``tf.nn.conv2d_backprop_filter``.

    ``dw[t, c, o] = sum_(b, i) x_pad[b, i * s + t * d, c] * dy[b, i, o]`` over the input channels
    ``c`` of output channel ``o``'s group. ``filter_sizes`` is needed because the groups and the
    kernel size are not implied by the two arrays.

    Args:
      input: the forward input ``(N, nh, nw, C_in)`` (or channels first with ``"NCHW"``).
      filter_sizes: the filter's shape ``(kh, kw, C_in / groups, C_out)``; groups follow from it.
      out_backprop: ``(N, mh, mw, C_out)``; ``m`` must be the forward output size.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``filter_sizes``-shaped gradient (always TF's filter layout).

    Raises:
      ValueError: ``out_backprop`` sizes that the forward conv does not produce, channel or batch
        mismatches, bad settings.
      TypeError: non-float or mismatched dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.arange(25.0).reshape(1, 5, 5, 1), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dw = jconv.conv2d_backprop_filter(x, w.shape, dy, strides=2)
      >>> bool((dw == jax.grad(lambda w: (jconv.conv2d(x, w, strides=2) * dy).sum())(w)).all())
      True

    See also: ``tf.nn.conv2d_backprop_filter``, ``torch.nn.grad.conv2d_weight``.
    """
    return _backprop_filter(
        input,
        filter_sizes,
        out_backprop,
        fn="jconv.conv2d_backprop_filter",
        rank=2,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv3d_backprop_filter(
    input: ArrayLike,
    filter_sizes: Sequence[int],
    out_backprop: ArrayLike,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    data_format: str | None = "NDHWC",
    dilations: int | Sequence[int] = 1,
    method: str = "auto",
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """Filter gradient of :func:`jconv.conv3d` (3-D), ``tf.nn.conv3d_backprop_filter``.

    ``dw[t, c, o] = sum_(b, i) x_pad[b, i * s + t * d, c] * dy[b, i, o]`` over the input channels
    ``c`` of output channel ``o``'s group. ``filter_sizes`` is needed because the groups and the
    kernel size are not implied by the two arrays.

    Args:
      input: the forward input ``(N, nd, nh, nw, C_in)`` (or channels first with ``"NCDHW"``).
      filter_sizes: the filter's shape ``(kd, kh, kw, C_in / groups, C_out)``; groups follow
        from it.
      out_backprop: ``(N, md, mh, mw, C_out)``; ``m`` must be the forward output size.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``filter_sizes``-shaped gradient (always TF's filter layout).

    Raises:
      ValueError: ``out_backprop`` sizes that the forward conv does not produce, channel or batch
        mismatches, bad settings.
      TypeError: non-float or mismatched dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.arange(25.0).reshape(1, 5, 5, 1), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dw = jconv.conv2d_backprop_filter(x, w.shape, dy, strides=2)
      >>> bool((dw == jax.grad(lambda w: (jconv.conv2d(x, w, strides=2) * dy).sum())(w)).all())
      True

    See also: ``tf.nn.conv3d_backprop_filter``, ``torch.nn.grad.conv3d_weight``.
    """
    return _backprop_filter(
        input,
        filter_sizes,
        out_backprop,
        fn="jconv.conv3d_backprop_filter",
        rank=3,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
