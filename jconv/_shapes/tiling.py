"""How the derivations cut a transposed conv into pieces: col2im's phases, shift groups and
chunks, winograd's tiles, and phase's tap count (which sizes its program)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from jconv._shapes.sizes import Pair, effective_kernel_size


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


def kernel_twice_stride(kernel_sizes: Sequence[int], strides: Sequence[int]) -> bool:
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


def batch_chunks(total_bytes: int, batch: int, budget: int) -> int:
    """Into how many equal chunks of the batch ``total_bytes`` of temporaries are split: the
    smallest divisor ``c`` of ``batch`` with ``total_bytes / c <= budget``, else ``batch`` (one
    example at a time, however large).

    >>> batch_chunks(18 * 2**20, 8, 8 * 2**20), batch_chunks(300 * 2**20, 16, 8 * 2**20)
    (4, 16)
    >>> batch_chunks(8 * 2**20, 8, 8 * 2**20), batch_chunks(0, 0, 1)
    (1, 1)
    """
    if total_bytes <= budget:
        return 1
    for c in range(2, batch):
        if batch % c == 0 and total_bytes <= budget * c:
            return c
    return max(batch, 1)


def examples_per_chunk(batch: int, example_bytes: int, budget: int, smallest: int = 2) -> int:
    """Examples per chunk when ``batch`` examples of ``example_bytes`` each are summed in chunks
    of at most ``budget`` bytes, and no chunk smaller than ``smallest`` examples.

    As few chunks as the budget allows, ``q = ceil(batch / c_max)`` with
    ``c_max = max(smallest, budget // example_bytes)``, and balanced: ``ceil(batch / q)``
    examples each (the last chunk takes what is left). ``batch`` itself means one chunk.

    >>> examples_per_chunk(8, 560_000, 4 * 2**20)        # 7 fit: two chunks of 4
    4
    >>> examples_per_chunk(8, 1_600_000, 4 * 2**20), examples_per_chunk(7, 1_600_000, 4 * 2**20)
    (2, 2)
    >>> examples_per_chunk(2, 10**7, 4 * 2**20), examples_per_chunk(32, 10, 4 * 2**20)
    (2, 32)
    >>> examples_per_chunk(0, 8, 4)
    0
    """
    c_max = max(smallest, budget // max(example_bytes, 1))
    if batch <= c_max:
        return batch
    chunks = -(-batch // c_max)
    return -(-batch // chunks)


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
