"""The XLA:CPU abort rule: which convolutions XLA's operand swap rebuilds into invalid ones
(docs/xla_aborts.md)."""

from __future__ import annotations

from collections.abc import Sequence

from jconv._shapes.sizes import Pair


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
