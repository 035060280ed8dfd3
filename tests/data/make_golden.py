"""Write the golden arrays that jconv's conformance tests compare against.

Run from the repository root::

    python tests/data/make_golden.py

It writes ``tests/data/golden_tf.npz`` and ``tests/data/golden_torch.npz``. The files in the
repository were made with TensorFlow 2.21.0 (``tensorflow-cpu``, oneDNN on, its default on x86)
and PyTorch 2.13.0+cpu; the versions that made a file are stored in it as ``meta/tensorflow``,
``meta/torch``, ``meta/numpy`` and ``meta/script``.

Every input is integer-valued (``rng.integers(-3, 4)``), so every output is an exact integer in
both float32 and float64 and the tests can demand exact equality.

Layout of both files: case ``i`` is stored as arrays ``case0007/x``, ``case0007/w``, ... and
``case0007/out`` (float64) plus ``case0007/config``, a JSON string::

    {"id": "conv2d_transpose-VALID-s2x3-k3x3-out5x7-NHWC",   # a readable, unique test id
     "op": "conv2d_transpose",                               # the jconv / jconv.torch function
     "arrays": {"input": "dy", "filters": "w"},             # argument name -> array name
     "kwargs": {"output_shape": [...], "strides": ..., ...}, # every other argument, JSON-ready
     "source": {...}}                                        # how the reference was computed

so a test calls ``getattr(module, op)(**{a: case[name] for a, name in arrays.items()}, **kwargs)``
and compares with ``out``. Array names describe the forward convolution ``y = conv(x, w)``:
``x`` its input, ``w`` its filter, ``dy`` a gradient of its output (the input of a transposed
conv), ``b`` a bias.

TensorFlow cases (``golden_tf.npz``)
------------------------------------
Arguments are TensorFlow's: filters ``(*k, C_in / groups, C_out)`` for the forward conv, the same
array for its transpose and gradients; data in ``data_format`` order; strides, dilations and
explicit padding in the forms TensorFlow accepts (jconv accepts the same forms).

A case is stored only where TensorFlow agrees with itself: each case is computed in float32 and
again in float64 and kept only when the two agree exactly. The two dtypes run different CPU
kernels (oneDNN for float32, Eigen for float64), and both have bugs in TF 2.21: float64 Conv3D
miscomputes SAME padding with a stride > 1 along a size-1 kernel dim (two such cases are in the
list below and get dropped), float32 Conv3D some other SAME cases with anisotropic strides, and
float32 Conv2D returns uninitialised memory for a window larger than the padded input.
Disagreeing cases are printed and left out. Where TensorFlow's CPU kernels refuse a case in one
dtype, that dtype is computed by the first of these routes that TensorFlow accepts (``source``
records which one ran):

1. ``native``: the TensorFlow op in the case's own data_format;
2. ``channels_last``: the same op on NHWC arrays, the result transposed here by NumPy. TF's
   float64 CPU kernels accept only channels-last data, so every NCHW case's float64 value comes
   from this route; the stored arrays are NCHW all the same;
3. ``split`` (float64 only): ``tf.GradientTape`` over one ``tf.nn.convolution`` per group, with
   dilation written out as zeros inserted into the filter and explicit padding as ``tf.pad``.
   TF's float64 CPU kernels refuse dilated gradients and grouped gradients; this route computes
   the same sums with kernels it has, so it is an independent check of the float32 value.

The float32 value always comes from route 1 or 2, i.e. from TensorFlow's own op for the case.
Ops TensorFlow has no kernel for (1-D and N-D gradients, grouped gradients and grouped
transposes) are ``tf.GradientTape`` gradients of TensorFlow's forward op. Not covered because
TensorFlow cannot compute them on CPU: grouped Conv3D, dilated Conv3D (forward), dilated filter
gradients with explicit padding, strides > 1 together with dilations > 1, explicit padding
outside 2-D.

For transposed convolutions and input gradients with stride > 1 every legal output size is
stored. The legal sizes are those for which TensorFlow's own forward conv gives back the input
size (asked of TensorFlow, one dimension at a time); the script checks that
``jconv.conv_transpose_output_shapes`` gives the same ranges.

PyTorch cases (``golden_torch.npz``)
------------------------------------
For ``jconv.torch``, which mirrors ``torch.nn.functional`` and ``torch.nn.grad``: arrays in
PyTorch's layouts (``(N, C, *spatial)`` data, ``(C_out, C_in / groups, *k)`` conv weights,
``(C_in, C_out / groups, *k)`` transposed-conv weights) and ``kwargs`` with PyTorch's names and
values (``stride``, ``padding``, ``dilation``, ``groups``, ``output_padding``, ``input_size``,
``weight_size``). Reference values are computed by PyTorch in float64.

Transposed convs come with every ``output_padding`` PyTorch allows, ``< max(stride, dilation)``.
Where ``output_padding >= stride`` (possible when ``dilation > stride``) the output size is one
TensorFlow-style ops refuse (the forward conv does not map it back); PyTorch's value there is the
TF-style transposed conv with padding ``(p, p - output_padding)`` per dim, extended by zero rows
(plus bias) where ``p - output_padding < 0``.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
TF_FILE = HERE / "golden_tf.npz"
TORCH_FILE = HERE / "golden_torch.npz"

_tf = None
REFUSED: tuple = ()  # TF's error types for a case its CPU kernels do not run; set on import


def tf_module():
    """TensorFlow, imported on first use and limited to one thread (it shares the CPU)."""
    global _tf, REFUSED
    if _tf is None:
        import tensorflow as tf

        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
        # OpError from the kernels; ValueError from TF's Python checks
        _tf, REFUSED = tf, (tf.errors.OpError, ValueError)
    return _tf


# ---------------------------------------------------------------------------------------------
# geometry of one forward convolution; every TF case is an op derived from one of these


class Geometry:
    """A forward conv ``y = conv(x, w)``: ``x (N, *n, C_in)``, ``w (*k, C_in / g, C_out)``.

    ``pad`` is "SAME", "VALID" or one ``(lo, hi)`` per spatial dim; ``channels_first`` picks the
    data layout the case is stored in.
    """

    def __init__(
        self, n, k, cin, cout, *, s=1, d=1, pad="VALID", groups=1, batch=2, channels_first=False
    ):
        self.rank = len(n)
        self.n, self.k = tuple(n), tuple(k)
        self.s = (s,) * self.rank if isinstance(s, int) else tuple(s)
        self.d = (d,) * self.rank if isinstance(d, int) else tuple(d)
        self.pad = pad if isinstance(pad, str) else tuple(tuple(p) for p in pad)
        self.cin, self.cout, self.groups, self.batch = cin, cout, groups, batch
        self.cf = channels_first

    @property
    def data_format(self):
        return data_format(self.rank, self.cf)

    @property
    def pads(self):
        """The padding of each spatial dim: "SAME", "VALID" or a ``(lo, hi)`` pair."""
        return [self.pad] * self.rank if isinstance(self.pad, str) else list(self.pad)

    @property
    def m(self):
        """Forward output sizes, asked of TensorFlow."""
        return tuple(tf_output_size(*a) for a in zip(self.n, self.k, self.s, self.d, self.pads))

    def with_n(self, n):
        return Geometry(
            n,
            self.k,
            self.cin,
            self.cout,
            s=self.s,
            d=self.d,
            pad=self.pad,
            groups=self.groups,
            batch=self.batch,
            channels_first=self.cf,
        )

    def full(self, values, outer=1):
        """TF's full-rank form of per-dim ``values`` in this data_format."""
        return [outer, outer, *values] if self.cf else [outer, *values, outer]

    def full_shape(self, spatial, channels):
        return [self.batch, channels, *spatial] if self.cf else [self.batch, *spatial, channels]

    def tf_padding(self, channels_first=None):
        cf = self.cf if channels_first is None else channels_first
        if isinstance(self.pad, str):
            return self.pad
        pairs = [list(p) for p in self.pad]
        return [[0, 0], [0, 0], *pairs] if cf else [[0, 0], *pairs, [0, 0]]


def data_format(rank, channels_first):
    return {
        (1, False): "NWC",
        (1, True): "NCW",
        (2, False): "NHWC",
        (2, True): "NCHW",
        (3, False): "NDHWC",
        (3, True): "NCDHW",
    }[(rank, channels_first)]


def to_first(a):
    """Channels-last -> channels-first."""
    return np.moveaxis(a, -1, 1)


def to_last(a):
    return np.moveaxis(a, 1, -1)


@functools.cache
def tf_output_size(n, k, s, d, pad):
    """TensorFlow's forward output size along one dim (0 where TF refuses the input size).

    Asked of the float64 kernel: TF 2.21's float32 (oneDNN) Conv2D accepts a window larger than
    the padded input and returns an output of a made-up size filled with uninitialised memory.
    """
    tf = tf_module()
    padding = pad if isinstance(pad, str) else [[0, 0], [0, 0], list(pad), [0, 0]]
    try:
        y = tf.nn.conv2d(
            tf.zeros((1, 1, n, 1), tf.float64),
            tf.zeros((1, k, 1, 1), tf.float64),
            [1, s],
            padding,
            dilations=[1, d],
        )
    except REFUSED:
        return 0
    return int(y.shape[2])


def legal_sizes(m, k, s, d, pad):
    """Every ``n`` whose forward output size is ``m``, by asking TensorFlow."""
    top = m * s + (k - 1) * d + 2
    return [n for n in range(1, top + 1) if tf_output_size(n, k, s, d, pad) == m]


# ---------------------------------------------------------------------------------------------
# TensorFlow calls; arrays in the case's layout unless a route says otherwise

FORWARD = {1: "conv1d", 2: "conv2d", 3: "conv3d"}


def family(op):
    if op.endswith("_transpose"):
        return "transpose"
    if op.endswith("_backprop_input"):
        return "backprop_input"
    if op.endswith("_backprop_filter"):
        return "backprop_filter"
    return "forward"


def tf_forward(tf, g, x, w, cf, op):
    """TensorFlow's forward op for ``op`` (conv/conv1d/2d/3d or the op a gradient belongs to)."""
    df = data_format(g.rank, cf)
    pad = g.tf_padding(cf)
    if op.startswith("conv_") or op == "conv":
        return tf.nn.convolution(
            x, w, strides=list(g.s), padding=pad, data_format=df, dilations=list(g.d)
        )
    if g.rank == 1:
        return tf.nn.conv1d(x, w, list(g.s), pad, data_format=df, dilations=list(g.d))
    if g.rank == 2:
        return tf.nn.conv2d(x, w, list(g.s), pad, data_format=df, dilations=list(g.d))
    full = (lambda v: [1, 1, *v]) if cf else (lambda v: [1, *v, 1])
    return tf.nn.conv3d(x, w, full(g.s), pad, data_format=df, dilations=full(g.d))


def tf_native(tf, op, g, arrays, dtype, cf):
    """TensorFlow's op for the case, in layout ``cf`` (arrays already in that layout)."""
    t = {k: tf.constant(v, dtype) for k, v in arrays.items() if k != "w_shape"}
    df = data_format(g.rank, cf)
    pad = g.tf_padding(cf)
    full = (lambda v: [1, 1, *v]) if cf else (lambda v: [1, *v, 1])
    shape_n = [g.batch, g.cin, *g.n] if cf else [g.batch, *g.n, g.cin]
    fam = family(op)
    if fam == "forward":
        return tf_forward(tf, g, t["x"], t["w"], cf, op), "tf.nn." + (
            "convolution" if op == "conv" else op
        )
    grouped = g.groups > 1
    if fam in ("transpose", "backprop_input") and not grouped and op[:6] != "conv1d":
        if op == "conv_transpose":
            return tf.nn.conv_transpose(
                t["dy"], t["w"], shape_n, list(g.s), pad, df, list(g.d)
            ), "tf.nn.conv_transpose"
        if op == "conv2d_transpose":
            return tf.nn.conv2d_transpose(
                t["dy"], t["w"], shape_n, list(g.s), pad, df, list(g.d)
            ), "tf.nn.conv2d_transpose"
        if op == "conv3d_transpose":
            return tf.nn.conv3d_transpose(
                t["dy"], t["w"], shape_n, full(g.s), pad, df, full(g.d)
            ), "tf.nn.conv3d_transpose"
        if op == "conv2d_backprop_input":
            return tf.compat.v1.nn.conv2d_backprop_input(
                shape_n, t["w"], t["dy"], full(g.s), pad, data_format=df, dilations=full(g.d)
            ), "tf.compat.v1.nn.conv2d_backprop_input"
        if op == "conv3d_backprop_input":
            return tf.raw_ops.Conv3DBackpropInputV2(
                input_sizes=shape_n,
                filter=t["w"],
                out_backprop=t["dy"],
                strides=full(g.s),
                padding=pad,
                data_format=df,
                dilations=full(g.d),
            ), "tf.raw_ops.Conv3DBackpropInputV2"
    if op == "conv1d_transpose" and not grouped:
        return tf.nn.conv1d_transpose(
            t["dy"], t["w"], shape_n, list(g.s), pad, df, list(g.d)
        ), "tf.nn.conv1d_transpose"
    if (
        fam == "backprop_filter"
        and not grouped
        and op in ("conv2d_backprop_filter", "conv3d_backprop_filter")
    ):
        fs = list(arrays["w_shape"])
        if op == "conv2d_backprop_filter":
            explicit = not isinstance(pad, str)
            return tf.raw_ops.Conv2DBackpropFilter(
                input=t["x"],
                filter_sizes=fs,
                out_backprop=t["dy"],
                strides=full(g.s),
                padding="EXPLICIT" if explicit else pad,
                explicit_paddings=sum(pad, []) if explicit else [],
                data_format=df,
                dilations=full(g.d),
            ), "tf.raw_ops.Conv2DBackpropFilter"
        return tf.raw_ops.Conv3DBackpropFilterV2(
            input=t["x"],
            filter_sizes=fs,
            out_backprop=t["dy"],
            strides=full(g.s),
            padding=pad,
            data_format=df,
            dilations=full(g.d),
        ), "tf.raw_ops.Conv3DBackpropFilterV2"
    # no TF op for this one (1-D / N-D gradients, grouped gradients): differentiate the forward op
    x = t["x"] if "x" in t else tf.zeros(shape_n, dtype)
    w = t["w"] if "w" in t else tf.zeros(arrays["w_shape"], dtype)
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = tf_forward(tf, g, x, w, cf, op)
    gx, gw = tape.gradient(y, [x, w], output_gradients=t["dy"])
    fwd = "tf.nn.convolution" if op.startswith("conv_") else "tf.nn." + FORWARD[g.rank]
    return (gw if fam == "backprop_filter" else gx), f"tf.GradientTape({fwd})"


def tf_split(tf, op, g, arrays, dtype):
    """Channels-last float64 fallback: per-group convs, dilation as zeros in the filter."""
    t = {k: tf.constant(v, dtype) for k, v in arrays.items() if k != "w_shape"}
    w = arrays["w"] if "w" in arrays else np.zeros(arrays["w_shape"])
    k_eff = [(k - 1) * d + 1 for k, d in zip(g.k, g.d)]
    wz = np.zeros((*k_eff, *w.shape[-2:]))
    wz[tuple(slice(None, None, d) for d in g.d)] = w
    wz = tf.constant(wz, dtype)
    x = t["x"] if "x" in t else tf.zeros([g.batch, *g.n, g.cin], dtype)
    with tf.GradientTape() as tape:
        tape.watch([x, wz])
        if isinstance(g.pad, str):
            xp, pad = x, g.pad
        else:
            xp, pad = tf.pad(x, [[0, 0], *g.pad, [0, 0]]), "VALID"
        xs = tf.split(xp, g.groups, axis=-1)
        ws = tf.split(wz, g.groups, axis=-1)
        # data_format given: without it TF 2.21's Conv3D gradient fails (nn_grad._Conv3DGrad
        # decodes the unset attribute)
        y = tf.concat(
            [
                tf.nn.convolution(a, b, list(g.s), pad, data_format(g.rank, False))
                for a, b in zip(xs, ws)
            ],
            axis=-1,
        )
    gx, gw = tape.gradient(y, [x, wz], output_gradients=t["dy"])
    fam = family(op)
    if fam == "backprop_filter":
        return gw.numpy()[tuple(slice(None, None, d) for d in g.d)]
    return gx.numpy()


def tf_compute(op, g, arrays, dtype_name):
    """``(value in the case layout, route)``, trying the routes in order; None if TF refuses."""
    tf = tf_module()
    dtype = {"float32": tf.float32, "float64": tf.float64}[dtype_name]
    errors = []
    try:
        value, name = tf_native(tf, op, g, arrays, dtype, g.cf)
        return np.asarray(value.numpy(), np.float64), f"native: {name}"
    except REFUSED as e:
        errors.append(str(e).splitlines()[0][:200])
    if g.cf:
        last = {k: (v if k in ("w", "w_shape") else to_last(v)) for k, v in arrays.items()}
        try:
            value, name = tf_native(tf, op, g, last, dtype, False)
            value = value.numpy()
            if family(op) != "backprop_filter":
                value = to_first(value)
            return np.asarray(value, np.float64), f"channels_last: {name}"
        except REFUSED as e:
            errors.append(str(e).splitlines()[0][:200])
    if dtype_name == "float64" and family(op) != "forward":
        last = (
            arrays
            if not g.cf
            else {k: (v if k in ("w", "w_shape") else to_last(v)) for k, v in arrays.items()}
        )
        try:
            value = tf_split(tf, op, g, last, dtype)
            if g.cf and family(op) != "backprop_filter":
                value = to_first(value)
            return np.asarray(value, np.float64), (
                "split: tf.GradientTape(tf.nn.convolution per group)"
            )
        except REFUSED as e:
            errors.append(str(e).splitlines()[0][:200])
    return None, " | ".join(errors)


# ---------------------------------------------------------------------------------------------
# TF case list


def fmt(values):
    return "x".join(str(v) for v in values)


def pad_name(pad):
    if isinstance(pad, str):
        return pad
    return "pad" + "_".join(f"{lo}{hi}" for lo, hi in pad)


def tf_case(rng, op, g):
    """Arrays, jconv kwargs and id of one TF case (TF value not yet computed)."""
    fam = family(op)
    x = rng.integers(-3, 4, (g.batch, *g.n, g.cin)).astype(np.float64)
    w = rng.integers(-3, 4, (*g.k, g.cin // g.groups, g.cout)).astype(np.float64)
    dy = rng.integers(-3, 4, (g.batch, *g.m, g.cout)).astype(np.float64)
    if g.cf:
        x, dy = to_first(x), to_first(dy)
    rank_1 = op.startswith("conv1d")
    nd = op.startswith("conv_") or op == "conv"
    # jconv accepts what TF accepts: the TF-style forms are stored, full rank where TF needs it
    if nd or rank_1 or op in ("conv2d", "conv2d_transpose"):
        strides, dilations = list(g.s), list(g.d)
    else:
        strides, dilations = g.full(g.s), g.full(g.d)
    # TF and jconv call conv1d's stride "stride"; every other op's "strides"
    kw = {
        "stride" if op == "conv1d" else "strides": strides,
        "padding": g.tf_padding(),
        "dilations": dilations,
        "data_format": g.data_format,
    }
    shape_n = g.full_shape(g.n, g.cin)
    parts = [op, pad_name(g.pad), "s" + fmt(g.s)]
    if any(d > 1 for d in g.d):
        parts.append("d" + fmt(g.d))
    if g.groups > 1:
        parts.append(f"g{g.groups}")
    parts.append("k" + fmt(g.k))
    if fam == "forward":
        arrays, names = {"x": x, "w": w}, {"input": "x", "filters": "w"}
        parts.append("in" + fmt(g.n))
    elif fam == "transpose":
        arrays, names = {"dy": dy, "w": w}, {"input": "dy", "filters": "w"}
        kw["output_shape"] = shape_n
        parts.append("out" + fmt(g.n))
    elif fam == "backprop_input":
        arrays, names = {"dy": dy, "w": w}, {"filters": "w", "out_backprop": "dy"}
        kw["input_sizes"] = shape_n
        parts.append("in" + fmt(g.n))
    else:
        arrays, names = {"x": x, "dy": dy}, {"input": "x", "out_backprop": "dy"}
        kw["filter_sizes"] = list(w.shape)
        parts.append("in" + fmt(g.n))
    parts.append(g.data_format)
    return arrays, names, kw, "-".join(parts), w.shape


def tf_geometries():
    """(op, Geometry) pairs: about 200 TF cases."""
    G = Geometry
    out = []

    def add(op, g):
        out.append((op, g))

    def every_size(op, g, m):
        """One case per legal output size (all combinations) for dy of spatial size ``m``."""
        ranges = [legal_sizes(*a) for a in zip(m, g.k, g.s, g.d, g.pads)]
        for n in itertools.product(*ranges):
            add(op, g.with_n(n))

    # forward convs -------------------------------------------------------------------------
    for cf in (False, True):
        for pad in ("SAME", "VALID", ((1, 1), (2, 2)), ((0, 2), (1, 0))):
            for s in ((1, 1), (2, 2), (2, 3)):
                add("conv2d", G((7, 8), (3, 2), 3, 4, s=s, pad=pad, channels_first=cf))
        add("conv2d", G((7, 8), (3, 3), 2, 3, d=(2, 1), pad="SAME", channels_first=cf))
        add("conv2d", G((7, 9), (2, 3), 2, 3, d=(1, 2), pad=((1, 0), (0, 3)), channels_first=cf))
        add("conv2d", G((6, 7), (3, 3), 4, 6, s=(1, 2), pad="SAME", groups=2, channels_first=cf))
        add("conv1d", G((9,), (3,), 2, 3, s=2, pad="SAME", channels_first=cf))
        add("conv1d", G((9,), (4,), 2, 3, s=3, pad="VALID", channels_first=cf))
        add("conv1d", G((9,), (3,), 2, 3, d=2, pad="SAME", channels_first=cf))
        add("conv1d", G((8,), (2,), 6, 3, s=2, pad="VALID", groups=3, channels_first=cf))
        for s, pad in (
            ((1, 2, 3), "SAME"),
            ((2, 2, 2), "SAME"),
            ((2, 1, 3), "VALID"),
            ((1, 1, 1), "VALID"),
            ((3, 2, 1), "SAME"),
        ):
            add("conv3d", G((5, 6, 7), (2, 3, 2), 2, 3, s=s, pad=pad, channels_first=cf))
    # TF 2.21's float64 Conv3D is wrong for these (SAME, stride > 1 over a size-1 kernel dim);
    # they stay in the list to show that the float32/float64 check drops them
    add("conv3d", G((8, 3, 7), (1, 1, 2), 2, 3, s=(2, 3, 2), pad="SAME"))
    add("conv3d", G((6, 5, 3), (2, 1, 1), 3, 2, s=(1, 2, 3), pad="SAME"))
    add("conv", G((8,), (3,), 2, 3, s=3, pad="SAME"))
    add("conv", G((6, 7), (3, 2), 2, 2, s=(2, 1), pad="VALID", channels_first=True))
    add("conv", G((6, 7), (3, 2), 2, 2, d=(1, 3), pad="SAME"))
    add("conv", G((6, 7), (3, 3), 4, 2, s=2, pad="SAME", groups=2))
    add("conv", G((4, 5, 6), (2, 2, 2), 2, 2, s=(1, 2, 2), pad="VALID"))
    add("conv", G((4, 5, 6), (3, 2, 2), 2, 2, s=(2, 3, 1), pad="SAME", channels_first=True))

    # transposes: every legal output size -----------------------------------------------------
    every_size("conv2d_transpose", G((0, 0), (3, 3), 2, 3, s=(2, 3), pad="SAME"), (3, 2))
    every_size("conv2d_transpose", G((0, 0), (3, 3), 2, 3, s=(2, 2), pad="VALID"), (2, 3))
    every_size("conv2d_transpose", G((0, 0), (3, 2), 2, 3, s=(3, 2), pad=((0, 2), (1, 0))), (2, 3))
    every_size("conv2d_transpose", G((0, 0), (4, 3), 2, 3, s=(2, 3), pad=((1, 1), (2, 2))), (3, 2))
    every_size("conv2d_transpose", G((0, 0), (2, 1), 2, 3, s=(3, 3), pad="VALID"), (2, 2))
    every_size(
        "conv2d_transpose",
        G((0, 0), (4, 4), 2, 2, s=(2, 2), pad="SAME", channels_first=True),
        (2, 3),
    )
    every_size("conv2d_transpose", G((0, 0), (3, 3), 4, 6, s=(2, 2), pad="SAME", groups=2), (2, 3))
    every_size(
        "conv2d_transpose",
        G((0, 0), (3, 2), 6, 3, s=(2, 1), pad="VALID", groups=3, channels_first=True),
        (3, 3),
    )
    every_size("conv2d_transpose", G((0, 0), (3, 3), 2, 3, d=(2, 1), pad="SAME"), (5, 4))
    every_size(
        "conv2d_transpose",
        G((0, 0), (2, 3), 2, 3, d=(1, 2), pad="VALID", channels_first=True),
        (3, 2),
    )
    every_size("conv1d_transpose", G((0,), (3,), 2, 3, s=3, pad="SAME"), (3,))
    every_size("conv1d_transpose", G((0,), (3,), 2, 3, s=2, pad="VALID"), (3,))
    every_size("conv1d_transpose", G((0,), (1,), 2, 3, s=3, pad="VALID"), (3,))
    every_size("conv1d_transpose", G((0,), (4,), 2, 2, s=2, pad="SAME", channels_first=True), (4,))
    every_size("conv1d_transpose", G((0,), (3,), 2, 2, d=2, pad="VALID"), (4,))
    every_size("conv1d_transpose", G((0,), (3,), 4, 2, s=2, pad="SAME", groups=2), (3,))
    every_size(
        "conv3d_transpose", G((0, 0, 0), (2, 3, 2), 2, 3, s=(1, 2, 3), pad="SAME"), (2, 2, 2)
    )
    every_size(
        "conv3d_transpose",
        G((0, 0, 0), (3, 2, 2), 2, 2, s=(2, 2, 1), pad="VALID", channels_first=True),
        (2, 2, 3),
    )
    every_size(
        "conv3d_transpose", G((0, 0, 0), (2, 2, 2), 2, 2, d=(1, 2, 1), pad="SAME"), (2, 3, 2)
    )
    every_size("conv_transpose", G((0,), (2,), 2, 2, s=2, pad="VALID"), (3,))
    every_size(
        "conv_transpose", G((0, 0), (3, 2), 2, 2, s=(2, 2), pad="SAME", channels_first=True), (2, 2)
    )
    every_size("conv_transpose", G((0, 0, 0), (2, 2, 2), 2, 2, s=(2, 1, 2), pad="VALID"), (2, 2, 2))

    # input gradients ---------------------------------------------------------------------------
    every_size("conv2d_backprop_input", G((0, 0), (3, 3), 2, 3, s=(2, 2), pad="SAME"), (3, 2))
    every_size(
        "conv2d_backprop_input", G((0, 0), (3, 2), 2, 3, s=(3, 1), pad=((2, 0), (0, 1))), (2, 3)
    )
    every_size(
        "conv2d_backprop_input",
        G((0, 0), (2, 2), 2, 3, s=(2, 3), pad="VALID", channels_first=True),
        (2, 2),
    )
    every_size(
        "conv2d_backprop_input", G((0, 0), (3, 3), 4, 4, s=(1, 2), pad="SAME", groups=2), (3, 3)
    )
    every_size(
        "conv2d_backprop_input",
        G((0, 0), (3, 3), 2, 3, d=(2, 2), pad="SAME", channels_first=True),
        (4, 4),
    )
    every_size(
        "conv3d_backprop_input", G((0, 0, 0), (2, 2, 2), 2, 3, s=(2, 1, 2), pad="SAME"), (2, 2, 2)
    )
    every_size(
        "conv3d_backprop_input",
        G((0, 0, 0), (2, 3, 2), 2, 2, s=(1, 2, 1), pad="VALID", channels_first=True),
        (2, 2, 3),
    )
    every_size("conv1d_backprop_input", G((0,), (3,), 2, 3, s=3, pad="VALID"), (3,))
    every_size(
        "conv1d_backprop_input",
        G((0,), (3,), 4, 2, s=2, pad="SAME", groups=2, channels_first=True),
        (3,),
    )
    every_size("conv_backprop_input", G((0, 0), (2, 3), 2, 2, s=(2, 2), pad="SAME"), (2, 2))
    every_size("conv_backprop_input", G((0,), (3,), 2, 2, d=2, pad="SAME"), (5,))

    # filter gradients --------------------------------------------------------------------------
    for cf in (False, True):
        for pad in ("SAME", "VALID", ((1, 2), (0, 1))):
            for s, n in (((1, 1), (6, 7)), ((2, 2), (7, 8)), ((3, 2), (8, 6))):
                add("conv2d_backprop_filter", G(n, (3, 2), 2, 3, s=s, pad=pad, channels_first=cf))
        add(
            "conv2d_backprop_filter",
            G((7, 7), (3, 3), 2, 3, d=(2, 1), pad="SAME", channels_first=cf),
        )
        add(
            "conv2d_backprop_filter",
            G((7, 8), (2, 2), 2, 2, d=(2, 3), pad="VALID", channels_first=cf),
        )
        add(
            "conv2d_backprop_filter",
            G((6, 7), (3, 3), 4, 6, s=(2, 1), pad="SAME", groups=2, channels_first=cf),
        )
        add(
            "conv2d_backprop_filter",
            G((5, 6), (1, 1), 6, 3, s=(2, 3), pad="VALID", groups=3, channels_first=cf),
        )
        for s, pad in (((1, 2, 3), "SAME"), ((2, 2, 2), "VALID"), ((2, 1, 1), "SAME")):
            add(
                "conv3d_backprop_filter",
                G((5, 6, 7), (2, 3, 2), 2, 2, s=s, pad=pad, channels_first=cf),
            )
        add(
            "conv3d_backprop_filter",
            G((5, 5, 6), (2, 2, 2), 2, 2, d=(1, 2, 2), pad="VALID", channels_first=cf),
        )
        add("conv1d_backprop_filter", G((10,), (3,), 2, 3, s=3, pad="SAME", channels_first=cf))
        add(
            "conv1d_backprop_filter",
            G((9,), (2,), 4, 2, s=2, pad="VALID", groups=2, channels_first=cf),
        )
        add("conv1d_backprop_filter", G((9,), (3,), 2, 2, d=3, pad="SAME", channels_first=cf))
    add("conv_backprop_filter", G((7, 6), (3, 2), 2, 2, s=(2, 3), pad="SAME"))
    add("conv_backprop_filter", G((4, 5, 6), (2, 2, 3), 2, 2, s=(1, 2, 2), pad="VALID"))
    add("conv_backprop_filter", G((7,), (2,), 2, 2, d=2, pad="VALID", channels_first=True))
    return out


def check_ranges(g, m):
    """jconv's legal transposed sizes must equal TensorFlow's, dim by dim."""
    import jconv

    ours = jconv.conv_transpose_output_shapes(m, g.k, g.s, g.pad, g.d)
    problems = []
    for i, (mi, k, s, d, p) in enumerate(zip(m, g.k, g.s, g.d, g.pads)):
        theirs = legal_sizes(mi, k, s, d, p)
        mine = list(range(ours[i][0], ours[i][1] + 1))
        if theirs != mine:
            problems.append(f"m={mi} k={k} s={s} d={d} pad={p}: TF {theirs}, jconv {mine}")
    return problems


def reference_value(op, g, arrays):
    """jconv.reference's value (diagnostics only: the stored value is TensorFlow's)."""
    from jconv import reference

    last = {k: (v if k in ("w", "w_shape") or not g.cf else to_last(v)) for k, v in arrays.items()}
    pad = g.pad
    fam = family(op)
    if fam == "forward":
        y = reference.conv(last["x"], last["w"], g.s, pad, g.d)
    elif fam in ("transpose", "backprop_input"):
        y = reference.conv_backprop_input(
            [g.batch, *g.n, g.cin], last["w"], last["dy"], g.s, pad, g.d
        )
    else:
        return reference.conv_backprop_filter(
            last["x"], arrays["w_shape"], last["dy"], g.s, pad, g.d
        )
    return to_first(y) if g.cf else y


def make_tf(seed=20240611):
    tf = tf_module()
    rng = np.random.default_rng(seed)
    store = {
        "meta/tensorflow": np.array(tf.__version__),
        "meta/numpy": np.array(np.__version__),
        "meta/script": np.array("tests/data/make_golden.py"),
        "meta/tf_onednn": np.array(os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")),
    }
    skipped, refused, ref_mismatch, range_problems = [], [], [], []
    ids = set()
    kept = 0
    for op, g in tf_geometries():
        fam = family(op)
        if fam in ("transpose", "backprop_input"):
            range_problems += check_ranges(g, g.m)
        arrays, names, kw, cid, w_shape = tf_case(rng, op, g)
        base, j = cid, 2
        while cid in ids:
            cid, j = f"{base}-{j}", j + 1
        ids.add(cid)
        call = dict(arrays)
        if "w" not in call:
            call["w_shape"] = w_shape
        v32, r32 = tf_compute(op, g, call, "float32")
        v64, r64 = tf_compute(op, g, call, "float64") if v32 is not None else (None, "")
        if v32 is None or v64 is None:
            refused.append((cid, r32 if v32 is None else r64))
            continue
        if v32.shape != v64.shape or not np.array_equal(v32, v64):
            ref = reference_value(op, g, {**arrays, "w_shape": w_shape})
            diff = (
                float(np.max(np.abs(v32 - v64)))
                if v32.shape == v64.shape
                else f"shapes {v32.shape} vs {v64.shape}"
            )
            skipped.append(
                (
                    cid,
                    r32,
                    r64,
                    diff,
                    "float32"
                    if np.array_equal(ref, v32)
                    else "float64"
                    if np.array_equal(ref, v64)
                    else "neither",
                )
            )
            continue
        ref = reference_value(op, g, {**arrays, "w_shape": w_shape})
        if not np.array_equal(ref, v32):
            ref_mismatch.append(cid)
        key = f"case{kept:04d}"
        for name, a in arrays.items():
            store[f"{key}/{name}"] = a
        store[f"{key}/out"] = v64
        config = {
            "id": cid,
            "op": op,
            "arrays": names,
            "kwargs": kw,
            "source": {"float32": r32, "float64": r64},
        }
        store[f"{key}/config"] = np.array(json.dumps(config))
        kept += 1
    np.savez_compressed(TF_FILE, **store)
    print(f"\n{TF_FILE.name}: {kept} cases, {TF_FILE.stat().st_size / 1e3:.0f} kB")
    by_op: dict = {}
    for k, v in store.items():
        if k.endswith("/config"):
            op = json.loads(str(v))["op"]
            by_op[op] = by_op.get(op, 0) + 1
    for op, c in sorted(by_op.items()):
        print(f"  {op:24s} {c}")
    routes: dict = {}
    for k, v in store.items():
        if k.endswith("/config"):
            for dtype, route in json.loads(str(v))["source"].items():
                key = (dtype, route.split(":")[0])
                routes[key] = routes.get(key, 0) + 1
    print("routes:", ", ".join(f"{d} {r}: {c}" for (d, r), c in sorted(routes.items())))
    print(f"skipped, TF float32 != TF float64 ({len(skipped)}):")
    for cid, r32, r64, diff, right in skipped:
        print(
            f"  {cid}: max |diff| {diff}; float32 via {r32}, float64 via {r64}; "
            f"jconv.reference agrees with {right}"
        )
    print(f"refused by TF in every route ({len(refused)}):")
    for cid, why in refused:
        print(f"  {cid}: {why}")
    print(f"jconv.reference != TF ({len(ref_mismatch)}): {ref_mismatch}")
    print(
        f"jconv.conv_transpose_output_shapes != TF's legal sizes ({len(range_problems)}): "
        f"{sorted(set(range_problems))}"
    )


# ---------------------------------------------------------------------------------------------
# PyTorch cases


def torch_cases():
    """(op, settings) pairs: about 150 PyTorch cases."""
    out = []

    def conv(rank, n, k, cin, cout, **kw):
        out.append((f"conv{rank}d", dict(n=n, k=k, cin=cin, cout=cout, **kw)))

    def transpose_all(
        rank,
        m,
        k,
        cin,
        cout,
        *,
        stride,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        op_kind="conv_transpose",
    ):
        """Every legal output_padding, all combinations.

        conv_transpose allows ``output_padding < max(stride, dilation)`` per dim; the input
        gradient only sizes that the forward conv maps back to ``m``: ``< stride``.
        """
        per = lambda v: (v,) * rank if isinstance(v, int) else tuple(v)
        ss, ds = per(stride), per(dilation)
        tops = [max(s, d) if op_kind == "conv_transpose" else s for s, d in zip(ss, ds)]
        for op_ in itertools.product(*map(range, tops)):
            name = f"conv_transpose{rank}d" if op_kind == "conv_transpose" else f"conv{rank}d_input"
            out.append(
                (
                    name,
                    dict(
                        m=m,
                        k=k,
                        cin=cin,
                        cout=cout,
                        stride=stride,
                        padding=padding,
                        dilation=dilation,
                        groups=groups,
                        bias=bias,
                        output_padding=list(op_),
                    ),
                )
            )

    # forward
    conv(1, (9,), (3,), 2, 4, stride=2, padding=1, bias=True)
    conv(1, (9,), (3,), 3, 3, groups=3, dilation=2, padding="same", bias=False)
    conv(1, (10,), (4,), 2, 2, padding="same", bias=True)
    conv(1, (10,), (2,), 4, 6, stride=3, groups=2, padding="valid", bias=True)
    conv(1, (8,), (3,), 2, 2, padding=(2,), dilation=2, bias=False)
    for groups in (1, 2, 3):
        conv(
            2,
            (7, 8),
            (3, 2),
            2 * groups,
            3 * groups,
            groups=groups,
            stride=(1, 2),
            padding=(1, 0),
            bias=True,
        )
        conv(
            2,
            (7, 8),
            (3, 3),
            2 * groups,
            groups,
            groups=groups,
            dilation=(2, 1),
            padding="same",
            bias=groups != 2,
        )
        conv(
            2,
            (8, 7),
            (2, 3),
            groups,
            2 * groups,
            groups=groups,
            stride=(3, 1),
            padding=2,
            dilation=(1, 2),
            bias=True,
        )
        conv(
            3,
            (5, 6, 5),
            (2, 3, 2),
            2 * groups,
            2 * groups,
            groups=groups,
            stride=(1, 2, 3),
            padding=(1, 0, 1),
            bias=True,
        )
    conv(2, (6, 6), (4, 4), 2, 3, padding="same", dilation=(1, 2), bias=False)
    conv(2, (6, 7), (2, 4), 2, 3, padding="same", bias=True)
    conv(2, (6, 7), (3, 3), 2, 3, padding="valid", stride=2, bias=False)
    conv(2, (9, 9), (3, 3), 3, 3, stride=(2, 3), padding=(0, 2), dilation=2, bias=True)
    conv(3, (5, 5, 6), (2, 2, 2), 2, 3, padding="same", dilation=(2, 1, 1), bias=True)
    conv(3, (6, 5, 5), (3, 2, 2), 4, 2, groups=2, stride=2, padding=1, bias=False)
    conv(3, (4, 5, 6), (1, 2, 3), 3, 3, groups=3, padding="valid", bias=True)

    # transposed
    transpose_all(1, (4,), (3,), 2, 3, stride=3, padding=1)
    transpose_all(1, (4,), (2,), 4, 4, stride=2, groups=2, dilation=3, bias=False)
    transpose_all(1, (3,), (3,), 3, 3, stride=1, dilation=2, groups=3)
    transpose_all(2, (3, 2), (3, 3), 2, 3, stride=(2, 3), padding=(1, 0))
    transpose_all(2, (3, 3), (2, 3), 4, 6, stride=(2, 2), padding=(0, 1), groups=2, bias=False)
    transpose_all(2, (2, 3), (3, 2), 3, 3, stride=(1, 3), dilation=(2, 1), groups=3)
    transpose_all(2, (3, 3), (3, 3), 2, 2, stride=1, padding=1, dilation=(2, 3))
    transpose_all(2, (3, 2), (1, 2), 2, 2, stride=(3, 2), padding=0)
    transpose_all(3, (2, 2, 2), (2, 3, 2), 2, 2, stride=(1, 2, 3), padding=(0, 1, 1))
    transpose_all(
        3, (2, 3, 2), (2, 2, 2), 4, 4, stride=(2, 1, 2), groups=2, dilation=(1, 2, 1), bias=False
    )

    # gradients: every legal input size, via output_padding
    transpose_all(1, (4,), (3,), 2, 3, stride=2, padding=1, op_kind="conv_input", bias=False)
    transpose_all(
        2,
        (3, 3),
        (3, 2),
        4,
        2,
        stride=(2, 3),
        padding=(1, 0),
        groups=2,
        op_kind="conv_input",
        bias=False,
    )
    transpose_all(
        2, (3, 2), (2, 2), 2, 3, stride=1, dilation=(2, 1), op_kind="conv_input", bias=False
    )
    transpose_all(
        3, (2, 2, 3), (2, 2, 2), 3, 3, stride=(2, 1, 2), groups=3, op_kind="conv_input", bias=False
    )

    def weight(rank, n, k, cin, cout, **kw):
        out.append((f"conv{rank}d_weight", dict(n=n, k=k, cin=cin, cout=cout, **kw)))

    weight(1, (10,), (3,), 2, 3, stride=3, padding=1)
    weight(1, (9,), (2,), 4, 2, groups=2, dilation=3, padding=0)
    weight(1, (8,), (3,), 3, 6, groups=3, stride=2, padding=2)
    for groups in (1, 2, 3):
        weight(
            2, (7, 8), (3, 2), 2 * groups, 2 * groups, groups=groups, stride=(2, 3), padding=(1, 0)
        )
        weight(
            2, (8, 7), (2, 3), groups, 3 * groups, groups=groups, dilation=(2, 1), padding=(0, 2)
        )
        weight(
            3,
            (5, 6, 5),
            (2, 2, 3),
            2 * groups,
            groups,
            groups=groups,
            stride=(1, 2, 2),
            padding=(1, 0, 1),
        )
    weight(2, (9, 8), (3, 3), 2, 2, stride=2, dilation=1, padding=1)
    weight(2, (7, 7), (1, 1), 2, 3, stride=3, padding=0)
    weight(3, (6, 5, 6), (2, 2, 2), 2, 2, dilation=(1, 2, 2), padding=(1, 1, 0))

    # random settings on top of the hand-picked ones; PyTorch rejects illegal draws (dropped)
    rng = np.random.default_rng(7)
    for i in range(48):
        rank = [1, 2, 2, 3][i % 4]
        groups = int(rng.integers(1, 4))
        k = tuple(int(v) for v in rng.integers(1, 4, rank))
        dilation = tuple(int(v) for v in rng.integers(1, 3, rank))
        stride = tuple(int(v) for v in rng.integers(1, 4, rank))
        tup = lambda v, rank=rank: v[0] if rank == 1 or rng.random() < 0.3 else v
        cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        kind = ("forward", "transpose", "weight")[i % 3]
        if kind == "forward":
            n = tuple(int(v) for v in rng.integers(4, 8, rank))
            choice = rng.integers(0, 3)
            if choice == 0 or stride == (1,) * rank and choice == 1:
                padding = ("same", "valid")[int(rng.integers(0, 2))]
                stride = 1 if padding == "same" else stride
            else:
                padding = tuple(int(v) for v in rng.integers(0, 3, rank))
            conv(
                rank,
                n,
                k,
                cin,
                cout,
                groups=groups,
                dilation=tup(dilation),
                stride=stride if isinstance(stride, int) else tup(stride),
                padding=padding if isinstance(padding, str) else tup(padding),
                bias=bool(rng.random() < 0.5),
            )
        elif kind == "transpose":
            m = tuple(int(v) for v in rng.integers(2, 4, rank))
            padding = tuple(int(v) for v in rng.integers(0, 2, rank))
            if rank == 3:  # keep the count of output_padding combinations small
                stride = tuple(min(v, 2) for v in stride)
                dilation = (1, 1, 1)
            transpose_all(
                rank,
                m,
                k,
                cin,
                cout,
                stride=tup(stride),
                padding=tup(padding),
                dilation=tup(dilation),
                groups=groups,
                bias=bool(rng.random() < 0.5),
                op_kind="conv_transpose" if i % 2 else "conv_input",
            )
        else:
            n = tuple(int(v) for v in rng.integers(4, 8, rank))
            padding = tuple(int(v) for v in rng.integers(0, 3, rank))
            weight(
                rank,
                n,
                k,
                cin,
                cout,
                groups=groups,
                stride=tup(stride),
                dilation=tup(dilation),
                padding=tup(padding),
            )
    return out


def torch_case(torch, F, ints, op, c):
    """Arrays, argument names, kwargs, PyTorch's float64 value and a size tag of one case."""
    t = torch.from_numpy
    rank = int([ch for ch in op if ch.isdigit()][0])
    groups = c.get("groups", 1)
    kw = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in c.items()
        if k in ("stride", "padding", "dilation", "groups", "output_padding")
    }
    settings = dict(
        stride=c.get("stride", 1),
        padding=c["padding"],
        dilation=c.get("dilation", 1),
        groups=groups,
    )
    if op.startswith("conv_transpose") or op.endswith("_input"):
        x = ints(2, c["cin"], *c["m"])
        w = ints(c["cin"], c["cout"] // groups, *c["k"])
        b = ints(c["cout"]) if c.get("bias") else None
        y = getattr(F, f"conv_transpose{rank}d")(
            t(x), t(w), None if b is None else t(b), output_padding=c["output_padding"], **settings
        ).numpy()
        if op.endswith("_input"):
            # the transposed conv's weight (C_in, C_out / g, *k) is the forward conv's weight
            # (C_out', C_in' / g, *k) of a conv from C_out to C_in channels: conv*_input's
            input_size = list(y.shape)
            y = getattr(torch.nn.grad, op)(input_size, t(w), t(x), **settings).numpy()
            kw.pop("output_padding")
            return (
                {"w": w, "dy": x},
                {"weight": "w", "grad_output": "dy"},
                {"input_size": input_size, **kw},
                y,
                "in" + fmt(input_size[2:]),
            )
        arrays, names, tag = {"x": x, "w": w}, {"input": "x", "weight": "w"}, "out"
        tag = "out" + fmt(y.shape[2:])
    elif op.endswith("_weight"):
        x = ints(2, c["cin"], *c["n"])
        wshape = [c["cout"], c["cin"] // groups, *c["k"]]
        m = getattr(F, f"conv{rank}d")(
            t(x), torch.zeros(wshape, dtype=torch.float64), **settings
        ).shape
        dy = ints(*m)
        y = getattr(torch.nn.grad, op)(t(x), wshape, t(dy), **settings).numpy()
        return (
            {"x": x, "dy": dy},
            {"input": "x", "grad_output": "dy"},
            {"weight_size": wshape, **kw},
            y,
            "in" + fmt(c["n"]),
        )
    else:
        x = ints(2, c["cin"], *c["n"])
        w = ints(c["cout"], c["cin"] // groups, *c["k"])
        b = ints(c["cout"]) if c.get("bias") else None
        y = getattr(F, op)(t(x), t(w), None if b is None else t(b), **settings).numpy()
        arrays, names, tag = {"x": x, "w": w}, {"input": "x", "weight": "w"}, "in" + fmt(c["n"])
    if b is not None:
        arrays["b"], names["bias"] = b, "b"
    return arrays, names, kw, y, tag


def make_torch(seed=20240612):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", "Using padding='same'", UserWarning)
    rng = np.random.default_rng(seed)
    ints = lambda *shape: rng.integers(-3, 4, shape).astype(np.float64)
    store = {
        "meta/torch": np.array(torch.__version__),
        "meta/numpy": np.array(np.__version__),
        "meta/script": np.array("tests/data/make_golden.py"),
    }
    ids, dropped = set(), []
    counts: dict = {}
    for op, c in torch_cases():
        parts = [op, "k" + fmt(c["k"])]
        rank = len(c["k"])
        for name, short in (
            ("stride", "s"),
            ("padding", "p"),
            ("dilation", "d"),
            ("groups", "g"),
            ("output_padding", "op"),
        ):
            v = c.get(name)
            default = 0 if name in ("padding", "output_padding") else 1
            shown = name == "output_padding" or v not in (default, (default,) * rank)
            if v is not None and shown:
                parts.append(
                    short + (v if isinstance(v, str) else str(v) if isinstance(v, int) else fmt(v))
                )
        try:
            arrays, names, kw, y, tag = torch_case(torch, F, ints, op, c)
        except RuntimeError as e:  # an illegal random draw (window larger than the input...)
            dropped.append(("-".join(parts), str(e).splitlines()[0][:120]))
            continue
        parts.append(tag)
        if "b" in arrays:
            parts.append("bias")
        cid = base = "-".join(parts)
        j = 2
        while cid in ids:
            cid, j = f"{base}-{j}", j + 1
        key = f"case{len(ids):04d}"
        ids.add(cid)
        for name, a in arrays.items():
            store[f"{key}/{name}"] = a
        store[f"{key}/out"] = np.asarray(y, np.float64)
        module = "torch.nn.grad" if op.endswith(("_input", "_weight")) else "torch.nn.functional"
        config = {
            "id": cid,
            "op": op,
            "arrays": names,
            "kwargs": kw,
            "source": {"float64": f"{module}.{op}"},
        }
        store[f"{key}/config"] = np.array(json.dumps(config))
        counts[op] = counts.get(op, 0) + 1
    np.savez_compressed(TORCH_FILE, **store)
    print(f"\n{TORCH_FILE.name}: {len(ids)} cases, {TORCH_FILE.stat().st_size / 1e3:.0f} kB")
    for op, c in sorted(counts.items()):
        print(f"  {op:24s} {c}")
    print(f"random draws PyTorch refused ({len(dropped)}):")
    for cid, why in dropped:
        print(f"  {cid}: {why}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))  # jconv from this checkout
    which = sys.argv[1:] or ["tf", "torch"]
    if "tf" in which:
        make_tf()
    if "torch" in which:
        make_torch()
