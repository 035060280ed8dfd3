"""Public shape helpers: the forward output shape and the legal transposed output sizes."""

from __future__ import annotations

from jconv import _args, _shapes


def _common(fn, input_spatial, kernel_size, strides, padding, dilations):
    sizes = _args.as_int_tuple(fn, "input_spatial", input_spatial)
    rank = len(sizes)
    if rank == 0:
        raise ValueError(f"{fn}: input_spatial must have at least one spatial size")
    ks = _args.ints_per_dim(fn, "kernel_size", kernel_size, rank, False)
    ss = _args.ints_per_dim(fn, "strides", strides, rank, False)
    ds = _args.ints_per_dim(fn, "dilations", dilations, rank, False)
    spec = _args.padding_spec(fn, padding, rank, False)
    dims = [spec if isinstance(spec, str) else spec[i] for i in range(rank)]
    return sizes, ks, ss, ds, dims


def conv_output_shape(input_spatial, kernel_size, strides=1, padding="VALID", dilations=1):
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
    sizes, ks, ss, ds, dims = _common(fn, input_spatial, kernel_size, strides, padding, dilations)
    out = []
    for i, (n, k, s, d, p) in enumerate(zip(sizes, ks, ss, ds, dims)):
        lo, hi = _shapes.resolve_padding(p, n, k, s, d)
        m = _shapes.tf_forward_size(p, n, k, s, d)
        if m < 0:
            raise ValueError(
                f"{fn}: in {_args.dim_name(len(sizes), i)} the window (kernel {k}, dilation {d}) "
                f"is larger than the input {n} padded by ({lo}, {hi}) by the stride {s} or more: "
                "TensorFlow's output size would be negative"
            )
        out.append(m)
    return tuple(out)


def conv_transpose_output_shapes(
    input_spatial, kernel_size, strides=1, padding="SAME", dilations=1
):
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
    sizes, ks, ss, ds, dims = _common(fn, input_spatial, kernel_size, strides, padding, dilations)
    return tuple(
        _shapes.tf_transpose_size_range(m, k, s, d, p)
        for m, k, s, d, p in zip(sizes, ks, ss, ds, dims)
    )
