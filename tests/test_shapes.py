"""The pure-integer module: hand-checked numbers and the properties that define each formula."""

from hypothesis import given
from hypothesis import strategies as st

import jconv
from jconv import _shapes


def test_same_padding_hand_checked():
    # n=5, k=3, s=2: m=3, total=(3-1)*2+3-5=2
    assert _shapes.same_padding(5, 3, 2) == (1, 1)
    # n=6, k=3, s=2: m=3, total=4+3-6=1 -> the odd pad goes after
    assert _shapes.same_padding(6, 3, 2) == (0, 1)
    # n=4, k=1: nothing to pad
    assert _shapes.same_padding(4, 1, 1) == (0, 0)
    # dilation: k=3, d=2 -> k_eff=5; n=5, s=1: total=4
    assert _shapes.same_padding(5, 3, 1, 2) == (2, 2)
    # stride larger than the kernel: n=7, k=2, s=4 -> m=2, total=max(4+2-7, 0)=0
    assert _shapes.same_padding(7, 2, 4) == (0, 0)


def test_ranges_hand_checked():
    assert _shapes.transpose_size_range(2, 3, 2, 1, "VALID") == (5, 6)
    assert _shapes.transpose_size_range(4, 3, 2, 1, "SAME") == (7, 8)
    assert _shapes.transpose_size_range(3, 3, 3, 1, "VALID") == (9, 11)
    assert _shapes.transpose_size_range(2, 3, 2, 2, (1, 2)) == (4, 5)
    assert _shapes.transpose_padding(5, 2, 3, 2, 1, 0) == (2, 2)
    assert _shapes.tight_padding(5, 3, 3, 2, 1, 1) == (1, 1)
    assert jconv.conv_output_shape((5, 6), (3, 3), 2, "SAME") == (3, 3)
    assert jconv.conv_transpose_output_shapes((3,), 3, 2, "SAME") == ((5, 6),)


padding_st = st.one_of(
    st.sampled_from(["SAME", "VALID"]),
    st.tuples(st.integers(0, 4), st.integers(0, 4)),
)


@given(
    n=st.integers(1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 5),
    d=st.integers(1, 3),
    padding=padding_st,
)
def test_transpose_range_is_exactly_the_preimage(n, k, s, d, padding):
    """n is in the range computed from m = forward(n), and the range is every such n."""
    lo, hi = _shapes.resolve_padding(padding, n, k, s, d)
    m = _shapes.conv_output_size(n, k, s, d, lo, hi)
    if m < 1:
        return
    n_min, n_max = _shapes.transpose_size_range(m, k, s, d, padding)
    assert n_min <= n <= n_max
    for cand in range(max(1, n_min - s - 1), n_max + s + 2):
        plo, phi = _shapes.resolve_padding(padding, cand, k, s, d)
        back = _shapes.conv_output_size(cand, k, s, d, plo, phi)
        assert (back == m) == (n_min <= cand <= n_max), (cand, back, m)
    default = _shapes.default_transpose_size(m, k, s, d, padding)
    assert n_min <= default <= n_max


@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 5), d=st.integers(1, 3))
def test_same_gives_ceil(n, k, s, d):
    lo, hi = _shapes.same_padding(n, k, s, d)
    assert 0 <= hi - lo <= 1
    assert _shapes.conv_output_size(n, k, s, d, lo, hi) == -(-n // s)


@given(
    n=st.integers(1, 30),
    k=st.integers(1, 6),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    lo=st.integers(0, 3),
    hi=st.integers(0, 3),
)
def test_transpose_and_tight_padding_sizes(n, k, s, d, lo, hi):
    m = _shapes.conv_output_size(n, k, s, d, lo, hi)
    if m < 1:
        return
    k_eff = _shapes.effective_kernel_size(k, d)
    t_lo, t_hi = _shapes.transpose_padding(n, m, k, s, d, lo)
    assert (m - 1) * s + 1 + t_lo + t_hi - k_eff + 1 == n
    f_lo, f_hi = _shapes.tight_padding(n, m, k, s, d, lo)
    assert (n + f_lo + f_hi - ((m - 1) * s + 1)) // d + 1 == k
    assert f_hi <= hi


@given(
    n=st.integers(1, 40),
    k=st.integers(1, 6),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    lo=st.integers(0, 6),
    max_rows=st.integers(1, 12),
)
def test_col2im_row_chunks_cover_every_contribution(n, k, s, d, lo, max_rows):
    """Every input row that reaches an output row (loop reference) is in that row's window."""
    m = 50  # input rows 0 .. 49; rows the windows reach past them are zeros
    chunks = _shapes.col2im_row_chunks(n, k, s, d, lo, max_rows)
    if chunks is None:
        return
    count, rows, step, a0, length, lo_c = chunks
    assert count >= 2 and rows == step * s and count * rows >= n and length <= max_rows
    assert (count - 1) * rows < n  # no chunk is all past the output
    for r in range(n):
        c = r // rows
        first = a0 + c * step  # the window's first input row; its row 0 is full row lo_c
        assert lo_c + (r - c * rows) == lo + r - first * s
        for i in range(m):
            for t in range(k):
                if i * s + t * d == lo + r:
                    assert first <= i < first + length, (r, i, t)


def test_xla_swap_hazard_matches_the_known_abort():
    # DEVELOPERS.md's case: (1, 2, 3, 2) input, (3, 2) kernel, lhs_dilation (1, 2), pad (2,1),(0,0)
    assert _shapes.xla_swap_hazard((2, 3), (3, 2), (1, 1), ((2, 1), (0, 0)), (1, 2), (1, 1)) == (1,)
    # grouped convs are never swapped
    assert (
        _shapes.xla_swap_hazard((2, 3), (3, 2), (1, 1), ((2, 1), (0, 0)), (1, 2), (1, 1), 2) == ()
    )
    # the kernel fits: no swap
    assert _shapes.xla_swap_hazard((4, 3), (3, 2), (1, 1), ((2, 1), (0, 0)), (1, 2), (1, 1)) == ()
