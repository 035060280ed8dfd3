"""Output sizes, legal size ranges and paddings of convolutions and their transposes, per
spatial dimension (the names are those of :mod:`jconv._shapes`)."""

from __future__ import annotations

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


def padding_mode_limit(mode: str, n: int) -> int | None:
    """The largest pad per side that PyTorch's ``F.pad(mode=...)`` accepts on a dim of size ``n``.

    ``"reflect"`` mirrors without repeating the edge, so a pad ``p`` reads ``x[1..p]``:
    ``p <= n - 1``. ``"circular"`` wraps at most once: ``p <= n``. ``"replicate"`` repeats the edge
    and ``"zeros"`` adds zeros: no limit (``None``).

    >>> padding_mode_limit("reflect", 3), padding_mode_limit("circular", 3)
    (2, 3)
    >>> padding_mode_limit("replicate", 3) is None
    True
    """
    if mode == "reflect":
        return n - 1
    if mode == "circular":
        return n
    return None


def torch_output_padding(n: int, m: int, k: int, s: int, d: int, p: int) -> int | None:
    """The ``output_padding`` that makes a PyTorch transposed conv's output size ``n``, as
    ``ConvTranspose*d.forward(x, output_size=...)`` picks it; ``None`` if ``n`` is out of range.

    PyTorch allows ``n`` from ``n_min = (m - 1) * s - 2 p + d (k - 1) + 1``
    (:func:`torch_transpose_size` with no output padding) to ``n_min + s - 1`` and returns
    ``n - n_min``.

    >>> torch_output_padding(10, 4, 3, 2, 1, 0), torch_output_padding(11, 4, 3, 2, 1, 0)
    (1, None)
    """
    first = torch_transpose_size(m, k, s, d, p, 0)
    return n - first if first <= n <= first + s - 1 else None


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
