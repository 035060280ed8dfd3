"""The filter-gradient derivations: ``"vjp"`` (JAX's transpose of the forward conv), ``"conv"``
(one convolution of the input with the output gradient), ``"onednn"`` (the same sums as one
feature-grouped convolution, run by oneDNN's direct kernel where it runs), ``"patches"`` (one
matmul of gathered input taps against the output gradient) and ``"taps"`` (one contraction per
tap; JAX differentiates it as it is).

The derivatives of ``"vjp"``, ``"conv"`` and ``"onednn"`` (a filter gradient differentiated again,
e.g. for a gradient penalty) are the ``"patches"`` form, through a ``custom_jvp`` whose tangent is
linear: JAX's own transposes of their convolutions include ``lhs_dilation`` convs that XLA:CPU
aborts on (docs/xla_aborts.md, found by the crash campaign), and the patches form has no
convolution."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

from jconv import _core, _onednn, _shapes
from jconv.derivations import _common


def _filter_grad_vjp(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """``jax.vjp`` of ``w -> conv(x, w)``, evaluated at a zero filter of the wanted shape (the
    values of :func:`filter_grad_vjp`)."""
    cin_g = x.shape[-1] // groups
    if preferred_element_type is not None:  # as in transpose_vjp
        x, dy = x.astype(preferred_element_type), dy.astype(preferred_element_type)
    w0 = jnp.zeros((*kernel_sizes, cin_g, dy.shape[-1]), x.dtype)

    def forward(w):
        return _core.conv(
            x,
            w,
            strides,
            padding,
            dilations,
            groups,
            precision=precision,
            preferred_element_type=preferred_element_type,
        )

    out, pullback = jax.vjp(forward, w0)
    # jax.vjp returns the primal's dtype; the other methods return preferred_element_type's
    return pullback(dy.astype(out.dtype))[0].astype(out.dtype)


def _filter_grad_conv(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """The filter gradient as one convolution of the input with the output gradient.

    ``dw[t, c, o] = sum_{b, i} x_pad[b, i * s + t * d, c] * dy[b, i, o]``: a correlation over the
    spatial dims in which the batch is contracted like a channel, ``dy`` is the kernel dilated by
    the forward *stride* and the window moves by the forward *dilation*. The input's channels act
    as the batch; ``batch_group_count = groups`` pairs each group of input channels with its group
    of output channels. Padding from :func:`jconv._shapes.tight_padding`.
    """
    rank = x.ndim - 2
    pads = _common.tight_pads(
        x.shape[1:-1], dy.shape[1:-1], kernel_sizes, strides, dilations, padding
    )
    spatial = tuple(range(1, rank + 1))
    dimension_numbers = lax.ConvDimensionNumbers(
        lhs_spec=(rank + 1, 0, *spatial),
        rhs_spec=(rank + 1, 0, *spatial),
        out_spec=(rank, rank + 1, *range(rank)),
    )
    return _core.conv_general_dilated(
        x,
        dy,
        dilations,
        pads,
        (1,) * rank,
        strides,
        dimension_numbers,
        batch_group_count=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def _filter_grad_onednn(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """The filter gradient as one feature-grouped convolution, on oneDNN's direct kernel.

    The sums of :func:`_filter_grad_conv` laid out for a plain grouped conv: the input channels
    of a group are the batch, ``(group, batch)`` the features, ``dy`` the kernel
    ``(*m, N, C_out)`` dilated by the forward stride, moving by the forward dilation:
    ``dw[t, c, G O/g + o] = sum_(b, i) x_pad[b, i s + t d, G C/g + c] dy[b, i, G O/g + o]``.
    The padding is written into the input first (:func:`jconv._shapes.tight_padding`; a
    negative high side crops), so the kernel sees an unpadded input exactly ``k_eff + (m - 1) s``
    long. oneDNN runs it where :func:`jconv._onednn.usable` (float32 on CPU; ``precision`` does
    not apply there); elsewhere XLA's conv runs the same layout.

    A depthwise conv needs no batch in the features: each example is a depthwise conv of
    ``x[b]`` with ``dy[b]`` as its kernel ``(*m, 1, C)``, ``dw = sum_b conv(x[b], dy[b])``, one
    example at a time (``lax.map``), neither operand transposed, where :func:`per_example_form`.

    A batch of one folds its first spatial dim into the batch where
    :func:`folded_form`: one 2-D filter gradient per tap of that dim
    (:func:`_onednn_filter_grad_folded`), the same sums.

    Otherwise, where oneDNN runs and ``x`` and ``dy`` exceed
    :data:`ONEDNN_FILTER_GRAD_SPLIT_BYTES`, the batch is summed in chunks (``lax.map`` over
    chunks of :func:`jconv._shapes.examples_per_chunk` examples, at most
    :data:`ONEDNN_FILTER_GRAD_CHUNK_BYTES` each, never fewer than 2): oneDNN's kernel for
    this layout slows down as the batch (its feature count) grows.
    """
    settings = dict(
        kernel_sizes=kernel_sizes,
        strides=strides,
        padding=padding,
        dilations=dilations,
        groups=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    depthwise = is_depthwise(x, dy, groups)
    if per_example_form(x.shape[1:-1], strides, depthwise=depthwise):
        # stride 1 reads every row: the forward's padding, as it is
        pads = _common.tight_pads(
            x.shape[1:-1], dy.shape[1:-1], kernel_sizes, strides, dilations, padding
        )
        if _onednn_per_example_runs(x, dy, pads, settings):
            return _onednn_filter_grad_per_example(x, dy, pads, dilations, strides, groups)
    if folded_form(x.ndim - 2, x.shape[0], depthwise=depthwise) and _onednn_runs(x, dy, settings):
        return _onednn_filter_grad_folded(x, dy, **settings)
    n = x.shape[0]
    example_bytes = (math.prod(x.shape[1:]) + math.prod(dy.shape[1:])) * x.dtype.itemsize
    chunk = _shapes.examples_per_chunk(n, example_bytes, ONEDNN_FILTER_GRAD_CHUNK_BYTES)
    small = n * example_bytes <= ONEDNN_FILTER_GRAD_SPLIT_BYTES
    if small or chunk == n or not _onednn_runs(x, dy, settings):
        return _onednn_filter_grad_whole(x, dy, **settings)
    full = n // chunk * chunk

    def chunk_sum(operands):
        return _onednn_filter_grad_whole(*operands, **settings)

    def split(a):
        return a[:full].reshape(n // chunk, chunk, *a.shape[1:])

    dw = jnp.sum(lax.map(chunk_sum, (split(x), split(dy))), axis=0)
    if full < n:
        dw = dw + _onednn_filter_grad_whole(x[full:], dy[full:], **settings)
    return dw


ONEDNN_FILTER_GRAD_SPLIT_BYTES = 16 * 2**20
"""Most bytes of ``x`` and ``dy`` :func:`_filter_grad_onednn` sums in one piece. Training steps
(ms, 2 cores; one piece / chunks of at most :data:`ONEDNN_FILTER_GRAD_CHUNK_BYTES`): 3x3 convs
of 32 x 32² x 64 (18 MB) 60.8 / 33.9, 16 x 64² x 64 to 128 with stride 2 (26 MB) 63.3 / 50.9,
1-D 32 x 4096 x 32 with k = 8, s = 4 (25 MB) 40.2 / 37.2; below it the chunks gained nothing
in a step (8 x 64² x 64 with stride 2, 13 MB: 22.8 / 23.5; 8 x 4096 x 32: 4.5 / 4.9), though
the filter gradient alone ran faster in them (docs/auto.md)."""

ONEDNN_FILTER_GRAD_CHUNK_BYTES = 4 * 2**20
"""Most bytes of ``x`` and ``dy`` in one chunk of :func:`_filter_grad_onednn`'s batch, where it
is split (:data:`ONEDNN_FILTER_GRAD_SPLIT_BYTES`): 32 x 32² x 64 in chunks of at most 4 / 8 /
16 MiB, 33.9 / 46.2 / 64.2 ms a step."""


def _onednn_operands(x, dy, *, kernel_sizes, strides, padding, dilations, groups, **_):
    """``_filter_grad_onednn``'s conv operands: padded ``x`` as ``(C/g, *S, g N)``, ``dy`` as
    the kernel ``(*m, N, C_out)``."""
    rank = x.ndim - 2
    n, cin = x.shape[0], x.shape[-1]
    cin_g = cin // groups
    x = _core.zero_pad(
        x,
        _common.tight_pads(
            x.shape[1:-1], dy.shape[1:-1], kernel_sizes, strides, dilations, padding
        ),
    )
    spatial = x.shape[1:-1]
    # (N, *S, g, c) -> (c, *S, g, N): batch c, features (group, batch)
    x = x.reshape(n, *spatial, groups, cin_g)
    x = jnp.transpose(x, (rank + 2, *range(1, rank + 1), rank + 1, 0))
    return x.reshape(cin_g, *spatial, groups * n), jnp.moveaxis(dy, 0, rank)


def _onednn_runs(x, dy, settings) -> bool:
    """Whether oneDNN runs ``_filter_grad_onednn``'s conv (shapes only; the same for any chunk
    of the batch, which only changes the feature count)."""
    inputs, kernel = jax.eval_shape(functools.partial(_onednn_operands, **settings), x, dy)
    none = ((0, 0),) * (x.ndim - 2)
    return _onednn.usable(  # the conv's strides are the forward dilations, and vice versa
        inputs,
        kernel,
        none,
        settings["groups"],
        settings["preferred_element_type"],
        settings["dilations"],
        settings["strides"],
    )


def per_example_form(in_sizes, strides, *, depthwise: bool) -> bool:
    """Whether ``"onednn"`` sums a depthwise filter gradient example by example: 2-D and 3-D
    convs of stride 1 without a one-row spatial dim, where oneDNN's depthwise kernel ran
    2-9x faster than ``"taps"`` (8 x 64² x 128, 3x3: 2.4 against 6.9 ms; 2 x 32³ x 32,
    3x3x3: 2.8 against 52; 8 x 128² x 32: 3.9 against 10.8). Elsewhere it ran slower (a
    one-row dim: 3.3 against 1.7 ms), far slower (3-D stride 2: 210 ms against 5.7; a channel
    multiplier of 2: 632 against 66) or not in a minute (1-D, 8 x 4096 x 64), and the grouped
    batch form runs.

    >>> [per_example_form(n, (1,) * len(n), depthwise=True) for n in ((64, 64), (64,), (1, 64))]
    [True, False, False]
    """
    return (
        depthwise
        and len(in_sizes) >= 2
        and all(s == 1 for s in strides)
        and all(n > 1 for n in in_sizes)
    )


def folded_form(rank: int, batch: int, *, depthwise: bool) -> bool:
    """Whether ``"onednn"`` folds the first spatial dim into the batch: a batch of one, 2-D or
    3-D, not depthwise. oneDNN's kernel for the whole layout has the batch as its features and
    runs one feature slowly; folded, each tap of the first dim is one conv of one rank lower
    with the first output dim as its features. Training steps (ms, 2 cores, whole / folded),
    3-D: 1 x 16³ x 32, 3x3x3, 11.0 / 4.3; 1 x 32³ x 32 to 64, stride 2, 18.8 / 10.9;
    1 x 8 x 32² x 32, 13.1 / 10.1; 1 x 64 x 16² x 16, 9.5 / 6.4; 2-D: 1 x 64² x 64, 3x3,
    9.6 / 7.9; 1 x 32² x 128, 8.8 / 6.7; 1 x 128² x 32, stride 2, 6.4 / 5.7. With a batch of
    two it ran as fast or slower (2 x 32³ x 32, stride 2: 24.0 / 24.5; 2 x 16 x 24² x 32:
    20.3 / 23.0; only 2 x 16³ x 32 gained, 12.0 / 10.1), example by example too.

    >>> [folded_form(r, n, depthwise=False) for r, n in ((3, 1), (2, 1), (1, 1), (3, 2))]
    [True, True, False, False]
    """
    return rank >= 2 and batch == 1 and not depthwise


def _onednn_filter_grad_folded(x, dy, *, kernel_sizes, strides, padding, dilations, **settings):
    """``_filter_grad_onednn`` with the first spatial dim folded into the batch: for each tap
    ``t`` of that dim, the rows ``x_pad[:, t d + i s]`` (``i < m``) meet ``dy[:, i]`` as
    ``N m`` examples of a conv of one rank lower,
    ``dw[t] = filter_grad(x_pad[:, t d :: s][:, :m] -> (N m, ...), dy -> (N m, ...))``;
    the taps are stacked."""
    n, m = dy.shape[0], dy.shape[1]
    k, s, d = kernel_sizes[0], strides[0], dilations[0]
    lo, hi = _shapes.tight_padding(x.shape[1], m, k, s, d, padding[0][0])
    x = _core.zero_pad(x, ((lo, hi), *((0, 0),) * (x.ndim - 3)))
    grads = dy.reshape(n * m, *dy.shape[2:])
    rest = dict(
        kernel_sizes=kernel_sizes[1:],
        strides=strides[1:],
        padding=padding[1:],
        dilations=dilations[1:],
        **settings,
    )

    def tap(t):
        rows = lax.slice_in_dim(x, t * d, t * d + (m - 1) * s + 1, s, axis=1)
        return _filter_grad_onednn(rows.reshape(n * m, *rows.shape[2:]), grads, **rest)

    return jnp.stack([tap(t) for t in range(k)])


def is_depthwise(x, dy, groups: int) -> bool:
    """One input and one output channel per group, more than one group (``x`` and ``dy``
    channels-last)."""
    return groups > 1 and x.shape[-1] == groups == dy.shape[-1]


def _onednn_per_example_runs(x, dy, pads, settings) -> bool:
    """Whether oneDNN runs the per-example conv of :func:`_onednn_filter_grad_per_example`."""
    return _onednn.usable(
        jax.ShapeDtypeStruct((1, *x.shape[1:]), x.dtype),
        jax.ShapeDtypeStruct((*dy.shape[1:-1], 1, dy.shape[-1]), dy.dtype),
        pads,
        settings["groups"],
        settings["preferred_element_type"],
        settings["dilations"],  # the conv's strides are the forward dilations, and vice versa
        settings["strides"],
    )


def _onednn_filter_grad_per_example(x, dy, pads, conv_strides, conv_dilations, groups):
    """``_filter_grad_onednn`` for a depthwise conv: ``sum_b conv(x[b], dy[b])``, ``dy[b]``
    the kernel ``(*m, 1, C)``, moving by ``conv_strides`` (the forward dilations), dilated by
    ``conv_dilations`` (the forward strides), ``x[b]`` padded by ``pads``."""

    def one(operands):
        example, grads = operands
        kernel = grads.reshape(*grads.shape[:-1], 1, grads.shape[-1])
        return _onednn.conv(example[None], kernel, pads, conv_strides, conv_dilations, groups)[0]

    n = x.shape[0]
    out = one((x[0], dy[0])) if n == 1 else jnp.sum(lax.map(one, (x, dy)), axis=0)
    return out[..., None, :]  # (*k, 1, C)


def _onednn_filter_grad_whole(
    x, dy, *, kernel_sizes, strides, padding, dilations, groups, precision, preferred_element_type
):
    """``_filter_grad_onednn``'s sums over the whole of the given batch, as one conv."""
    rank = x.ndim - 2
    x, kernel = _onednn_operands(
        x,
        dy,
        kernel_sizes=kernel_sizes,
        strides=strides,
        padding=padding,
        dilations=dilations,
        groups=groups,
    )
    none = ((0, 0),) * rank
    if _onednn.usable(x, kernel, none, groups, preferred_element_type, dilations, strides):
        out = _onednn.conv(x, kernel, none, dilations, strides, groups)  # (c, *k, O)
    else:
        out = _core.conv_general_dilated(
            x,
            kernel,
            dilations,
            none,
            (1,) * rank,
            strides,
            _core.canonical_dimension_numbers(rank),
            feature_group_count=groups,
            precision=precision,
            preferred_element_type=preferred_element_type,
        )
    return jnp.moveaxis(out, 0, rank)


def filter_grad_patches(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """The filter gradient as one matrix product: gathered input taps against ``dy``.

    ``dw[t, c, o] = sum_{b, i} x_pad[b, i * s + t * d, c] * dy[b, i, o]``: for each tap ``t`` the
    strided view ``x_pad[:, t * d :: s]`` (``m`` rows) is gathered, and one ``dot_general``
    contracts batch and positions, with the groups as a batch dimension.
    """
    rank = x.ndim - 2
    ms = dy.shape[1:-1]
    x = _core.zero_pad(
        x, _common.tight_pads(x.shape[1:-1], ms, kernel_sizes, strides, dilations, padding)
    )
    taps = [view for _, view in _core.tap_views(x, kernel_sizes, strides, dilations, ms)]
    cin, cout = x.shape[-1], dy.shape[-1]
    patches = jnp.stack(taps, axis=-2).reshape(*x.shape[:1], *ms, len(taps), groups, cin // groups)
    grads = dy.reshape(*dy.shape[:-1], groups, cout // groups)
    contract = tuple(range(rank + 1))
    # (N, *M, T, g, c) x (N, *M, g, o) -> (g, T, c, o)
    dw = lax.dot_general(
        patches,
        grads,
        ((contract, contract), ((rank + 2,), (rank + 1,))),
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    dw = jnp.transpose(dw, (1, 2, 0, 3))
    return dw.reshape(*kernel_sizes, cin // groups, cout)


def filter_grad_taps(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """The filter gradient tap by tap: ``dw[t] = sum_(b, i) x_pad[b, i * s + t * d] (x) dy[b, i]``.

    One contraction per tap of that tap's strided view with ``dy``, nothing gathered. For a
    depthwise conv (one input channel per group, one output channel per group) each tap's
    contraction is an elementwise product summed over batch and positions, which XLA fuses
    into one reduction; otherwise a ``dot_general`` with the groups as a batch dimension.

    On CPU the depthwise sums run one example at a time (``lax.map``), all taps of an example
    while its data is in cache, then add over the batch: XLA:CPU reduces the leading dims of
    ``(N, *M, C)`` reading with a stride of ``C``, so the whole-batch reductions stream the
    batch from memory once per tap (about 3x slower on an 8 x 64 x 64 x 128 depthwise 3x3).
    Each example is zero-padded inside the loop: a pad of the whole batch outside it would be
    fused into every slice (a bounds check per element, about 1.7x slower).
    """
    rank = x.ndim - 2
    ms = dy.shape[1:-1]
    cin, cout = x.shape[-1], dy.shape[-1]
    cin_g, cout_g = cin // groups, cout // groups
    pads = _common.tight_pads(x.shape[1:-1], ms, kernel_sizes, strides, dilations, padding)
    out_dtype = preferred_element_type or x.dtype
    accumulate = _common.accumulation_dtype(out_dtype) or out_dtype
    elementwise = cin_g == 1 and cout_g == 1
    grads = dy.astype(accumulate) if elementwise else dy.reshape(*dy.shape[:-1], groups, cout_g)
    contract = tuple(range(rank + 1))
    if elementwise:

        def tap_sums(x, grads):  # (T, C): each tap's sum over the examples and positions
            views = _core.tap_views(_core.zero_pad(x, pads), kernel_sizes, strides, dilations, ms)
            return jnp.stack([jnp.sum(v.astype(accumulate) * grads, contract) for _, v in views])

        if jax.default_backend() == "cpu" and x.shape[0] != 1:  # padded per example, too
            per_example = lax.map(lambda a: tap_sums(a[0][None], a[1][None]), (x, grads))
            sums = jnp.sum(per_example, axis=0)
        else:
            sums = tap_sums(x, grads)
        return sums.reshape(*kernel_sizes, cin_g, cout).astype(out_dtype)
    x = _core.zero_pad(x, pads)
    taps = []
    for _, view in _core.tap_views(x, kernel_sizes, strides, dilations, ms):
        view = view.reshape(*view.shape[:-1], groups, cin_g)
        # (N, *M, g, c) x (N, *M, g, o) -> (g, c, o)
        tap = lax.dot_general(
            view,
            grads,
            ((contract, contract), ((rank + 1,), (rank + 1,))),
            precision=precision,
            preferred_element_type=accumulate,
        )
        taps.append(jnp.transpose(tap, (1, 0, 2)).reshape(cin_g, cout))
    return jnp.stack(taps).reshape(*kernel_sizes, cin_g, cout).astype(out_dtype)


def _patches_derivatives(values):
    """``values``' filter gradient, differentiated as :func:`filter_grad_patches` (same sums)."""

    @functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
    def op(x, dy, settings):
        return values(x, dy, **dict(settings))

    def jvp(settings, primals, tangents):
        out = values(*primals, **dict(settings))

        def patches(a, b):
            return filter_grad_patches(a, b, **dict(settings))

        return out, _common.bilinear_tangent(patches, primals, tangents, out)

    op.defjvp(jvp, symbolic_zeros=True)

    @functools.wraps(values)
    def method(x, dy, **settings):
        return op(x, dy, tuple(sorted(settings.items())))

    return method


filter_grad_vjp = _patches_derivatives(_filter_grad_vjp)
filter_grad_conv = _patches_derivatives(_filter_grad_conv)
filter_grad_onednn = _patches_derivatives(_filter_grad_onednn)
