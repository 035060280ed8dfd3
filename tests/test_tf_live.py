"""jconv against TensorFlow, live: random configurations drawn with a fixed seed.

Unlike the golden cases (``test_golden_tf.py``) these use other sizes and every argument form
jconv accepts from TF code: strides and dilations as an int, one per dim or full rank
(``[1, s, s, 1]``), explicit padding as per-dim pairs or TF's full-rank list, ``output_shape``
full or spatial-only, channels-first layouts, the rank-specific and the N-D entry points.

Inputs are integer-valued, so TF's values are exact in either dtype and one oracle serves both of
jconv's dtypes: TF's float32 value (its oneDNN kernels accept NCHW, dilated and grouped gradients),
cross-checked against its float64 value wherever TF's float64 CPU kernels compute the case; where
the two disagree TF has no answer and the case is skipped (see :func:`tf_answer`). Transposed convs
are checked against TF's transposed-conv op, input and filter gradients against
``tf.GradientTape`` of TF's forward op.

XLA compiles (one per distinct configuration; jconv jits each op internally, so eager calls
compile too) dominate the runtime, so each configuration runs ``method="auto"`` eagerly in one
dtype, and every op in a single ``jax.jit`` function in the other dtype with one named method, the
dtypes and methods taking turns across configurations; that every method agrees on every
geometry is ``test_ops.py``'s matrix. The input gradient uses the transposed conv's output size:
it shares the transposed conv's compile and checks it against a second TF route.
"""

from __future__ import annotations

import copy
import functools

import jax
import numpy as np
import pytest

import jconv

tf = pytest.importorskip("tensorflow")

try:  # one thread each: TF must not fight JAX for the 2 cores
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
except RuntimeError:  # TF already initialised by another test module; keep its setting
    pass

SEED = 31337
N_CONFIGS = 40
FAMILIES = ("forward", "transpose", "backprop_input", "backprop_filter")
LAYOUTS = {
    (1, False): "NWC",
    (1, True): "NCW",
    (2, False): "NHWC",
    (2, True): "NCHW",
    (3, False): "NDHWC",
    (3, True): "NCDHW",
}


class Config:
    """One random forward conv and the argument forms the jconv calls use.

    Drawn inside TF's CPU limits: no strides > 1 with dilations > 1, explicit padding only in
    2-D and not with dilation (TF's explicit-padding filter gradient has no dilated CPU kernel),
    no grouped or dilated 3-D, and inputs at least one window long (TF's float32 conv returns
    garbage for smaller ones).
    """

    def __init__(self, i, rng):
        self.index = i
        self.rank = rank = (1, 2, 2, 3)[i % 4]
        self.cf = bool(rng.random() < 0.4)
        self.data_format = LAYOUTS[(rank, self.cf)]
        self.groups = 1 if rank == 3 else int(rng.choice([1, 1, 2, 3]))
        self.cin = self.groups * int(rng.integers(1, 3))
        self.cout = self.groups * int(rng.integers(1, 3))
        self.batch = int(rng.integers(1, 3))
        self.k = tuple(int(v) for v in rng.integers(1, 5, rank))
        dilated = rank != 3 and rng.random() < 0.3
        self.d = tuple(int(v) for v in rng.integers(1, 4, rank)) if dilated else (1,) * rank
        self.s = (1,) * rank if dilated else tuple(int(v) for v in rng.integers(1, 4, rank))
        kinds = ["SAME", "VALID"] + (["explicit"] * 2 if rank == 2 and not dilated else [])
        kind = str(rng.choice(kinds))
        self.pads = (
            tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (rank, 2)))
            if kind == "explicit"
            else kind
        )
        k_eff = [(k - 1) * d + 1 for k, d in zip(self.k, self.d)]
        self.n = tuple(int(e + rng.integers(0, 6)) for e in k_eff)
        self.m = jconv.conv_output_shape(self.n, self.k, self.s, self.pads, self.d)
        lo_hi = jconv.conv_transpose_output_shapes(self.m, self.k, self.s, self.pads, self.d)
        self.n_t = tuple(int(rng.integers(lo, hi + 1)) for lo, hi in lo_hi)
        self.nd_api = bool(rng.random() < 0.3)
        self.forms = {
            name: str(rng.choice(["int", "dims", "full"])) for name in ("strides", "dilations")
        }
        self.forms["padding"] = str(rng.choice(["dims", "full"]))
        self.forms["output_shape"] = (
            "full" if self.groups > 1 else str(rng.choice(["full", "spatial"]))
        )
        self.eager_dtype = ("float32", "float64")[i % 2]
        self.jit_dtype = ("float64", "float32")[i % 2]
        r = np.random.default_rng([SEED, i])
        draw = lambda *shape: r.integers(-3, 4, shape).astype(np.float64)
        self.w = draw(*self.k, self.cin // self.groups, self.cout)
        self.x = self.layout(draw(self.batch, *self.n, self.cin))
        self.dy = self.layout(draw(self.batch, *self.m, self.cout))

    def layout(self, a):
        return np.moveaxis(a, -1, 1) if self.cf else a

    def full(self, values, outer=1):
        return [outer, outer, *values] if self.cf else [outer, *values, outer]

    def shape(self, spatial, channels):
        return [self.batch, channels, *spatial] if self.cf else [self.batch, *spatial, channels]

    # jconv's argument forms
    def jconv_ints(self, name, values):
        form = self.forms[name]
        if form == "int" and len(set(values)) == 1:
            return values[0]
        return self.full(values) if form == "full" else list(values)

    def jconv_padding(self):
        if isinstance(self.pads, str):
            return self.pads
        pairs = [list(p) for p in self.pads]
        return self.full_pairs(pairs) if self.forms["padding"] == "full" else pairs

    def full_pairs(self, pairs):
        return [[0, 0], [0, 0], *pairs] if self.cf else [[0, 0], *pairs, [0, 0]]

    def tf_padding(self):
        return (
            self.pads
            if isinstance(self.pads, str)
            else self.full_pairs([list(p) for p in self.pads])
        )

    def name(self, family):
        api = {
            "forward": "conv",
            "transpose": "conv_transpose",
            "backprop_input": "conv_backprop_input",
            "backprop_filter": "conv_backprop_filter",
        }[family]
        return api if self.nd_api else api.replace("conv", f"conv{self.rank}d", 1)

    def id(self):
        fmt = "x".join
        pad = (
            self.pads
            if isinstance(self.pads, str)
            else "pad" + "_".join(f"{a}{b}" for a, b in self.pads)
        )
        parts = [
            f"c{self.index:02d}",
            f"{self.rank}d" if not self.nd_api else "nd",
            self.data_format,
            pad,
            "s" + fmt(map(str, self.s)),
            "k" + fmt(map(str, self.k)),
        ]
        if max(self.d) > 1:
            parts.append("d" + fmt(map(str, self.d)))
        if self.groups > 1:
            parts.append(f"g{self.groups}")
        return "-".join(parts)


CONFIGS = [Config(i, np.random.default_rng([SEED, 0, i])) for i in range(N_CONFIGS)]


# ---------------------------------------------------------------------------------------------
# TensorFlow's answers (float32)


def tf_forward(cfg, x, w, pad_by_hand=False):
    """TF's forward conv; ``pad_by_hand`` writes explicit padding as ``tf.pad`` + VALID."""
    df, pad = cfg.data_format, cfg.tf_padding()
    if pad_by_hand:
        x, pad = tf.pad(x, pad), "VALID"
    if cfg.rank == 1:
        return tf.nn.conv1d(x, w, list(cfg.s), pad, data_format=df, dilations=list(cfg.d))
    if cfg.rank == 2:
        return tf.nn.conv2d(x, w, list(cfg.s), pad, data_format=df, dilations=list(cfg.d))
    return tf.nn.conv3d(x, w, cfg.full(cfg.s), pad, data_format=df, dilations=cfg.full(cfg.d))


def tf_family(cfg, family, dtype, pad_by_hand):
    """TF's value of one op family in ``cfg``'s layout."""
    const = lambda a: tf.constant(a, dtype)
    if family == "forward":
        return tf_forward(cfg, const(cfg.x), const(cfg.w), pad_by_hand).numpy()
    if family == "transpose" and cfg.groups == 1 and not pad_by_hand:
        shape_t = cfg.shape(cfg.n_t, cfg.cin)
        return tf.nn.conv_transpose(
            const(cfg.dy),
            const(cfg.w),
            shape_t,
            list(cfg.s),
            cfg.tf_padding(),
            cfg.data_format,
            list(cfg.d),
        ).numpy()
    # TF's transposed conv has no groups: it is the gradient of the forward conv
    x = const(cfg.x if family == "backprop_filter" else np.zeros(cfg.shape(cfg.n_t, cfg.cin)))
    w = const(cfg.w)
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = tf_forward(cfg, x, w, pad_by_hand)
    gx, gw = tape.gradient(y, [x, w], output_gradients=const(cfg.dy))
    return (gw if family == "backprop_filter" else gx).numpy()


def channels_last(cfg):
    """The same configuration with channels-last arrays."""
    last = copy.copy(cfg)
    last.cf, last.data_format = False, LAYOUTS[(cfg.rank, False)]
    last.x, last.dy = np.moveaxis(cfg.x, 1, -1), np.moveaxis(cfg.dy, 1, -1)
    return last


def tf_value(cfg, family, dtype):
    """TF's value by the first route its CPU kernels accept, in ``cfg``'s layout, or None.

    Routes: the op as configured; channels-last (TF's CPU kernels refuse NCHW in float64, and
    with explicit padding in float32 too), transposed back here; channels-last with explicit
    padding as ``tf.pad`` (TF has no CPU kernel for grouped gradients with explicit padding).
    """
    last = channels_last(cfg) if cfg.cf else cfg
    routes = [(cfg, False)]
    if cfg.cf:
        routes.append((last, False))
    if not isinstance(cfg.pads, str):
        routes.append((last, True))
    for route, by_hand in routes:
        try:
            value = tf_family(route, family, dtype, by_hand)
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
            continue
        if route is not cfg and family != "backprop_filter":
            value = np.moveaxis(value, -1, 1)
        return value
    return None


@functools.cache
def tf_answer(i, family):
    """``(TF's value, why not)``: float32 and, where TF computes it, float64, which must agree.

    TF's float32 (oneDNN) and float64 (Eigen) CPU kernels each have bugs (both miscompute some
    Conv3D with SAME padding and anisotropic strides); a value on which they disagree is no
    oracle, and the test is skipped.
    """
    cfg = CONFIGS[i]
    v32, v64 = tf_value(cfg, family, tf.float32), tf_value(cfg, family, tf.float64)
    if v32 is not None and v64 is not None and not np.array_equal(v32, v64):
        return None, f"TF float32 and float64 disagree on {cfg.id()} {family}"
    value = v32 if v32 is not None else v64
    assert value is not None, f"TF computes {cfg.id()} {family} by no route"
    return value, ""


# ---------------------------------------------------------------------------------------------
# jconv


def jconv_call(cfg, family):
    """``(f(*arrays, method=...), arrays, methods)`` for one op family of a configuration."""
    fn = getattr(jconv, cfg.name(family))
    kw = {
        "padding": cfg.jconv_padding(),
        "data_format": cfg.data_format,
        "dilations": cfg.jconv_ints("dilations", cfg.d),
    }
    strides = cfg.jconv_ints("strides", cfg.s)
    kw["stride" if cfg.name(family) == "conv1d" else "strides"] = strides
    full_out = cfg.forms["output_shape"] == "full"
    if family == "forward":
        return (lambda x, w, method: fn(x, w, **kw)), (cfg.x, cfg.w), (None,)
    if family == "transpose":
        shape = cfg.shape(cfg.n_t, cfg.cin) if full_out else list(cfg.n_t)
        return (
            (lambda dy, w, method: fn(dy, w, shape, method=method, **kw)),
            (cfg.dy, cfg.w),
            ("auto", *jconv.TRANSPOSE_METHODS),
        )
    if family == "backprop_input":
        sizes = cfg.shape(cfg.n_t, cfg.cin) if full_out else list(cfg.n_t)
        return (
            (lambda w, dy, method: fn(sizes, w, dy, method=method, **kw)),
            (cfg.w, cfg.dy),
            ("auto", *jconv.TRANSPOSE_METHODS),
        )
    return (
        (lambda x, dy, method: fn(x, list(cfg.w.shape), dy, method=method, **kw)),
        (cfg.x, cfg.dy),
        ("auto", *jconv.FILTER_GRAD_METHODS),
    )


def jit_method(i, methods):
    """The method configuration ``i`` runs under jit: each method and dtype in turn."""
    return methods[(i // 2) % len(methods)]


@functools.cache
def jitted(i):
    """Every op family of configuration ``i`` from one ``jax.jit`` (one compile).

    Settings are closed over (static); the arrays, in ``cfg.jit_dtype``, are traced.
    """
    cfg = CONFIGS[i]
    calls = {family: jconv_call(cfg, family) for family in FAMILIES}
    dtype = np.dtype(cfg.jit_dtype)

    @jax.jit
    def run(arrays):
        return {
            family: call(*arrays[family], method=jit_method(i, methods))
            for family, (call, _, methods) in calls.items()
        }

    return run(
        {family: tuple(a.astype(dtype) for a in arrays) for family, (_, arrays, _) in calls.items()}
    )


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("i", range(N_CONFIGS), ids=[c.id() for c in CONFIGS])
def test_against_tensorflow(i, family, x64):
    cfg = CONFIGS[i]
    want, why_not = tf_answer(i, family)
    if want is None:
        pytest.skip(why_not)
    call, arrays, methods = jconv_call(cfg, family)

    eager = np.dtype(cfg.eager_dtype)
    got = call(*(a.astype(eager) for a in arrays), method=methods[0])
    assert got.dtype == eager
    np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"eager {eager} {methods[0]}")

    got, jit_dtype = jitted(i)[family], np.dtype(cfg.jit_dtype)
    assert got.dtype == jit_dtype
    np.testing.assert_array_equal(
        np.asarray(got), want, err_msg=f"jit {jit_dtype} {jit_method(i, methods)}"
    )


def test_configurations_cover_the_forms():
    """The draw must keep exercising what it is for (guards against a seed change)."""
    assert {c.rank for c in CONFIGS} == {1, 2, 3}
    assert any(c.cf for c in CONFIGS) and any(not c.cf for c in CONFIGS)
    assert any(c.groups > 1 for c in CONFIGS)
    assert any(max(c.d) > 1 for c in CONFIGS)
    assert any(not isinstance(c.pads, str) and c.forms["padding"] == "full" for c in CONFIGS)
    assert any(not isinstance(c.pads, str) and c.forms["padding"] == "dims" for c in CONFIGS)
    assert any(c.forms["strides"] == "full" and max(c.s) > 1 for c in CONFIGS)
    assert any(c.n_t != c.n for c in CONFIGS)
    assert any(c.nd_api for c in CONFIGS) and any(not c.nd_api for c in CONFIGS)
    for methods in (("auto", *jconv.TRANSPOSE_METHODS), ("auto", *jconv.FILTER_GRAD_METHODS)):
        jitted_pairs = {(jit_method(c.index, methods), c.jit_dtype) for c in CONFIGS}
        assert jitted_pairs == {(m, d) for m in methods for d in ("float32", "float64")}
    assert {c.eager_dtype for c in CONFIGS} == {"float32", "float64"}
