"""Pure-integer shape and padding arithmetic for convolutions and their transposes.

Nothing here touches an array. Every size, padding and legal range that jconv uses is computed by
one function of this module, per spatial dimension, from Python ints:

* ``n``   input size of the forward convolution (the transposed conv's *output* size),
* ``m``   output size of the forward convolution (the transposed conv's *input* size),
* ``k``   kernel size, ``d`` kernel dilation, ``k_eff = (k - 1) * d + 1`` the dilated kernel,
* ``s``   stride, ``(lo, hi)`` zero padding added before and after the input.

The forward convolution reads the padded input of length ``n + lo + hi`` in windows of ``k_eff``
spaced ``s`` apart, so ``m = (n + lo + hi - k_eff) // s + 1``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

Pair = tuple[int, int]


def effective_kernel_size(k: int, d: int) -> int:
    """Size of a kernel of ``k`` taps dilated by ``d``: ``(k - 1) * d + 1``.

    >>> effective_kernel_size(3, 2)
    5
    """
    return (k - 1) * d + 1


def same_padding(n: int, k: int, s: int, d: int = 1) -> Pair:
    """TensorFlow's ``"SAME"`` padding of one dimension.

    SAME makes ``m = ceil(n / s)``. The padded input must hold the last window, which starts at
    ``(m - 1) * s``: ``total = max((m - 1) * s + k_eff - n, 0)``. TensorFlow puts the smaller half
    before: ``lo = total // 2``, ``hi = total - lo`` (so an odd pad goes *after*).

    >>> same_padding(5, 3, 2)       # m = 3, total = 2 * 2 + 3 - 5 = 2
    (1, 1)
    >>> same_padding(4, 4, 2)       # m = 2, total = 2 + 4 - 4 = 2
    (1, 1)
    >>> same_padding(6, 4, 2)       # m = 3, total = 4 + 4 - 6 = 2
    (1, 1)
    >>> same_padding(5, 2, 1)       # total = 1: the odd pixel goes after
    (0, 1)
    """
    m = -(-n // s)
    total = max((m - 1) * s + effective_kernel_size(k, d) - n, 0)
    return total // 2, total - total // 2


def torch_same_padding(k: int, d: int) -> Pair:
    """PyTorch's ``padding="same"`` (stride 1 only): TensorFlow's SAME at stride 1,
    ``d * (k - 1)`` in total with the odd one after, whatever the input size.

    >>> torch_same_padding(3, 1), torch_same_padding(4, 1), torch_same_padding(2, 3)
    ((1, 1), (1, 2), (1, 2))
    """
    return same_padding(1, k, 1, d)


def torch_transpose_size(m: int, k: int, s: int, d: int, p: int, output_padding: int) -> int:
    """PyTorch's transposed-conv output size ``(m - 1) * s - 2 p + d (k - 1) + output_padding + 1``.

    It is the smallest forward input size that the forward conv with padding ``(p, p)`` maps to
    ``m`` (:func:`transpose_size_range`), plus ``output_padding`` to pick a larger one.
    Callers refuse a result below 1.

    >>> torch_transpose_size(3, 3, 2, 1, 1, 1)   # 2 * 2 - 2 + 3 + 1
    6
    """
    return (m - 1) * s - 2 * p + effective_kernel_size(k, d) + output_padding


def conv_output_size(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Forward output size ``m = (n + lo + hi - k_eff) // s + 1``.

    Returns 0 or less when the window does not fit in the padded input; callers validate.

    >>> conv_output_size(5, 3, 2, 1, 0, 0)   # VALID: windows start at 0 and 2
    2
    >>> conv_output_size(5, 3, 2, 1, 1, 1)   # SAME: ceil(5 / 2)
    3
    """
    return (n + lo + hi - effective_kernel_size(k, d)) // s + 1


def transpose_size_range(m: int, k: int, s: int, d: int, padding: str | Pair) -> Pair:
    """Every forward input size ``n`` whose forward output size is ``m``, as ``(n_min, n_max)``.

    A transposed convolution maps ``m`` back to ``n``; for ``s > 1`` several ``n`` give the same
    ``m`` (the forward conv drops up to ``s - 1`` trailing rows), so ``n`` must be chosen.

    * ``"SAME"``: ``m = ceil(n / s)``, so ``n`` in ``[(m - 1) * s + 1, m * s]``.
    * ``"VALID"``: ``m = (n - k_eff) // s + 1``, so ``n`` in ``[(m - 1) * s + k_eff, ... + s - 1]``.
    * explicit ``(lo, hi)``: as VALID with ``n + lo + hi`` in place of ``n``, and ``n >= 1``.

    The range is empty (``n_min > n_max``) when no size works.

    >>> transpose_size_range(2, 3, 2, 1, "VALID")   # the seeds' example: 5 or 6
    (5, 6)
    >>> transpose_size_range(4, 4, 2, 1, "SAME")
    (7, 8)
    >>> transpose_size_range(3, 3, 1, 1, (1, 1))
    (3, 3)
    """
    if padding == "SAME":
        return (m - 1) * s + 1, m * s
    lo, hi = explicit_pair(padding)
    first = (m - 1) * s + effective_kernel_size(k, d) - lo - hi
    return max(first, 1), first + s - 1


def default_transpose_size(m: int, k: int, s: int, d: int, padding: str | Pair) -> int:
    """The output size a transposed conv picks when none is given.

    Keras' ``Conv2DTranspose`` rule: SAME gives ``m * s``; VALID gives
    ``m * s + max(k_eff - s, 0)``.
    With explicit padding the smallest legal size, ``(m - 1) * s + k_eff - lo - hi`` (PyTorch's
    ``output_padding=0``) or 1 if the padding eats more than that.

    >>> default_transpose_size(2, 3, 2, 1, "VALID")
    5
    >>> default_transpose_size(4, 3, 2, 1, "SAME")
    8
    >>> default_transpose_size(3, 3, 2, 1, (1, 1))
    5
    """
    k_eff = effective_kernel_size(k, d)
    if padding == "SAME":
        return m * s
    if padding == "VALID":
        return m * s + max(k_eff - s, 0)
    return transpose_size_range(m, k, s, d, padding)[0]


def tf_conv_output_size(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """TensorFlow's forward output size: ``(n + lo + hi - k_eff + s) / s`` in C's division.

    C truncates toward zero, so where the window does not fit the padded input (``n + lo + hi <
    k_eff``) this is 0, not negative, while it misses by less than ``s``: TensorFlow then returns
    an empty output. It refuses a negative size ("Computed output size would be negative"); where
    the window fits this is :func:`conv_output_size`. ``k = 0`` (a filter with no taps, which
    TensorFlow's transposes and gradients accept) gives ``k_eff = 1 - d``.

    >>> tf_conv_output_size(2, 3, 1, 1, 0, 0)   # the window misses by 1 < s: empty
    0
    >>> tf_conv_output_size(0, 3, 2, 1, 0, 0), tf_conv_output_size(0, 4, 2, 1, 0, 0)
    (0, -1)
    >>> tf_conv_output_size(0, 1, 1, 1, 1, 1)   # only padding: zeros of size 2
    2
    >>> tf_conv_output_size(5, 3, 2, 1, 1, 1) == conv_output_size(5, 3, 2, 1, 1, 1)
    True
    """
    t = n + lo + hi - effective_kernel_size(k, d) + s
    return t // s if t >= 0 else -(-t // s)


def tf_forward_size(padding: str | Pair, n: int, k: int, s: int, d: int) -> int:
    """TensorFlow's forward output size for ``"SAME"``, ``"VALID"`` or an explicit pair.

    SAME is ``ceil(n / s)`` whatever the kernel (for ``k >= 1`` :func:`same_padding` makes
    :func:`tf_conv_output_size` agree; a filter with no taps, ``k_eff = 1 - d``, would not).

    >>> tf_forward_size("SAME", 4, 0, 2, 1), tf_forward_size("VALID", 4, 0, 2, 1)
    (2, 3)
    """
    if padding == "SAME":
        return -(-n // s)
    return tf_conv_output_size(n, k, s, d, *resolve_padding(padding, n, k, s, d))


def tf_transpose_size_range(m: int, k: int, s: int, d: int, padding: str | Pair) -> Pair:
    """Every ``n >= 0`` whose TensorFlow forward output size (:func:`tf_conv_output_size`, or
    ``ceil(n / s)`` for SAME) is ``m``, as ``(n_min, n_max)``; empty when ``n_min > n_max``.

    With ``t = n + lo + hi - k_eff + s``, ``m >= 1`` needs ``m s <= t <= m s + s - 1`` (the range
    of :func:`transpose_size_range`, down to 0 instead of 1: an empty input padded enough has a
    forward output); ``m = 0`` needs ``|t| <= s - 1``, ``2 s - 1`` sizes. SAME: ``n`` in
    ``[(m - 1) s + 1, m s]``, so only ``n = 0`` for ``m = 0``.

    >>> tf_transpose_size_range(2, 3, 2, 1, "VALID")
    (5, 6)
    >>> tf_transpose_size_range(0, 3, 2, 1, "VALID")    # TF's forward maps 0, 1 and 2 to 0
    (0, 2)
    >>> tf_transpose_size_range(2, 1, 1, 1, (1, 1)), tf_transpose_size_range(0, 3, 2, 1, "SAME")
    ((0, 0), (0, 0))
    """
    if padding == "SAME":
        return max((m - 1) * s + 1, 0), m * s
    lo, hi = explicit_pair(padding)
    first = (m - 1) * s + effective_kernel_size(k, d) - lo - hi
    return max(first - (s - 1 if m == 0 else 0), 0), first + s - 1


def tf_default_transpose_size(m: int, k: int, s: int, d: int, padding: str | Pair) -> int:
    """The output size jconv's TensorFlow-style transposes pick when none is given:
    :func:`default_transpose_size` (Keras' rule), moved into :func:`tf_transpose_size_range`
    where it falls outside (an empty input, a filter without taps).

    >>> tf_default_transpose_size(2, 3, 2, 1, "VALID")
    5
    >>> tf_default_transpose_size(2, 1, 1, 1, (1, 1))   # explicit padding: the smallest
    0
    """
    n_min, n_max = tf_transpose_size_range(m, k, s, d, padding)
    return min(max(default_transpose_size(m, k, s, d, padding), n_min), n_max)


def is_zero_result(*shapes: Sequence[int]) -> bool:
    """Whether a conv op with these operand and result shapes is all zeros without computing.

    Every op is bilinear: each result entry is a sum of products of one entry of each operand.
    An operand without elements (a zero batch, channel count, spatial size or kernel tap count)
    makes every sum empty, so 0; a result without elements has nothing to compute. The front
    doors return ``jnp.zeros`` of the result's shape for these once every argument is validated,
    so no derivation, and no XLA convolution (which may abort on degenerate shapes), ever sees a
    zero-size dim; gradients of a constant are zeros.

    >>> is_zero_result((1, 0, 2, 1), (1, 1, 1, 1), (1, 2, 4, 1))  # height 0 padded by (1, 1)
    True
    >>> is_zero_result((1, 5, 5, 1), (3, 3, 1, 1), (1, 3, 3, 1))
    False
    """
    return any(0 in tuple(shape) for shape in shapes)


def resolve_padding(padding: str | Pair, n: int, k: int, s: int, d: int) -> Pair:
    """Explicit ``(lo, hi)`` for one dimension of a forward conv with input size ``n``.

    >>> resolve_padding("SAME", 5, 3, 2, 1), resolve_padding("VALID", 5, 3, 2, 1)
    ((1, 1), (0, 0))
    """
    if padding == "SAME":
        return same_padding(n, k, s, d)
    return explicit_pair(padding)


def explicit_pair(padding: str | Pair) -> Pair:
    """``(lo, hi)`` of ``"VALID"`` (no padding) or of an explicit pair; SAME depends on the
    sizes, see :func:`resolve_padding`.

    >>> explicit_pair("VALID"), explicit_pair((1, 2))
    ((0, 0), (1, 2))
    """
    if isinstance(padding, str):
        return 0, 0
    lo, hi = padding
    return lo, hi


def transpose_padding(n: int, m: int, k: int, s: int, d: int, lo: int) -> Pair:
    """Padding of the stride-1 conv that computes the transposed conv on the zero-inserted input.

    Insert ``s - 1`` zeros between the ``m`` input rows (length ``(m - 1) * s + 1``), pad by
    ``(lo_t, hi_t)`` and correlate with the flipped kernel at stride 1. Output row ``i`` must see
    forward input row ``i``: the first forward window (at padded position 0, i.e. input row
    ``-lo``) ends at tap ``k_eff - 1``, so ``lo_t = k_eff - 1 - lo``; the output length
    ``(m - 1) * s + 1 + lo_t + hi_t - k_eff + 1 = n`` gives ``hi_t = n + lo - (m - 1) * s - 1``.
    Negative values crop.

    >>> transpose_padding(5, 2, 3, 2, 1, 0)   # the seeds' example: "pad to full"
    (2, 2)
    >>> transpose_padding(6, 2, 3, 2, 1, 0)   # one more row: the last input row meets no window
    (2, 3)
    """
    return effective_kernel_size(k, d) - 1 - lo, n + lo - (m - 1) * s - 1


def tight_padding(n: int, m: int, k: int, s: int, d: int, lo: int) -> Pair:
    """Padding that covers exactly the rows a forward conv with output size ``m`` reads.

    Only the first ``(m - 1) * s + k_eff`` padded rows are ever read, so the high padding can be
    cut to ``(m - 1) * s + k_eff - n - lo`` (negative crops) without changing any value. Used
    by the filter gradient as a convolution (``dw[t] = sum_i x_pad[i * s + t * d] * dy[i]``, a
    correlation of the padded input with ``dy`` dilated by ``s`` at stride ``d``, which is then
    exactly ``k`` long) and by the vjp transpose (forward output exactly ``m``, for any ``n``).

    >>> tight_padding(6, 2, 3, 2, 1, 0)    # the sixth row is never read
    (0, -1)
    """
    return lo, (m - 1) * s + effective_kernel_size(k, d) - n - lo


def col2im_phases(m: int, k: int, s: int, d: int) -> tuple[int, tuple[tuple[Pair, ...], ...]]:
    """Which taps land on which output phase when ``m`` rows are scattered back (col2im).

    The full transposed conv has ``F = (m - 1) * s + k_eff`` rows: input row ``i`` times tap
    ``t`` lands on row ``j = i * s + t * d``. Write ``j = q * s + r``: tap ``t`` only reaches
    phase ``r = (t * d) % s``, at ``q = i + (t * d) // s``. So phase ``r`` is a sum over its taps
    of the rows shifted by ``(t * d) // s``, ``Q = ceil(F / s)`` rows long.

    Returns ``Q`` and, for each phase ``r = 0 .. s - 1``, its ``(t, shift)`` pairs (possibly
    none: that phase is all zeros).

    >>> col2im_phases(4, 3, 2, 1)     # F = 9: phase 0 gets taps 0 and 2, phase 1 tap 1
    (5, (((0, 0), (2, 1)), ((1, 0),)))
    >>> col2im_phases(4, 2, 3, 1)     # s > k: phase 2 gets nothing
    (4, (((0, 0),), ((1, 0),), ()))
    """
    full = (m - 1) * s + effective_kernel_size(k, d)
    phases = tuple(tuple((t, (t * d) // s) for t in range(k) if (t * d) % s == r) for r in range(s))
    return -(-full // s), phases


def col2im_phase_groups(
    kernel_sizes: Sequence[int], strides: Sequence[int]
) -> tuple[tuple[tuple[tuple[int, ...], tuple[int, ...]], ...], tuple[int, ...]]:
    """The taps of a dilation-1 kernel grouped by shift, for the phase-major col2im.

    Tap ``t = sh * s + r`` lands on phase ``r`` shifted by ``sh`` rows (see
    :func:`col2im_phases`); with dilation 1 the phases a shift reaches are ``0 .. L - 1`` with
    ``L = min(s, k - sh * s)``. For every combination of shifts (one per dim, row-major) this
    returns the shifts and the ``L``s, and, as flat row-major tap indices, the order that lists
    each group's taps together (its phases row-major): the columns of each group are then one
    block that lands, shifted, on a corner of the ``(Q, s)`` phase grid.

    >>> col2im_phase_groups((3,), (2,))       # taps 0, 1 unshifted; tap 2 shifted, phase 0
    ((((0,), (2,)), ((1,), (1,))), (0, 1, 2))
    >>> col2im_phase_groups((4,), (2,))       # k = 2 s: two full groups
    ((((0,), (2,)), ((1,), (2,))), (0, 1, 2, 3))
    >>> col2im_phase_groups((3, 3), (2, 2))[1]   # 2 x 2, 2 x 1, 1 x 2, 1 x 1 taps
    (0, 1, 3, 4, 2, 5, 6, 7, 8)
    """
    per_dim = [
        [(sh, min(s, k - sh * s)) for sh in range(-(-k // s))]
        for k, s in zip(kernel_sizes, strides)
    ]
    groups, order = [], []
    for combo in itertools.product(*per_dim):
        shifts = tuple(sh for sh, _ in combo)
        lengths = tuple(n for _, n in combo)
        groups.append((shifts, lengths))
        for rs in itertools.product(*map(range, lengths)):
            flat = 0
            for sh, r, k, s in zip(shifts, rs, kernel_sizes, strides):
                flat = flat * k + sh * s + r
            order.append(flat)
    return tuple(groups), tuple(order)


def kernel_twice_stride(kernel_sizes, strides) -> bool:
    """Whether every dim's kernel is twice its stride, ``k = 2 s`` with ``s > 1``: each phase
    then has two taps, one F(2, 2) pair, the case ``method="auto"`` gives to winograd.

    >>> kernel_twice_stride((4, 4), (2, 2)), kernel_twice_stride((4, 3), (2, 2))
    (True, False)
    >>> kernel_twice_stride((2,), (1,))   # stride 1: no phases
    False
    """
    return all(s > 1 and k == 2 * s for k, s in zip(kernel_sizes, strides))


def winograd_tiles(n: int, m: int, k: int, s: int, d: int, lo: int) -> tuple[int, int, Pair, int]:
    """The tiles of :func:`jconv.derivations.winograd.transpose_winograd` along one dimension.

    Output row ``j = q * s + r`` of the full transposed conv is a ``U``-tap correlation of the
    input with phase ``r`` of the kernel, ``U = ceil(k_eff / s)``; made even with a zero tap, the
    ``U`` taps are ``C = ceil(U / 2)`` pairs. Only the phase rows ``q = lo // s .. (lo + n - 1)
    // s`` are needed (``Q`` of them); F(2, 2) makes them two at a time, ``P = ceil(Q / 2)``
    tiles, each from three input rows per pair. The input, padded by ``(lo_pad, hi_pad)``
    (negative: cropped), has ``2 (P + C) - 1`` rows: tile ``p`` of pair ``c`` reads rows
    ``2 (p + c) .. 2 (p + c) + 2``. Output row ``lo`` is row ``start`` of the ``2 P s`` rows the
    tiles make.

    Returns ``(C, P, (lo_pad, hi_pad), start)``.

    >>> winograd_tiles(32, 16, 4, 2, 1, 1)   # k = 2 s, SAME: 17 phase rows, 9 tiles
    (1, 9, (1, 2), 1)
    >>> winograd_tiles(2048, 256, 16, 8, 1, 4)
    (1, 129, (1, 2), 4)
    >>> winograd_tiles(7, 5, 3, 1, 1, 1)      # stride 1, k = 3: U = 3 -> two pairs
    (2, 4, (2, 4), 0)
    """
    u = -(-effective_kernel_size(k, d) // s)
    c = -(-u // 2)
    q_min, q_max = lo // s, (lo + n - 1) // s
    p = -(-(q_max - q_min + 1) // 2)
    lo_pad = 2 * c - 1 - q_min
    return c, p, (lo_pad, 2 * (p + c) - 1 - m - lo_pad), lo - q_min * s


def col2im_row_chunks(
    n: int, k: int, s: int, d: int, lo: int, max_rows: int
) -> tuple[int, int, int, int, int, int] | None:
    """Output rows of a transposed conv in equal chunks, each from its own window of input rows.

    Output row ``r`` is row ``j = lo + r`` of the full transposed conv, which input row ``i``
    reaches through tap ``t`` when ``j = i * s + t * d``. A chunk of ``L = P * s`` output rows
    starting at ``r0`` needs the input rows ``ceil((lo + r0 - k_eff + 1) / s) ..
    floor((lo + r0 + L - 1) / s)``: ``H = P + h`` rows, where the halo ``h`` does not depend on
    ``P``, and the next chunk's window starts ``P`` rows later. Within its window, a chunk is the
    transposed conv with crop start ``lo_c = lo - a0 * s`` (the same for every chunk).

    Returns ``(count, L, P, a0, H, lo_c)``: ``count`` chunks (``count * L >= n``, the rows past
    ``n`` are cropped), each window ``H <= max_rows`` rows long, the first starting at input row
    ``a0`` (rows outside the input are zeros); ``None`` if even ``P = 1`` needs more than
    ``max_rows`` rows, or if one chunk would do.

    >>> col2im_row_chunks(256, 3, 2, 1, 0, 40)   # 4 chunks of 64 rows from 33 input rows
    (4, 64, 32, -1, 33, 2)
    >>> col2im_row_chunks(16, 4, 2, 1, 1, 3)       # windows -1..1, 0..2, ...: 2 rows of 16
    (8, 2, 1, -1, 3, 3)
    >>> col2im_row_chunks(16, 4, 2, 1, 1, 2) is None
    True
    """
    k_eff = effective_kernel_size(k, d)
    a0 = -((k_eff - 1 - lo) // s)  # ceil((lo - k_eff + 1) / s)
    halo = (lo - 1) // s - a0 + 1
    p_max = max_rows - halo
    if p_max < 1:
        return None
    count = -(-n // (s * p_max))
    if count < 2:
        return None
    p = -(-n // (s * count))
    return count, p * s, p, a0, p + halo, lo - a0 * s


def col2im_chunks(
    column_bytes: int,
    batch: int,
    channels: int,
    budget: int,
    rows: tuple[int, int, int, int, int, int] | None = None,
) -> tuple[int, tuple[int, ...] | None, int]:
    """Into how many batch, row and channel chunks col2im splits ``column_bytes`` of columns.

    The smallest divisor ``c`` of ``batch`` with ``column_bytes / c <= budget`` gives
    ``(c, None, 1)``. When even single examples are too large, each example is split into
    chunks of output rows along the first spatial dim (``rows = (m, n, k, s, d, lo)`` of that
    dim; :func:`col2im_row_chunks` of ``n .. lo`` and as many input rows as the budget holds):
    ``(batch, row_chunks, 1)``. Failing that, the smallest divisor ``c`` of ``channels`` that
    fits gives ``(1, None, c)`` (all ``channels`` if none is small enough).

    >>> col2im_chunks(18 * 2**20, 8, 64, 8 * 2**20)   # 2 chunks would be 9 MiB each
    (4, None, 1)
    >>> col2im_chunks(18 * 2**20, 1, 64, 8 * 2**20, (128, 256, 3, 2, 1, 0))
    (1, (3, 86, 43, -1, 44, 2), 1)
    >>> col2im_chunks(18 * 2**20, 1, 64, 8 * 2**20), col2im_chunks(10**9, 1, 6, 1)
    ((1, None, 4), (1, None, 6))
    >>> col2im_chunks(8 * 2**20, 8, 64, 8 * 2**20)
    (1, None, 1)
    """
    if column_bytes <= budget:  # also empty batches and inputs
        return 1, None, 1
    for c in range(2, batch + 1):
        if batch % c == 0 and column_bytes <= budget * c:
            return c, None, 1
    if rows is not None:
        m, n, k, s, d, lo = rows
        row_chunks = col2im_row_chunks(n, k, s, d, lo, budget // (column_bytes // (batch * m)))
        if row_chunks is not None:
            return batch, row_chunks, 1
    for c in range(1, channels + 1):
        if channels % c == 0 and column_bytes <= budget * c:
            return 1, None, c
    return 1, None, channels


def group_like_dims(
    kernel_sizes: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[Pair],
    lhs_dilation: Sequence[int],
    rhs_dilation: Sequence[int],
) -> tuple[int, ...]:
    """Dims that XLA's conv-operand swap would copy unchanged (see :func:`xla_swap_hazard`).

    No padding, no kernel dilation, ``lhs_dilation == k`` and ``stride == k - 1``. Whether the
    swap then fires depends on the input sizes, which under SPMD partitioning are per-device
    sizes that the caller cannot see: jconv breaks the pattern whenever it appears.

    >>> group_like_dims((3, 2), (1, 1), ((2, 1), (0, 0)), (1, 2), (1, 1))
    (1,)
    """
    return tuple(
        i
        for i, (k, s, (lo, hi), ld, rd) in enumerate(
            zip(kernel_sizes, strides, padding, lhs_dilation, rhs_dilation)
        )
        if lo == 0 and hi == 0 and rd == 1 and ld == k and s == k - 1
    )


def xla_cpu_ungroups(dtype: str, feature_group_count: int = 1, batch_group_count: int = 1) -> bool:
    """Whether XLA:CPU compiles this convolution as an ungrouped one (so the swap can reach it).

    XLA's operand swap (:func:`xla_swap_hazard`) skips grouped convolutions, but XLA:CPU runs its
    ``ConvolutionGroupConverter`` first (``cpu_compiler.cc``): batch groups are always expanded
    into an ungrouped conv, feature groups for every element type but F16 and F32. JAX lowers a
    complex conv on CPU to three real ones (Gauss' trick), and bfloat16 is computed in F32, so
    feature-grouped convs are expanded for ``float64`` and ``complex128`` data. The expanded conv
    keeps every spatial dim of the grouped one, so its swap hazard is the ungrouped one's.
    Swept on jaxlib 0.10.2 for the six float and complex dtypes with feature groups 2 and 3 and
    batch groups 2 (docs/xla_aborts.md): exactly these combinations abort.

    >>> [xla_cpu_ungroups(t, 2) for t in ("float16", "bfloat16", "float32", "complex64")]
    [False, False, False, False]
    >>> xla_cpu_ungroups("float64", 2), xla_cpu_ungroups("complex128", 3)
    (True, True)
    >>> xla_cpu_ungroups("float32", 1, 2), xla_cpu_ungroups("float32")
    (True, True)
    """
    if batch_group_count > 1 or feature_group_count == 1:
        return True
    return dtype not in ("float16", "bfloat16", "float32", "complex64")


def xla_swap_hazard(
    in_sizes: Sequence[int],
    kernel_sizes: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[Pair],
    lhs_dilation: Sequence[int],
    rhs_dilation: Sequence[int],
    groups: int = 1,
    *,
    batch_group_count: int = 1,
    dtype: str = "float32",
) -> tuple[int, ...]:
    """Dimensions that make XLA's conv-operand swap build an invalid convolution.

    XLA's algebraic simplifier swaps a convolution's operands when the kernel is larger than the
    input (product of the kernel sizes over dims it swaps > product of input sizes). A dim with no
    padding, no kernel dilation, ``lhs_dilation == k`` and ``stride == k - 1`` is taken as a
    "group" dim and copied unchanged, so after the swap its window no longer matches the new
    kernel and the compiler aborts the process (CHECK failure "Window dimensions do not match RHS
    shape"; seen in jaxlib 0.10.2 for the lhs_dilation form of transposed convs with k = s = 2).
    The swap only sees ungrouped convs, which on CPU include the grouped convs that
    :func:`xla_cpu_ungroups` expands (``groups`` feature groups, ``batch_group_count``, element
    type ``dtype``).

    Returns those group-like dims when the swap would fire, else ``()``. Callers break the pattern
    by padding one of them by one extra row and slicing it off.

    >>> xla_swap_hazard((2, 3), (3, 2), (1, 1), ((2, 1), (0, 0)), (1, 2), (1, 1))
    (1,)
    >>> xla_swap_hazard((2, 3), (3, 2), (1, 1), ((2, 1), (0, 1)), (1, 2), (1, 1))
    ()
    >>> # issue 19's trigger: feature groups 2 abort in float64, not in float32
    >>> args = ((3, 3), (4, 2), (1, 1), ((6, 6), (0, 0)), (2, 2), (2, 1), 2)
    >>> xla_swap_hazard(*args, dtype="float64"), xla_swap_hazard(*args, dtype="float32")
    ((1,), ())
    """
    if not xla_cpu_ungroups(dtype, groups, batch_group_count):
        return ()
    group_dims = list(group_like_dims(kernel_sizes, strides, padding, lhs_dilation, rhs_dilation))
    kernel_product = swapped_product = 1
    for i, (n, k, s, (lo, hi), ld, rd) in enumerate(
        zip(in_sizes, kernel_sizes, strides, padding, lhs_dilation, rhs_dilation)
    ):
        plain = lo == 0 and hi == 0 and rd == 1
        if i in group_dims:
            continue
        if plain and k == n and ld == 1 and s == 1:
            continue
        kernel_product *= k
        full_pad = n == 1 and s == 1 and rd == 1 and lo == k - 1 and hi == k - 1
        swapped_product *= k if full_pad else n
    if group_dims and kernel_product > swapped_product:
        return tuple(group_dims)
    return ()


def phase_taps(
    kernel_sizes: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> int:
    """Shifted input views that ``method="phase"`` gathers: its program grows with this count.

    Per dim the dilated kernel of ``k_eff`` taps is split into ``s`` phases of
    ``U = ceil(k_eff / s)`` taps (one correlation with the phases as channels) where ``s``
    divides ``k_eff``; otherwise each phase ``r`` is its own correlation of
    ``ceil((k_eff - r) / s)`` taps, ``k_eff`` in all. The count is the product over dims. Its
    gradients (and its 3-D values off oneDNN) slice one view per tap, so compile time grows
    linearly with it.

    >>> phase_taps((4, 4), (2, 2), (1, 1))       # 2 x 2 taps, every phase at once
    4
    >>> phase_taps((3, 3, 3), (1, 1, 1), (1, 1, 1))
    27
    >>> phase_taps((4, 5, 6), (3, 2, 1), (4, 4, 4))   # PyTorch's conv_transpose3d sample
    4641
    """
    total = 1
    for k, s, d in zip(kernel_sizes, strides, dilations):
        k_eff = effective_kernel_size(k, d)
        total *= k_eff if k_eff % s else -(-k_eff // s)
    return total
