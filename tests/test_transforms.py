"""Every public op, by every method, composes with JAX's transformations.

Each op is a composition of ``lax`` primitives under ``jax.jit``, plus two ``custom_jvp`` rules
("phase" and "col2im", whose tangents are linear, so JAX transposes them for reverse mode) and
the oneDNN primitive with its own jvp and batching rules; so ``jit``, ``vmap``, ``grad``/``vjp``,
``jvp``, second-order derivatives and ``jax.checkpoint`` all apply. Each test applies one
transformation both to a jconv op and to its plain formulation in float64 and asserts the results
are identical:

* forward conv: ``lax.conv_general_dilated`` with the explicit padding computed here;
* transposed conv / input gradient: ``jax.vjp`` of that conv w.r.t. its input, at a zero input
  of the output's shape;
* filter gradient: ``jax.vjp`` of that conv w.r.t. its filter.

Data are integer-valued, so every sum is exact in float64 and "identical" means bit-equal,
whatever order XLA sums in. Each op takes two arrays ``(a, b)``: ``(input, filters)`` for the
forward conv, ``(input, filters)`` / ``(out_backprop, filters)`` for the transposed conv and the
input gradient, ``(input, out_backprop)`` for the filter gradient. ``vmap_data`` maps over ``a``,
``vmap_kernel`` over ``b`` (for the filter gradient that is ``out_backprop``, the kernel of its
``"conv"`` derivation).

A full product of ops x methods x transformations x settings would cost hundreds of compiles;
instead each (op, method) takes a rotating share of the transformations (see ``_grid``), and the
settings (SAME/VALID, PyTorch padding 1/0; groups 1/2) rotate along. In 2-D every op and every
method meets every transformation, and every transformation meets both paddings and both groups;
in 1-D and 3-D every op and every method meets each of jit/grad/jvp;
``test_grid_covers_every_op_method_and_transformation`` checks that. The plain side of a
(settings, transformation) pair is computed once and shared. Shapes are small (spatial
<= 5, channels <= 3), strides 2, kernels non-square; PyTorch's ``output_padding`` is 0 or 1.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jconv
import jconv.torch as jt

pytestmark = pytest.mark.usefixtures("x64")

STRIDE = 2
BATCH = 2
SPATIAL = {1: (5,), 2: (5, 5), 3: (3, 4, 5)}
KERNEL = {1: (2,), 2: (3, 2), 3: (2, 2, 3)}
SPATIAL_LETTERS = {1: "W", 2: "HW", 3: "DHW"}

TRANSFORMS_2D = (
    "jit",
    "vmap_data",
    "vmap_kernel",
    "grad",
    "jvp",
    "hessian",
    "jvp_of_grad",
    "checkpoint",
)
TRANSFORMS_1D_3D = ("jit", "grad", "jvp")
# (TF padding, groups); PyTorch's padding is 1 for SAME and 0 for VALID
SETTINGS = (("SAME", 1), ("VALID", 2), ("SAME", 2), ("VALID", 1))

# ---------------------------------------------------------------------------------------------
# cases: a jconv op and its plain float64 formulation, both as functions of two arrays


class Case(NamedTuple):
    op: str  # public name, e.g. "conv2d_transpose" or "torch.conv_transpose2d"
    method: str | None
    rank: int
    padding: str  # "SAME"/"VALID" (TF), "p0"/"p1" (PyTorch)
    groups: int

    @property
    def id(self):
        method = f"-{self.method}" if self.method else ""
        return f"{self.op}{method}-{self.padding}-g{self.groups}"


def tf_pads(ns, ks, padding):
    """TensorFlow's SAME (odd pad after) / VALID as explicit pairs."""
    if padding == "VALID":
        return [(0, 0)] * len(ns)
    pads = []
    for n, k in zip(ns, ks):
        total = max((-(-n // STRIDE) - 1) * STRIDE + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def out_sizes(ns, ks, pads):
    return tuple((n + lo + hi - k) // STRIDE + 1 for n, k, (lo, hi) in zip(ns, ks, pads))


def plain_conv(dimension_numbers, pads, groups):
    def conv(x, w):
        return lax.conv_general_dilated(
            x,
            w,
            (STRIDE,) * len(pads),
            pads,
            dimension_numbers=dimension_numbers,
            feature_group_count=groups,
        )

    return conv


def plain_input_grad(conv, x_shape):
    def transpose(dy, w):
        _, pullback = jax.vjp(lambda x: conv(x, w), jnp.zeros(x_shape, dy.dtype))
        return pullback(dy)[0]

    return transpose


def plain_filter_grad(conv, w_shape):
    def filter_grad(x, dy):
        _, pullback = jax.vjp(lambda w: conv(x, w), jnp.zeros(w_shape, x.dtype))
        return pullback(dy)[0]

    return filter_grad


class Geometry(NamedTuple):
    conv: object  # the plain forward conv, a function of (x, w)
    x_shape: tuple
    w_shape: tuple
    dy_shape: tuple
    pads: list


def geometry(api, rank, padding, groups):
    ns, ks, s = SPATIAL[rank], KERNEL[rank], SPATIAL_LETTERS[rank]
    cin, cout = (3, 2) if groups == 1 else (2, 2)
    if api == "torch":
        pads = [(int(padding[1:]),) * 2] * rank
        ms = out_sizes(ns, ks, pads)
        dn = (f"NC{s}", f"OI{s}", f"NC{s}")
        shapes = (BATCH, cin, *ns), (cout, cin // groups, *ks), (BATCH, cout, *ms)
    else:
        pads = tf_pads(ns, ks, padding)
        ms = out_sizes(ns, ks, pads)
        dn = (f"N{s}C", f"{s}IO", f"N{s}C")
        shapes = (BATCH, *ns, cin), (*ks, cin // groups, cout), (BATCH, *ms, cout)
    return Geometry(plain_conv(dn, pads, groups), *shapes, pads)


def role(op):
    """Which plain formulation an op is: the conv, its input gradient or its filter gradient."""
    if op.endswith(("_transpose", "_backprop_input", "_input")) or "conv_transpose" in op:
        return "input_grad"
    if op.endswith(("_backprop_filter", "_weight")):
        return "filter_grad"
    return "conv"


def plain(api, rank, padding, groups, kind):
    """The plain float64 formulation of one kind of op (see :func:`role`) of two arrays."""
    geo = geometry(api, rank, padding, groups)
    if kind == "input_grad":
        return plain_input_grad(geo.conv, geo.x_shape)
    if kind == "filter_grad":
        return plain_filter_grad(geo.conv, geo.w_shape)
    return geo.conv


def build(case: Case):
    """``(op, plain key, a_shape, b_shape)``: the jconv op as a function of two arrays."""
    api = "torch" if case.op.startswith("torch.") else "tf"
    geo = geometry(api, case.rank, case.padding, case.groups)
    kind = role(case.op)
    a_shape, b_shape = {
        "conv": (geo.x_shape, geo.w_shape),
        "input_grad": (geo.dy_shape, geo.w_shape),
        "filter_grad": (geo.x_shape, geo.dy_shape),
    }[kind]
    key = (api, case.rank, case.padding, case.groups, kind)
    method = {} if case.method is None else {"method": case.method}
    x_shape, w_shape = geo.x_shape, geo.w_shape
    if api == "torch":
        fn = getattr(jt, case.op.removeprefix("torch."))
        common = dict(stride=STRIDE, padding=geo.pads[0][0], groups=case.groups, **method)
        if "conv_transpose" in case.op:
            # PyTorch's transposed-conv weight (C_in, C_out / g, *k) is the forward weight of the
            # conv it transposes; output_padding picks the forward input size n
            p = geo.pads[0][0]
            op_pad = tuple(
                n - ((m - 1) * STRIDE - 2 * p + k)
                for n, m, k in zip(x_shape[2:], geo.dy_shape[2:], w_shape[2:])
            )
            op = lambda dy, w: fn(dy, w, output_padding=op_pad, **common)  # noqa: E731
        elif kind == "input_grad":
            op = lambda dy, w: fn(x_shape, w, dy, **common)  # noqa: E731
        elif kind == "filter_grad":
            op = lambda x, dy: fn(x, w_shape, dy, **common)  # noqa: E731
        else:
            op = lambda x, w: fn(x, w, **common)  # noqa: E731
        return op, key, a_shape, b_shape
    fn = getattr(jconv, case.op)
    settings = (STRIDE, case.padding)  # positional: conv1d names its stride "stride"
    if case.op.endswith("_transpose"):
        op = lambda dy, w: fn(dy, w, x_shape, *settings, **method)  # noqa: E731
    elif kind == "input_grad":
        op = lambda dy, w: fn(x_shape, w, dy, *settings, **method)  # noqa: E731
    elif kind == "filter_grad":
        op = lambda x, dy: fn(x, w_shape, dy, *settings, **method)  # noqa: E731
    else:
        op = lambda x, w: fn(x, w, *settings)  # noqa: E731
    return op, key, a_shape, b_shape


def integers(shape, seed):
    return jnp.asarray(np.random.default_rng(seed).integers(-3, 4, shape), jnp.float64)


# ---------------------------------------------------------------------------------------------
# transformations: each maps (f, a, b) to a pytree of arrays. Every composition runs under one
# outer jax.jit (eager second-order derivatives would compile every primitive separately), and
# returns the primal too where the transformation gives it (LLVM's level 0 for all the tests'
# compiles: the root conftest.py).


def _loss(f, c):
    """A scalar loss with a non-zero Hessian in both arguments (the ops are bilinear)."""

    def loss(a, b):
        y = f(a, b)
        return jnp.sum(c * y) + 0.5 * jnp.sum(y * y)

    return loss


def _cotangent(f, a, b):
    return integers(jax.eval_shape(f, a, b).shape, 7)


def _tangents(a, b):
    return integers(a.shape, 3), integers(b.shape, 4)


def _variants(a):
    """Three integer-valued variants of ``a`` stacked on a new leading axis."""
    return jnp.stack([a, jnp.flip(a), 1.0 - a])


def t_jit(f, a, b):
    return jax.jit(f)(a, b)


def t_vmap_data(f, a, b):
    return jax.jit(jax.vmap(f, in_axes=(0, None)))(_variants(a), b)


def t_vmap_kernel(f, a, b):
    return jax.jit(jax.vmap(f, in_axes=(None, 0)))(a, _variants(b))


def t_grad(f, a, b):
    """``jax.grad`` of ``<c, f(a, b)>`` w.r.t. both arrays (= ``jax.vjp`` with cotangent ``c``),
    with the primal as aux."""

    def grad(a, b, c):
        def linear(a, b):
            y = f(a, b)
            return jnp.sum(c * y), y

        return jax.grad(linear, argnums=(0, 1), has_aux=True)(a, b)

    return jax.jit(grad)(a, b, _cotangent(f, a, b))


def t_jvp(f, a, b):
    return jax.jit(lambda p, t: jax.jvp(f, p, t))((a, b), _tangents(a, b))


def t_hessian(f, a, b):
    c = _cotangent(f, a, b)
    return jax.jit(lambda a, b, c: jax.hessian(_loss(f, c), argnums=(0, 1))(a, b))(a, b, c)


def t_jvp_of_grad(f, a, b):
    def jvp_of_grad(p, t, c):
        return jax.jvp(jax.grad(_loss(f, c), argnums=(0, 1)), p, t)

    return jax.jit(jvp_of_grad)((a, b), _tangents(a, b), _cotangent(f, a, b))


def t_checkpoint(f, a, b):
    remat = jax.checkpoint(f)

    def value_and_grad(a, b, c):
        return jax.value_and_grad(_loss(remat, c), argnums=(0, 1))(a, b)

    return jax.jit(value_and_grad)(a, b, _cotangent(f, a, b))


TRANSFORMS = {
    "jit": t_jit,
    "vmap_data": t_vmap_data,
    "vmap_kernel": t_vmap_kernel,
    "grad": t_grad,
    "jvp": t_jvp,
    "hessian": t_hessian,
    "jvp_of_grad": t_jvp_of_grad,
    "checkpoint": t_checkpoint,
}

# ---------------------------------------------------------------------------------------------
# the rotating grid


def _ops(rank):
    """(public name, methods) for every op of both APIs at this rank."""
    tm, fm = jconv.TRANSPOSE_METHODS, jconv.FILTER_GRAD_METHODS
    names = [f"conv{rank}d"]
    if rank == 2:  # the rank-generic TF names, exercised with 2-D data
        names.append("conv")
    for name in names:
        yield name, (None,)
        yield f"{name}_transpose", tm
        yield f"{name}_backprop_input", tm
        yield f"{name}_backprop_filter", fm
    yield f"torch.conv{rank}d", (None,)
    yield f"torch.conv_transpose{rank}d", tm
    yield f"torch.conv{rank}d_input", tm
    yield f"torch.conv{rank}d_weight", fm


def _grid():
    """Method ``i`` of the ``o``-th op with a given method list takes ``k`` consecutive
    transformations from ``(i + o) * k + rank`` (mod T). ``k >= T / len(methods)`` makes each
    op meet every transformation, ``k >= T / (ops sharing the list)`` each method."""
    params = []
    for rank in (2, 1, 3):
        transforms = TRANSFORMS_2D if rank == 2 else TRANSFORMS_1D_3D
        ops = list(_ops(rank))
        seen_lists = {}
        for op, methods in ops:
            o = seen_lists[methods] = seen_lists.get(methods, -1) + 1
            sharing = sum(m == methods for _, m in ops)
            share = max(
                math.ceil(len(transforms) / len(methods)), math.ceil(len(transforms) / sharing)
            )
            start = o * share + rank
            for i, method in enumerate(methods):
                for j in range(share):
                    t = (start + i * share + j) % len(transforms)
                    # settings follow the transformation and pairs of ops, so that the ops
                    # and methods of a pair share one plain result
                    pad, groups = SETTINGS[(t + rank + o // 2) % len(SETTINGS)]
                    if op.startswith("torch."):
                        pad = {"SAME": "p1", "VALID": "p0"}[pad]
                    case = Case(op, method, rank, pad, groups)
                    transform = transforms[t]
                    params.append(
                        pytest.param(case, transform, id=f"{rank}d-{case.id}-{transform}")
                    )
    return params


GRID = _grid()
_PLAIN_RESULTS = {}  # the plain side is shared by ops and methods with the same settings


def _assert_identical(got, want):
    got_leaves, got_tree = jax.tree.flatten(got)
    want_leaves, want_tree = jax.tree.flatten(want)
    assert got_tree == want_tree
    for g, w in zip(got_leaves, want_leaves):
        assert g.dtype == w.dtype == jnp.float64
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("case, transform", GRID)
def test_transform_matches_plain_formulation(case, transform):
    op, key, a_shape, b_shape = build(case)
    a, b = integers(a_shape, 1), integers(b_shape, 2)
    if (key, transform) not in _PLAIN_RESULTS:
        _PLAIN_RESULTS[key, transform] = TRANSFORMS[transform](plain(*key), a, b)
    _assert_identical(TRANSFORMS[transform](op, a, b), _PLAIN_RESULTS[key, transform])


def test_grid_covers_every_op_method_and_transformation():
    """The rotation is the point of the grid: check it covers what the module docstring says."""
    seen = {(p.values[0].rank, p.values[0].op, p.values[0].method, p.values[1]) for p in GRID}
    for rank, transforms in ((2, TRANSFORMS_2D), (1, TRANSFORMS_1D_3D), (3, TRANSFORMS_1D_3D)):
        ops = list(_ops(rank))
        for op, methods in ops:
            for t in transforms:
                assert any((rank, op, m, t) in seen for m in methods), (rank, op, t)
        for m in {m for _, methods in ops for m in methods}:
            for t in transforms:
                assert any((rank, op, m, t) in seen for op, _ in ops), (rank, m, t)
    for op, _ in _ops(2):
        settings = {(p.values[0].padding, p.values[0].groups) for p in GRID if p.values[0].op == op}
        assert len(settings) >= 3, (op, settings)
    for t in TRANSFORMS_2D:
        cases = [p.values[0] for p in GRID if p.values[0].rank == 2 and p.values[1] == t]
        assert {c.padding for c in cases} >= {"SAME", "VALID", "p0", "p1"}, t
        assert {c.groups for c in cases} == {1, 2}, t
