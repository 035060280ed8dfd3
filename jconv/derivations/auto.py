"""``method="auto"``: the one place that chooses a derivation, and every threshold it uses.

jconv's jit entry points (:mod:`jconv._jit`) call :func:`transpose_method_for`,
:func:`filter_grad_method_for` and :func:`forward_method_for` at trace time, with the canonical
arrays' shapes and dtypes; an explicit ``method=`` is never changed. The measurements behind each
threshold are in the dated reports under ``benchmarks/`` and summarised in ``docs/auto.md``.

On GPU/TPU: ``"dilate"`` and ``"conv"``, XLA's native lowerings (cuDNN's and the TPU's). On CPU,
XLA's ``lhs_dilation`` conv multiplies every inserted zero (3-D: a generic loop) and JAX's
gradients of XLA convs are image-sized-window convs far below matmul speed, so the choice is
among the matmul forms, bounded in program size (compile time grows with the taps they slice).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jconv import _onednn, _shapes
from jconv.derivations import _common, col2im, filter_grad

MAX_TAPS = 128
"""Most tap slices a chosen derivation may make (``_shapes.phase_taps`` for ``"phase"``,
``prod(k)`` for ``"col2im"`` and ``"patches"``): a tap costs about 10 ms of compile time in a
training step on 2 cores, so 128 taps stay near a second."""

WINOGRAD_MIN_TILES = {1: 512, 2: 2048}
"""``"winograd"`` for 1-D/2-D undilated convs with ``k = 2 s`` (``s > 1``) once they make this many
F(2, 2) tiles, ``batch * prod(ceil((m + 1) / 2))``; below it the tiles' rounding and transforms
cost more than the quarter of the multiplies they save. Not in 3-D, where the transforms cost
more than the multiplies saved at every measured size."""

PHASE_3D_MAX_WASTE = 1.3
"""``"phase"`` for 3-D undilated convs with ``k = U s`` (``U >= 2``) once its phase grid
``Q = m + U - 1`` computes at most this factor of the needed rows, ``prod(Q / m)``: there its one
matmul over ``prod(U)`` gathered taps beats col2im's ``prod(k)`` column blocks."""

COL2IM_MAX_COLUMN_RATIO = 8
"""``"col2im"`` for upsampling convs whose column matrix is at most this factor of the output
(``prod(k) <= 8 prod(s)``); else ``"phase"``, which never builds it."""

PHASE_VALUES_1D_BYTES = 8 * 2**20
"""Where auto picks ``"col2im"`` for a 1-D undilated kernel that is a multiple of the stride and
the column matrix has at least this many bytes: ``"phase+col2im"``. In 1-D the phase form's output
needs no interleaving and its matmul sums each phase's taps, so the ``k / s`` times larger column
matrix is never written and re-read; col2im's derivatives trained faster, so they stay."""

WINOGRAD_VALUES_2D_SIZE = 16
"""Where auto picks ``"col2im"`` for a 2-D undilated ``k = 2 s`` kernel and inputs of at least this
size in every dim: ``"winograd+col2im"`` (at input size ``m`` the F(2, 2) tiles multiply
``(3 * ceil((m + 1) / 2) / (2 m))**2`` of the direct products: 0.88 at 8, 0.71 at 16)."""

PHASE_VALUES_2D_ONEDNN_SIZE = 96
"""Where auto picks ``"col2im"`` for a 2-D undilated kernel that is not a multiple of the stride
(k = 3, s = 2), inputs of at least this size in every dim, and oneDNN runs the phase form's
correlations (:func:`jconv._onednn.eligible`): ``"phase+col2im"``."""

PHASE_VALUES_MIN_CHANNELS = 16
"""Where auto picks ``"col2im"``, oneDNN runs the phase form's correlations, col2im would build
its columns in chunks (more than :data:`jconv.derivations.col2im.COL2IM_CHUNK_BYTES`) and the
output fits in one (at most that many bytes, so the phase form's unchunked temporaries stay as
small): ``"phase+col2im"`` where the output has at least this many channels per group. On
fewer channels oneDNN's correlations run far below matmul speed and col2im's values are faster
(8 x 64² x 8 from 32 channels: 0.5 against 0.9 ms); there ``"col2im"`` is taken even past
:data:`COL2IM_MAX_COLUMN_RATIO`: with k = 7, s = 2 from 8 x 48² x 64 to 3 channels, forward /
step 4.6 / 10.7 ms against the phase form's 8.9 / 171; from 4 x 64² x 64 to 8 channels 7.9 /
26 against 6.6 / 171."""


def transpose_method(
    backend: str,
    kernel_sizes: Sequence[int],
    strides: Sequence[int],
    in_sizes: Sequence[int],
    batch: int,
    dilations: Sequence[int] | None = None,
    *,
    column_bytes: int = 0,
    out_bytes: int = 0,
    out_channels: int | None = None,
    onednn: bool = False,
) -> str:
    """The derivation ``method="auto"`` uses for a transposed conv / input gradient.

    ``in_sizes`` are the transposed conv's input (the output gradient's) spatial sizes ``m``,
    ``batch`` its batch size, ``column_bytes`` the size of col2im's column matrix
    (``batch * prod(m) * prod(k) * C_out`` elements of the accumulation dtype), ``out_bytes`` the
    output's size in the same dtype, ``out_channels`` its channels per group, and ``onednn``
    whether oneDNN would run ``"phase"``'s correlations. On CPU, in order:

    0. undilated ``k = s`` (no two taps overlap): where oneDNN runs, ``"phase+col2im"``: the
       values are ``prod(s)`` one-tap correlations (each one matmul, on oneDNN's kernel)
       interleaved by a depth-to-space, the derivatives col2im's matmuls; else ``"col2im"``
       (upconv2d, 8 x 32² x 128 -> 64² x 64, forward / step: 2.6 / 8.8 ms against col2im's
       2.9 / 13.0 and one matmul + depth-to-space differentiated by JAX at 2.8 / 26);
    1. 1-D/2-D, undilated, ``k = 2 s``, enough tiles (:data:`WINOGRAD_MIN_TILES`): ``"winograd"``;
    2. 3-D, undilated, ``k = U s``, little waste (:data:`PHASE_3D_MAX_WASTE`): ``"phase"``;
    3. upsampling with ``prod(k) <= 8 prod(s)`` (:data:`COL2IM_MAX_COLUMN_RATIO`), or to fewer
       than :data:`PHASE_VALUES_MIN_CHANNELS` output channels per group: ``"col2im"``,
       or its pairing with faster values (:data:`PHASE_VALUES_1D_BYTES`,
       :data:`WINOGRAD_VALUES_2D_SIZE`, :data:`PHASE_VALUES_2D_ONEDNN_SIZE`,
       :data:`PHASE_VALUES_MIN_CHANNELS`);
    4. ``"phase"``; where ``"phase"`` would exceed :data:`MAX_TAPS` (the dilation is written into
       its kernel), ``"col2im"`` within the bound, else ``"dilate"``.

    >>> transpose_method("cpu", (4, 4), (2, 2), (8, 8), 8)
    'col2im'
    >>> transpose_method("cpu", (2, 2), (2, 2), (32, 32), 8, onednn=True)   # 2x2 up-conv
    'phase+col2im'
    >>> transpose_method("cpu", (4, 4), (2, 2), (16, 16), 4)   # 324 tiles: winograd's values only
    'winograd+col2im'
    >>> transpose_method("cpu", (3, 3), (1, 1), (16, 16), 8)
    'phase'
    >>> [transpose_method("cpu", (4, 4, 4), (2, 2, 2), (m,) * 3, 2) for m in (8, 12)]
    ['col2im', 'phase']
    >>> [transpose_method("cpu", (16,), (8,), (256,), n) for n in (2, 8)]
    ['col2im', 'winograd']
    >>> transpose_method("cpu", (4, 4), (2, 2), (64, 64), 4)
    'winograd'
    >>> # PyTorch's conv_transpose3d sample: "phase" would slice 4641 taps
    >>> transpose_method("cpu", (4, 5, 6), (3, 2, 1), (4, 4, 4), 2, (4, 4, 4))
    'col2im'
    >>> transpose_method("cpu", (7, 7, 7), (1, 1, 1), (4, 4, 4), 2)   # 343 taps either way
    'dilate'
    >>> transpose_method("gpu", (4, 4), (2, 2), (64, 64), 4)
    'dilate'
    >>> # the pairings: 1-D with a large column matrix; 2-D k = 3, s = 2 where oneDNN runs
    >>> transpose_method("cpu", (16,), (8,), (256,), 2, column_bytes=PHASE_VALUES_1D_BYTES)
    'phase+col2im'
    >>> [transpose_method("cpu", (3, 3), (2, 2), (m, m), 1, onednn=True) for m in (64, 96)]
    ['col2im', 'phase+col2im']
    >>> # k = 3, s = 2 from 8 x 32² x 128 to 64 channels (a down-conv's input gradient): 18 MiB
    >>> # of columns, 8 MiB of output; to 8 channels col2im's values stay
    >>> [transpose_method("cpu", (3, 3), (2, 2), (32, 32), 8, column_bytes=18 * 2**20,
    ...     out_bytes=8 * 2**20, out_channels=c, onednn=True) for c in (64, 8)]
    ['phase+col2im', 'col2im']
    >>> # k = 7, s = 2 (a stem's input gradient): "phase" with 64 output channels, "col2im" with 3
    >>> [transpose_method("cpu", (7, 7), (2, 2), (48, 48), 8, out_channels=c) for c in (64, 3)]
    ['phase', 'col2im']
    """
    rank = len(kernel_sizes)
    dilations = (1,) * rank if dilations is None else tuple(dilations)
    if backend != "cpu":
        return "dilate"
    undilated = all(d == 1 for d in dilations)
    if undilated and tuple(kernel_sizes) == tuple(strides) and any(s > 1 for s in strides):
        return "phase+col2im" if onednn else "col2im"  # k = s: no tap overlaps another
    twice = _shapes.kernel_twice_stride(kernel_sizes, strides)
    if undilated and rank <= 2 and twice:
        tiles = batch * math.prod(-(-(m + 1) // 2) for m in in_sizes)
        if tiles >= WINOGRAD_MIN_TILES[rank]:
            return "winograd"
    phase_fits = _shapes.phase_taps(kernel_sizes, strides, dilations) <= MAX_TAPS
    col2im_fits = math.prod(kernel_sizes) <= MAX_TAPS
    multiple = all(k % s == 0 for k, s in zip(kernel_sizes, strides))
    if undilated and phase_fits and rank >= 3 and multiple:
        if all(k > s for k, s in zip(kernel_sizes, strides)):
            waste = math.prod(
                (m + k // s - 1) / m for m, k, s in zip(in_sizes, kernel_sizes, strides)
            )
            if waste <= PHASE_3D_MAX_WASTE:
                return "phase"
    upsampling = any(s > 1 for s in strides)
    ratio = math.prod(kernel_sizes) <= COL2IM_MAX_COLUMN_RATIO * math.prod(strides)
    few = out_channels is not None and out_channels < PHASE_VALUES_MIN_CHANNELS
    if upsampling and (ratio or few) and col2im_fits:
        if undilated and rank == 1 and multiple and column_bytes >= PHASE_VALUES_1D_BYTES:
            return "phase+col2im"
        if undilated and rank == 2 and twice and min(in_sizes) >= WINOGRAD_VALUES_2D_SIZE:
            return "winograd+col2im"
        if undilated and rank == 2 and not multiple and onednn:
            if min(in_sizes) >= PHASE_VALUES_2D_ONEDNN_SIZE:
                return "phase+col2im"
        chunked = column_bytes > col2im.COL2IM_CHUNK_BYTES >= out_bytes
        if onednn and phase_fits and chunked and not few and out_channels is not None:
            return "phase+col2im"
        return "col2im"
    if phase_fits:
        return "phase"
    return "col2im" if col2im_fits else "dilate"


def transpose_method_for(
    dy, w, *, out_sizes, strides, dilations, groups, preferred_element_type
) -> str:
    """:func:`transpose_method` for canonical ``dy`` ``(N, *m, C_out)`` and ``w`` (arrays or
    tracers: only shapes and dtypes are read), to ``out_sizes`` rows per dim."""
    rank = dy.ndim - 2
    out_dtype = preferred_element_type or dy.dtype
    accumulate = jnp.dtype(_common.accumulation_dtype(out_dtype) or out_dtype)
    ks, cin_g = w.shape[:rank], w.shape[-2]
    column_bytes = (
        dy.shape[0] * math.prod(dy.shape[1:-1]) * math.prod(ks) * cin_g * groups
    ) * accumulate.itemsize
    out_bytes = dy.shape[0] * math.prod(out_sizes) * cin_g * groups * accumulate.itemsize
    return transpose_method(
        jax.default_backend(),
        ks,
        strides,
        dy.shape[1:-1],
        dy.shape[0],
        dilations,
        column_bytes=column_bytes,
        out_bytes=out_bytes,
        out_channels=cin_g,
        onednn=_onednn.eligible(dy, w, groups, preferred_element_type),
    )


def filter_grad_method(
    backend: str,
    kernel_sizes: Sequence[int],
    *,
    onednn: bool = False,
    depthwise: bool = False,
    strides: Sequence[int] | None = None,
    in_sizes: Sequence[int] | None = None,
) -> str:
    """The derivation ``method="auto"`` uses for a filter gradient.

    CPU, in order: a depthwise conv (``depthwise``: one input and one output channel per group)
    where oneDNN runs (``onednn``: float32, :func:`jconv._onednn.eligible`) and
    :func:`jconv.derivations.filter_grad.per_example_form` holds for its ``in_sizes`` and
    ``strides``: ``"onednn"``, per example a depthwise conv of the input with the output gradient
    as its kernel; any other depthwise conv: ``"taps"``, where every other form contracts single
    channels; ``"onednn"`` where oneDNN runs, its direct kernel
    on the filter gradient written as one convolution; else ``"patches"`` (one matmul over
    gathered taps), because XLA:CPU's conv for a filter gradient has an image-sized window and
    runs far below matmul speed; beyond :data:`MAX_TAPS` taps, and on GPU/TPU: ``"conv"``.
    Timings in docs/auto.md.

    >>> filter_grad_method("cpu", (3, 3)), filter_grad_method("cpu", (7, 7, 7))
    ('patches', 'conv')
    >>> filter_grad_method("cpu", (7, 7, 7), onednn=True)
    'onednn'
    >>> [filter_grad_method("cpu", (3, 3), onednn=True, depthwise=True, strides=s,
    ...     in_sizes=(64, 64)) for s in ((1, 1), (2, 2))]
    ['onednn', 'taps']
    """
    per_example = (
        strides is not None
        and in_sizes is not None
        and filter_grad.per_example_form(in_sizes, strides, depthwise=depthwise)
    )
    if backend == "cpu" and onednn and per_example:
        return "onednn"
    if backend == "cpu" and depthwise and math.prod(kernel_sizes) <= MAX_TAPS:
        return "taps"
    if backend == "cpu" and onednn:
        return "onednn"
    if backend == "cpu" and math.prod(kernel_sizes) <= MAX_TAPS:
        return "patches"
    return "conv"


def filter_grad_method_for(
    x, dy, kernel_sizes: Sequence[int], groups: int, strides: Sequence[int]
) -> str:
    """:func:`filter_grad_method` for canonical ``x`` and ``dy`` (arrays or tracers)."""
    return filter_grad_method(
        jax.default_backend(),
        kernel_sizes,
        onednn=_onednn.eligible(x, dy, groups),
        depthwise=filter_grad.is_depthwise(x, dy, groups),
        strides=strides,
        in_sizes=x.shape[1:-1],
    )


def forward_method(
    backend: str, kernel_sizes: Sequence[int], groups: int, cin_per_group: int, *, onednn: bool
) -> str:
    """The derivation ``method="auto"`` uses for a forward conv.

    GPU/TPU: ``"xla"`` (cuDNN's and the TPU's convs). CPU, in order: ``"onednn"`` where oneDNN
    runs (``onednn``: float32); a depthwise conv (one input channel per group): ``"taps"``; 3-D
    within :data:`MAX_TAPS` taps: ``"patches"`` (XLA:CPU's 3-D conv is a generic loop); else
    ``"xla"``.

    >>> forward_method("cpu", (3, 3), 1, 64, onednn=True)
    'onednn'
    >>> [forward_method("cpu", k, g, c, onednn=False) for k, g, c in
    ...     [((3, 3), 64, 1), ((3, 3, 3), 1, 32), ((3, 3), 1, 64)]]
    ['taps', 'patches', 'xla']
    >>> forward_method("gpu", (3, 3), 1, 64, onednn=True)
    'xla'
    """
    if backend != "cpu":
        return "xla"
    if onednn:
        return "onednn"
    if cin_per_group == 1 and groups > 1:
        return "taps"
    if len(kernel_sizes) == 3 and math.prod(kernel_sizes) <= MAX_TAPS:
        return "patches"
    return "xla"


def forward_method_for(x, w, *, groups: int, preferred_element_type) -> str:
    """:func:`forward_method` for canonical ``x`` and ``w`` (arrays or tracers)."""
    rank = x.ndim - 2
    return forward_method(
        jax.default_backend(),
        w.shape[:rank],
        groups,
        w.shape[-2],
        onednn=_onednn.eligible(x, w, groups, preferred_element_type),
    )
