"""TensorFlow's input gradients: ``conv_backprop_input`` and ``conv{1,2,3}d_backprop_input``.

Each is the transposed conv of :mod:`jconv._tf.transpose` with TensorFlow's argument order.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
from jax import lax
from jax.typing import ArrayLike, DTypeLike

from jconv._tf.transpose import transpose


def _backprop_input(
    input_sizes: Sequence[int],
    filters: ArrayLike,
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
    if input_sizes is None:
        raise TypeError(f"{fn}: input_sizes is required: the forward input's shape")
    return transpose(
        out_backprop,
        filters,
        input_sizes,
        fn=fn,
        rank=rank,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
        dy_name="out_backprop",
        shape_name="input_sizes",
    )


def conv_backprop_input(
    input_sizes: Sequence[int],
    filters: ArrayLike,
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
    """Input gradient of the N-D :func:`jconv.conv`, TensorFlow's ``tf.nn.conv_backprop_input``.

    ``dx[b, i * s + t * d - lo, c] += dy[b, i, o] * w[t, c, o]``: the same op as
    :func:`jconv.conv_transpose` with ``output_shape=input_sizes`` and arguments in
    TensorFlow's order, ``dx = conv_transpose(out_backprop, filters, input_sizes, ...)``.
    ``input_sizes`` is needed because for stride ``s`` up to ``s`` input sizes give the same
    output size; each must satisfy ``forward_output(n) == m``.

    Args:
      input_sizes: the forward input's full shape ``(N, *n, C_in)`` or its spatial sizes.
      filters: the forward filter ``(*k, C_in / groups, C_out)``.
      out_backprop: ``(N, *m, C_out)``, the gradient of the forward output.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, *n, C_in)`` in the data layout.

    Raises:
      ValueError: input sizes the forward conv does not map to ``out_backprop``'s (the message
        gives the legal range), channel mismatches, bad settings.
      TypeError: a missing ``input_sizes``, non-float or mismatched dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.ones((1, 5, 5, 1)), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dx = jconv.conv2d_backprop_input(x.shape, w, dy, strides=2)
      >>> bool((dx == jax.grad(lambda x: (jconv.conv2d(x, w, strides=2) * dy).sum())(x)).all())
      True

    See also: ``tf.nn.conv_backprop_input``, ``torch.nn.grad.convNd_input``.
    """
    return _backprop_input(
        input_sizes,
        filters,
        out_backprop,
        fn="jconv.conv_backprop_input",
        rank=None,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv1d_backprop_input(
    input_sizes: Sequence[int],
    filters: ArrayLike,
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
    """Input gradient of the 1-D :func:`jconv.conv1d`, TensorFlow's ``tf.nn.conv1d_backprop_input``.

    ``dx[b, i * s + t * d - lo, c] += dy[b, i, o] * w[t, c, o]``: the same op as
    :func:`jconv.conv1d_transpose` with ``output_shape=input_sizes`` and arguments in
    TensorFlow's order, ``dx = conv1d_transpose(out_backprop, filters, input_sizes, ...)``.
    ``input_sizes`` is needed because for stride ``s`` up to ``s`` input sizes give the same
    output size; each must satisfy ``forward_output(n) == m``.

    Args:
      input_sizes: the forward input's full shape ``(N, n, C_in)`` or its spatial sizes.
      filters: the forward filter ``(k, C_in / groups, C_out)``.
      out_backprop: ``(N, m, C_out)``, the gradient of the forward output.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, n, C_in)`` in the data layout.

    Raises:
      ValueError: input sizes the forward conv does not map to ``out_backprop``'s (the message
        gives the legal range), channel mismatches, bad settings.
      TypeError: a missing ``input_sizes``, non-float or mismatched dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.ones((1, 5, 5, 1)), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dx = jconv.conv2d_backprop_input(x.shape, w, dy, strides=2)
      >>> bool((dx == jax.grad(lambda x: (jconv.conv2d(x, w, strides=2) * dy).sum())(x)).all())
      True

    See also: ``tf.nn.conv1d_backprop_input``, ``torch.nn.grad.conv1d_input``.
    """
    return _backprop_input(
        input_sizes,
        filters,
        out_backprop,
        fn="jconv.conv1d_backprop_input",
        rank=1,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv2d_backprop_input(
    input_sizes: Sequence[int],
    filters: ArrayLike,
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
    """Input gradient of the 2-D :func:`jconv.conv2d`, TensorFlow's ``tf.nn.conv2d_backprop_input``.

    ``dx[b, i * s + t * d - lo, c] += dy[b, i, o] * w[t, c, o]``: the same op as
    :func:`jconv.conv2d_transpose` with ``output_shape=input_sizes`` and arguments in
    TensorFlow's order, ``dx = conv2d_transpose(out_backprop, filters, input_sizes, ...)``.
    ``input_sizes`` is needed because for stride ``s`` up to ``s`` input sizes give the same
    output size; each must satisfy ``forward_output(n) == m``.

    Args:
      input_sizes: the forward input's full shape ``(N, nh, nw, C_in)`` or its spatial sizes.
      filters: the forward filter ``(kh, kw, C_in / groups, C_out)``.
      out_backprop: ``(N, mh, mw, C_out)``, the gradient of the forward output.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, nh, nw, C_in)`` in the data layout.

    Raises:
      ValueError: input sizes the forward conv does not map to ``out_backprop``'s (the message
        gives the legal range), channel mismatches, bad settings.
      TypeError: a missing ``input_sizes``, non-float or mismatched dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.ones((1, 5, 5, 1)), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dx = jconv.conv2d_backprop_input(x.shape, w, dy, strides=2)
      >>> bool((dx == jax.grad(lambda x: (jconv.conv2d(x, w, strides=2) * dy).sum())(x)).all())
      True

    See also: ``tf.nn.conv2d_backprop_input``, ``torch.nn.grad.conv2d_input``.
    """
    return _backprop_input(
        input_sizes,
        filters,
        out_backprop,
        fn="jconv.conv2d_backprop_input",
        rank=2,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv3d_backprop_input(
    input_sizes: Sequence[int],
    filters: ArrayLike,
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
    """Input gradient of the 3-D :func:`jconv.conv3d`, TensorFlow's ``tf.nn.conv3d_backprop_input``.

    ``dx[b, i * s + t * d - lo, c] += dy[b, i, o] * w[t, c, o]``: the same op as
    :func:`jconv.conv3d_transpose` with ``output_shape=input_sizes`` and arguments in
    TensorFlow's order, ``dx = conv3d_transpose(out_backprop, filters, input_sizes, ...)``.
    ``input_sizes`` is needed because for stride ``s`` up to ``s`` input sizes give the same
    output size; each must satisfy ``forward_output(n) == m``.

    Args:
      input_sizes: the forward input's full shape ``(N, nd, nh, nw, C_in)`` or its spatial sizes.
      filters: the forward filter ``(kd, kh, kw, C_in / groups, C_out)``.
      out_backprop: ``(N, md, mh, mw, C_out)``, the gradient of the forward output.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, nd, nh, nw, C_in)`` in the data layout.

    Raises:
      ValueError: input sizes the forward conv does not map to ``out_backprop``'s (the message
        gives the legal range), channel mismatches, bad settings.
      TypeError: a missing ``input_sizes``, non-float or mismatched dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.ones((1, 5, 5, 1)), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dx = jconv.conv2d_backprop_input(x.shape, w, dy, strides=2)
      >>> bool((dx == jax.grad(lambda x: (jconv.conv2d(x, w, strides=2) * dy).sum())(x)).all())
      True

    See also: ``tf.nn.conv3d_backprop_input``, ``torch.nn.grad.conv3d_input``.
    """
    return _backprop_input(
        input_sizes,
        filters,
        out_backprop,
        fn="jconv.conv3d_backprop_input",
        rank=3,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
