"""Record what TensorFlow and PyTorch do with zero-size dimensions: ``tests/data/zero_size.json``.

Run from the repository root::

    python tests/data/make_zero_size.py

Each case is one call of a jconv / jconv.torch op with a zero somewhere (batch, a channel count,
a spatial size of the data, an entry of ``output_shape``/``input_sizes``/``filter_sizes``, a
kernel tap count) or with a window that only fits with TensorFlow's rounding. The same call is
made in the framework whose API the op copies and its answer is stored: the result's shape and
dtype and, when it has elements, its values (inputs are integer-valued, so values are exact), or
the refusal's message.

TensorFlow answers twice, because its CPU kernels disagree on empty tensors. ``tf`` is the
answer of its reference (Eigen) kernels — every float64 op, and float32 with
``TF_ENABLE_ONEDNN_OPTS=0`` — which validate shapes before they look at the element count; the
two must agree or the script stops. ``tf_onednn`` is float32 with oneDNN on (TensorFlow's x86
default), which returns early on empty tensors without validating them and sometimes with the
wrong shape (a batch-0 ``Conv2D`` keeps the input's spatial sizes and channels). jconv follows
``tf``, except where the reference kernels refuse for want of a kernel ("Current CPU
implementations do not yet support dilation rates larger than 1"): there ``tf`` is oneDNN's
answer and ``source`` says so. 1-D gradients, which TensorFlow has no op for, are the 2-D ops
with a unit height. Each framework runs in a subprocess, one call at a time; a call that kills
the process is recorded as ``abort`` and the next subprocess goes on from the next case.

Made with TensorFlow 2.21.0 (``tensorflow-cpu``) and PyTorch 2.13.0+cpu; the versions are stored
in the file's ``meta``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "zero_size.json"

V, S = "VALID", "SAME"


def case(api, op, arrays, **kwargs):
    """``arrays``: argument name -> shape; ``kwargs``: the other arguments, JSON-ready."""
    shapes = "-".join("x".join(map(str, s)) for s in arrays.values())
    extra = "-".join(
        f"{k}{v}" if not isinstance(v, (list, tuple)) else f"{k}{json.dumps(v)}"
        for k, v in kwargs.items()
    )
    cid = f"{api}-{op}-{shapes}" + (f"-{extra}" if extra else "")
    for ch in " []\"',":
        cid = cid.replace(ch, "")
    return {"id": cid, "api": api, "op": op, "arrays": arrays, "kwargs": kwargs}


def tf_cases():
    c = []
    f = "conv2d"
    # forward convolution
    c += [
        case("tf", f, {"input": [0, 4, 4, 2], "filters": [3, 3, 2, 3]}, padding=V),
        case("tf", f, {"input": [0, 5, 4, 2], "filters": [3, 3, 2, 3]}, strides=2, padding=S),
        case("tf", f, {"input": [1, 4, 4, 0], "filters": [3, 3, 0, 3]}, padding=V),
        case("tf", f, {"input": [1, 4, 4, 2], "filters": [3, 3, 2, 0]}, padding=V),
        case("tf", f, {"input": [1, 4, 4, 2], "filters": [3, 3, 1, 0]}, padding=V),
        case("tf", f, {"input": [1, 0, 4, 2], "filters": [3, 3, 2, 3]}, padding=V),
        case("tf", f, {"input": [1, 0, 4, 2], "filters": [3, 3, 2, 3]}, padding=S),
        case("tf", f, {"input": [1, 0, 2, 1], "filters": [1, 1, 1, 1]}, padding=[[1, 1], [1, 1]]),
        case(
            "tf",
            f,
            {"input": [1, 0, 2, 1], "filters": [1, 1, 1, 1]},
            padding=[[0, 0], [1, 1], [1, 1], [0, 0]],
        ),
        case("tf", f, {"input": [1, 0, 4, 1], "filters": [3, 3, 1, 2]}, padding=[[1, 1], [0, 0]]),
        case("tf", f, {"input": [1, 0, 5, 1], "filters": [3, 1, 1, 1]}, strides=2, padding=V),
        case("tf", f, {"input": [1, 0, 5, 1], "filters": [4, 1, 1, 1]}, strides=2, padding=V),
        case("tf", f, {"input": [1, 2, 4, 1], "filters": [3, 3, 1, 1]}, padding=V),
        case("tf", f, {"input": [1, 1, 4, 1], "filters": [4, 1, 1, 1]}, strides=2, padding=V),
        case("tf", f, {"input": [1, 1, 4, 1], "filters": [5, 1, 1, 1]}, strides=2, padding=V),
        case("tf", f, {"input": [1, 4, 4, 2], "filters": [0, 3, 2, 3]}, padding=V),
        case(
            "tf",
            f,
            {"input": [1, 0, 3, 1], "filters": [2, 1, 1, 1]},
            padding=[[2, 2], [0, 0]],
            dilations=2,
        ),
        case(
            "tf",
            f,
            {"input": [1, 2, 0, 2], "filters": [1, 1, 2, 2]},
            padding=S,
            data_format="NCHW",
        ),
        case("tf", "conv1d", {"input": [0, 5, 2], "filters": [3, 2, 1]}, stride=2, padding=S),
        case("tf", "conv1d", {"input": [2, 0, 2], "filters": [3, 2, 1]}, padding=S),
        case("tf", "conv1d", {"input": [1, 5, 2], "filters": [3, 2, 0]}, padding=V),
        case("tf", "conv3d", {"input": [0, 3, 3, 3, 1], "filters": [2, 2, 2, 1, 2]}, padding=V),
        case("tf", "conv3d", {"input": [1, 3, 0, 3, 1], "filters": [2, 2, 2, 1, 2]}, padding=S),
        case("tf", "conv3d", {"input": [1, 3, 3, 3, 0], "filters": [2, 2, 2, 0, 2]}, padding=V),
        case("tf", "conv", {"input": [1, 0, 4, 2], "filters": [3, 3, 2, 3]}, padding=S),
    ]
    # transposed convolution
    t = "conv2d_transpose"
    c += [
        case(
            "tf",
            t,
            {"input": [0, 2, 2, 3], "filters": [3, 3, 2, 3]},
            output_shape=[0, 4, 4, 2],
            strides=2,
        ),
        case(
            "tf",
            t,
            {"input": [1, 2, 3, 0], "filters": [3, 3, 2, 0]},
            output_shape=[1, 4, 6, 2],
            strides=2,
        ),
        case(
            "tf",
            t,
            {"input": [1, 2, 3, 3], "filters": [3, 3, 0, 3]},
            output_shape=[1, 4, 6, 0],
            strides=2,
        ),
        case(
            "tf",
            t,
            {"input": [1, 0, 3, 3], "filters": [3, 3, 2, 3]},
            output_shape=[1, 0, 6, 2],
            strides=2,
        ),
        case(
            "tf",
            t,
            {"input": [1, 0, 3, 3], "filters": [3, 3, 2, 3]},
            output_shape=[1, 1, 6, 2],
            strides=2,
        ),
        case("tf", t, {"input": [1, 0, 3, 3], "filters": [3, 3, 2, 3]}, strides=2),
        case(
            "tf",
            t,
            {"input": [1, 2, 3, 3], "filters": [3, 3, 2, 3]},
            output_shape=[1, 0, 6, 2],
            strides=2,
        ),
        case(
            "tf",
            t,
            {"input": [1, 2, 3, 3], "filters": [0, 3, 2, 3]},
            output_shape=[1, 4, 6, 2],
            strides=2,
        ),
        case(
            "tf",
            t,
            {"input": [1, 2, 2, 1], "filters": [1, 1, 1, 1]},
            output_shape=[1, 0, 2, 1],
            padding=[[1, 1], [0, 0]],
        ),
        case("tf", t, {"input": [1, 2, 2, 1], "filters": [1, 1, 1, 1]}, padding=[[1, 1], [0, 0]]),
    ]
    for n in range(5):
        c.append(
            case(
                "tf",
                t,
                {"input": [1, 0, 2, 1], "filters": [3, 3, 1, 1]},
                output_shape=[1, n, 5, 1],
                strides=2,
                padding=V,
            )
        )
    c += [
        case(
            "tf",
            "conv1d_transpose",
            {"input": [1, 0, 2], "filters": [3, 1, 2]},
            output_shape=[1, 0, 1],
            strides=2,
        ),
        case(
            "tf",
            "conv1d_transpose",
            {"input": [0, 3, 2], "filters": [3, 1, 2]},
            output_shape=[0, 6, 1],
            strides=2,
        ),
        case(
            "tf",
            "conv3d_transpose",
            {"input": [0, 2, 2, 2, 2], "filters": [2, 2, 2, 1, 2]},
            output_shape=[0, 4, 4, 4, 1],
            strides=2,
        ),
        case(
            "tf",
            "conv3d_transpose",
            {"input": [1, 2, 0, 2, 2], "filters": [2, 2, 2, 1, 2]},
            output_shape=[1, 4, 0, 4, 1],
            strides=2,
        ),
        case(
            "tf",
            "conv3d_transpose",
            {"input": [1, 2, 2, 2, 0], "filters": [2, 2, 2, 1, 0]},
            output_shape=[1, 4, 4, 4, 1],
            strides=2,
        ),
        case(
            "tf",
            "conv_transpose",
            {"input": [1, 0, 3, 3], "filters": [3, 3, 2, 3]},
            output_shape=[1, 0, 6, 2],
            strides=2,
        ),
    ]
    # input gradient
    b = "conv2d_backprop_input"
    c += [
        case(
            "tf",
            b,
            {"filters": [2, 3, 1, 1], "out_backprop": [1, 2, 0, 1]},
            input_sizes=[1, 3, 3, 1],
            padding=V,
        ),
        case(
            "tf",
            b,
            {"filters": [2, 2, 1, 1], "out_backprop": [0, 1, 2, 1]},
            input_sizes=[0, 2, 3, 1],
            padding=V,
        ),
        case(
            "tf",
            b,
            {"filters": [2, 3, 1, 1], "out_backprop": [1, 2, 0, 1]},
            input_sizes=[1, 3, 2, 1],
            padding=V,
        ),
        case(
            "tf",
            b,
            {"filters": [2, 2, 1, 0], "out_backprop": [1, 2, 2, 0]},
            input_sizes=[1, 3, 3, 1],
            padding=V,
        ),
        case(
            "tf",
            b,
            {"filters": [2, 2, 0, 1], "out_backprop": [1, 2, 2, 1]},
            input_sizes=[1, 3, 3, 0],
            padding=V,
        ),
        case(
            "tf",
            b,
            {"filters": [2, 2, 1, 1], "out_backprop": [1, 2, 0, 1]},
            input_sizes=[1, 3, 2, 1],
            padding=V,
            dilations=[1, 2],
        ),
        case(
            "tf",
            b,
            {"filters": [1, 1, 1, 1], "out_backprop": [1, 2, 4, 1]},
            input_sizes=[1, 0, 2, 1],
            padding=[[1, 1], [1, 1]],
        ),
        case(
            "tf",
            b,
            {"filters": [0, 3, 1, 1], "out_backprop": [1, 5, 2, 1]},
            input_sizes=[1, 4, 4, 1],
            padding=V,
        ),
        case(
            "tf",
            b,
            {"filters": [0, 3, 1, 1], "out_backprop": [1, 2, 2, 1]},
            input_sizes=[1, 4, 4, 1],
            padding=V,
        ),
        case(
            "tf",
            b,
            {"filters": [3, 3, 2, 3], "out_backprop": [1, 0, 3, 3]},
            input_sizes=[1, 0, 5, 2],
            strides=2,
            padding=S,
        ),
        case(
            "tf",
            "conv1d_backprop_input",
            {"filters": [3, 1, 1], "out_backprop": [1, 0, 1]},
            input_sizes=[1, 2, 1],
            padding=V,
        ),
        case(
            "tf",
            "conv1d_backprop_input",
            {"filters": [3, 1, 1], "out_backprop": [0, 3, 1]},
            input_sizes=[0, 5, 1],
            padding=V,
        ),
        case(
            "tf",
            "conv3d_backprop_input",
            {"filters": [2, 2, 2, 1, 2], "out_backprop": [1, 0, 2, 2, 2]},
            input_sizes=[1, 1, 3, 3, 1],
            padding=V,
        ),
        case(
            "tf",
            "conv3d_backprop_input",
            {"filters": [2, 2, 2, 1, 0], "out_backprop": [1, 2, 2, 2, 0]},
            input_sizes=[1, 3, 3, 3, 1],
            padding=V,
        ),
        case(
            "tf",
            "conv_backprop_input",
            {"filters": [2, 3, 1, 1], "out_backprop": [1, 2, 0, 1]},
            input_sizes=[1, 3, 2, 1],
            padding=V,
        ),
    ]
    # filter gradient
    g = "conv2d_backprop_filter"
    c += [
        case(
            "tf",
            g,
            {"input": [1, 2, 3, 1], "out_backprop": [1, 1, 2, 0]},
            filter_sizes=[2, 2, 1, 0],
            padding=V,
        ),
        case(
            "tf",
            g,
            {"input": [1, 2, 3, 1], "out_backprop": [1, 1, 1, 0]},
            filter_sizes=[2, 2, 1, 0],
            padding=V,
            dilations=[1, 2],
        ),
        case(
            "tf",
            g,
            {"input": [0, 4, 4, 2], "out_backprop": [0, 2, 2, 3]},
            filter_sizes=[3, 3, 2, 3],
            padding=V,
        ),
        case(
            "tf",
            g,
            {"input": [1, 0, 4, 2], "out_backprop": [1, 0, 4, 3]},
            filter_sizes=[3, 3, 2, 3],
            padding=S,
        ),
        case(
            "tf",
            g,
            {"input": [1, 4, 4, 0], "out_backprop": [1, 2, 2, 3]},
            filter_sizes=[3, 3, 0, 3],
            padding=V,
        ),
        case(
            "tf",
            g,
            {"input": [1, 4, 4, 2], "out_backprop": [1, 2, 2, 3]},
            filter_sizes=[0, 3, 2, 3],
            padding=V,
        ),
        case(
            "tf",
            g,
            {"input": [1, 4, 4, 2], "out_backprop": [1, 5, 2, 3]},
            filter_sizes=[0, 3, 2, 3],
            padding=V,
        ),
        case(
            "tf",
            g,
            {"input": [1, 4, 4, 2], "out_backprop": [1, 2, 2, 3]},
            filter_sizes=[0, 3, 2, 3],
            strides=2,
            padding=S,
        ),
        case(
            "tf",
            g,
            {"input": [1, 2, 4, 1], "out_backprop": [1, 0, 2, 1]},
            filter_sizes=[3, 3, 1, 1],
            padding=V,
        ),
        case(
            "tf",
            g,
            {"input": [1, 0, 2, 1], "out_backprop": [1, 2, 4, 1]},
            filter_sizes=[1, 1, 1, 1],
            padding=[[1, 1], [1, 1]],
        ),
        case(
            "tf",
            g,
            {"input": [1, 3, 3, 2], "out_backprop": [1, 3, 3, 0]},
            filter_sizes=[3, 3, 1, 0],
            padding=S,
        ),
        case(
            "tf",
            "conv1d_backprop_filter",
            {"input": [1, 2, 1], "out_backprop": [1, 0, 1]},
            filter_sizes=[3, 1, 1],
            padding=V,
        ),
        case(
            "tf",
            "conv1d_backprop_filter",
            {"input": [0, 5, 2], "out_backprop": [0, 3, 1]},
            filter_sizes=[3, 2, 1],
            padding=V,
        ),
        case(
            "tf",
            "conv3d_backprop_filter",
            {"input": [1, 3, 3, 3, 1], "out_backprop": [1, 2, 2, 2, 0]},
            filter_sizes=[2, 2, 2, 1, 0],
            padding=V,
        ),
        case(
            "tf",
            "conv3d_backprop_filter",
            {"input": [0, 3, 3, 3, 1], "out_backprop": [0, 2, 2, 2, 2]},
            filter_sizes=[2, 2, 2, 1, 2],
            padding=V,
        ),
        case(
            "tf",
            "conv_backprop_filter",
            {"input": [1, 2, 3, 1], "out_backprop": [1, 1, 2, 0]},
            filter_sizes=[2, 2, 1, 0],
            padding=V,
        ),
    ]
    return c


def torch_cases():
    c = []
    for op, r in (("conv1d", 1), ("conv2d", 2), ("conv3d", 3)):
        sp, k = [4] * r, [3] * r
        c += [
            case("torch", op, {"input": [0, 2, *sp], "weight": [3, 2, *k]}),
            case("torch", op, {"input": [1, 0, *sp], "weight": [3, 0, *k]}),
            case("torch", op, {"input": [1, 0, *sp], "weight": [3, 0, *k], "bias": [3]}),
            case("torch", op, {"input": [0, *sp], "weight": [3, 0, *k]}),
            case("torch", op, {"input": [1, 2, *sp], "weight": [0, 2, *k]}),
            case("torch", op, {"input": [1, 2, 0, *sp[1:]], "weight": [3, 2, *k]}),
            case("torch", op, {"input": [1, 2, 0, *sp[1:]], "weight": [3, 2, *[1] * r]}, padding=1),
            case("torch", op, {"input": [1, 2, *sp], "weight": [3, 2, 0, *k[1:]]}),
        ]
    c += [
        case("torch", "conv2d", {"input": [1, 0, 4, 4], "weight": [2, 0, 3, 3]}, groups=2),
        case("torch", "conv2d", {"input": [1, 2, 4, 4], "weight": [0, 1, 3, 3]}, groups=2),
        case(
            "torch",
            "conv2d",
            {"input": [0, 2, 4, 4], "weight": [4, 1, 3, 3]},
            groups=2,
            padding="same",
        ),
        case("torch", "conv2d", {"input": [1, 2, 0, 4], "weight": [3, 2, 3, 3]}, padding="same"),
        case("torch", "conv2d", {"input": [1, 2, 2, 4], "weight": [3, 2, 3, 3]}),
    ]
    for op, r in (("conv_transpose1d", 1), ("conv_transpose2d", 2), ("conv_transpose3d", 3)):
        sp, k = [2] * r, [3] * r
        c += [
            case("torch", op, {"input": [0, 2, *sp], "weight": [2, 3, *k]}, stride=2),
            case("torch", op, {"input": [0, 2, *sp], "weight": [2, 3, *k], "bias": [3]}, stride=2),
            case("torch", op, {"input": [1, 0, *sp], "weight": [0, 3, *k]}, stride=2),
            case("torch", op, {"input": [1, 2, *sp], "weight": [2, 0, *k]}, stride=2),
            case("torch", op, {"input": [1, 2, 0, *sp[1:]], "weight": [2, 3, *k]}, stride=2),
            case("torch", op, {"input": [1, 2, *sp], "weight": [2, 3, 0, *k[1:]]}, stride=2),
        ]
    c += [
        case(
            "torch",
            "conv_transpose2d",
            {"input": [0, 4, 2, 2], "weight": [4, 1, 3, 3]},
            groups=2,
            output_padding=1,
            stride=2,
        ),
        case(
            "torch",
            "conv_transpose2d",
            {"input": [1, 2, 1, 3], "weight": [2, 3, 1, 3]},
            padding=[1, 0],
        ),
    ]
    for op, r in (("conv1d_input", 1), ("conv2d_input", 2), ("conv3d_input", 3)):
        n, k, m = [5] * r, [3] * r, [2] * r
        c += [
            case(
                "torch",
                op,
                {"weight": [3, 2, *k], "grad_output": [0, 3, *m]},
                input_size=[0, 2, *n],
                stride=2,
            ),
            case(
                "torch",
                op,
                {"weight": [3, 0, *k], "grad_output": [1, 3, *m]},
                input_size=[1, 0, *n],
                stride=2,
            ),
            case(
                "torch",
                op,
                {"weight": [0, 2, *k], "grad_output": [1, 0, *m]},
                input_size=[1, 2, *n],
                stride=2,
            ),
            case(
                "torch",
                op,
                {"weight": [3, 2, *k], "grad_output": [1, 3, 0, *m[1:]]},
                input_size=[1, 2, 2, *n[1:]],
                stride=2,
            ),
            case(
                "torch",
                op,
                {"weight": [3, 2, *[1] * r], "grad_output": [1, 3, *m]},
                input_size=[1, 2, 0, *[1] * (r - 1)],
                padding=1,
            ),
        ]
    c += [
        case(
            "torch",
            "conv2d_input",
            {"weight": [4, 0, 3, 3], "grad_output": [1, 4, 2, 2]},
            input_size=[1, 0, 5, 5],
            stride=2,
            groups=2,
        ),
        case(
            "torch",
            "conv2d_input",
            {"weight": [1, 1, 2, 3], "grad_output": [1, 1, 2, 0]},
            input_size=[1, 1, 3, 3],
        ),
    ]
    for op, r in (("conv1d_weight", 1), ("conv2d_weight", 2), ("conv3d_weight", 3)):
        n, k, m = [5] * r, [3] * r, [2] * r
        c += [
            case(
                "torch",
                op,
                {"input": [0, 2, *n], "grad_output": [0, 3, *m]},
                weight_size=[3, 2, *k],
                stride=2,
            ),
            case(
                "torch",
                op,
                {"input": [1, 0, *n], "grad_output": [1, 3, *m]},
                weight_size=[3, 0, *k],
                stride=2,
            ),
            case(
                "torch",
                op,
                {"input": [1, 2, *n], "grad_output": [1, 0, *m]},
                weight_size=[0, 2, *k],
                stride=2,
            ),
            case(
                "torch",
                op,
                {"input": [1, 2, 0, *n[1:]], "grad_output": [1, 3, 2, *m[1:]]},
                weight_size=[3, 2, 1, *k[1:]],
                stride=[1] + [2] * (r - 1),
                padding=[1] + [0] * (r - 1),
            ),
            case(
                "torch",
                op,
                {"input": [1, 2, *n], "grad_output": [1, 3, *m]},
                weight_size=[3, 2, 0, *k[1:]],
                stride=2,
            ),
        ]
    c += [
        case(
            "torch",
            "conv2d_weight",
            {"input": [1, 0, 5, 5], "grad_output": [1, 4, 2, 2]},
            weight_size=[4, 0, 3, 3],
            stride=2,
            groups=2,
        ),
    ]
    return c


def data(shape, seed):
    """Integer-valued float64 data in -3..3 (exact in every float dtype jconv tests)."""
    return np.random.default_rng(seed).integers(-3, 4, shape).astype(np.float64)


def arrays_of(c, i):
    return {name: data(shape, [i, j]) for j, (name, shape) in enumerate(c["arrays"].items())}


# ---------------------------------------------------------------------------------------------
# TensorFlow


def _tf_full(v, rank, cf, outer=1):
    v = [v] * rank if isinstance(v, int) else list(v)
    return [outer, outer, *v] if cf else [outer, *v, outer]


def _tf_padding(p, rank, cf):
    if isinstance(p, str) or len(p) == rank + 2:
        return p
    return [[0, 0], [0, 0], *p] if cf else [[0, 0], *p, [0, 0]]


def tf_call(tf, c, a, dtype):
    """The TensorFlow op for case ``c`` on arrays ``a`` (float64 NumPy) in ``dtype``."""
    op, kw = c["op"], dict(c["kwargs"])
    t = {k: tf.constant(v, dtype) for k, v in a.items()}
    r = len(next(iter(c["arrays"].values()))) - 2
    if "_backprop_" in op and r == 1:  # no TF op: the 2-D one with a unit height
        c2 = dict(c)
        c2["op"] = op.replace("conv1d", "conv2d")
        c2["arrays"] = {
            k: [1, *s] if k == "filters" else [s[0], 1, *s[1:]] for k, s in c["arrays"].items()
        }
        kw2 = {}
        for k, v in kw.items():
            if k == "input_sizes":
                v = [v[0], 1, *v[1:]]
            elif k == "filter_sizes":
                v = [1, *v]
            elif k == "padding" and not isinstance(v, str):
                v = [[0, 0], *v]
            elif k in ("strides", "dilations"):
                v = [1, *([v] if isinstance(v, int) else v)]
            kw2[k] = v
        c2["kwargs"] = kw2
        a2 = {k: v[:, None] if v.ndim == 3 and k != "filters" else v[None] for k, v in a.items()}
        return tf.squeeze(tf_call(tf, c2, a2, dtype), 1 if op.endswith("input") else 0)
    df = kw.get("data_format") or {1: "NWC", 2: "NHWC", 3: "NDHWC"}[r]
    cf = df.startswith("NC")
    pad = _tf_padding(kw.get("padding", S if "transpose" in op else V), r, cf)
    strides = kw.get("strides", kw.get("stride", 1))
    dil = kw.get("dilations", 1)
    if op.endswith("_transpose"):
        fn = {
            "conv_transpose": tf.nn.conv_transpose,
            "conv1d_transpose": tf.nn.conv1d_transpose,
            "conv2d_transpose": tf.nn.conv2d_transpose,
            "conv3d_transpose": tf.nn.conv3d_transpose,
        }[op]
        out = kw.get("output_shape")
        if out is None:  # Keras' default, which jconv uses: SAME m * s; explicit: the smallest
            m = c["arrays"]["input"][1:-1]
            s = [strides] * r if isinstance(strides, int) else strides
            k = c["arrays"]["filters"][:r]
            if pad == S:
                n = [mi * si for mi, si in zip(m, s)]
            else:
                p = pad[1:-1]
                n = [
                    max((mi - 1) * si + ki - lo - hi, 0) for mi, si, ki, (lo, hi) in zip(m, s, k, p)
                ]
            out = [a["input"].shape[0], *n, c["arrays"]["filters"][-2]]
        return fn(t["input"], t["filters"], out, strides, pad, df, dil)
    if op.endswith("_backprop_input"):
        args = dict(
            input_sizes=kw["input_sizes"], filter=t["filters"], out_backprop=t["out_backprop"]
        )
    elif op.endswith("_backprop_filter"):
        args = dict(
            input=t["input"], filter_sizes=kw["filter_sizes"], out_backprop=t["out_backprop"]
        )
    else:
        fn = {
            "conv": tf.nn.convolution,
            "conv1d": tf.nn.conv1d,
            "conv2d": tf.nn.conv2d,
            "conv3d": tf.nn.conv3d,
        }[op]
        if op == "conv3d":
            strides, dil = _tf_full(strides, 3, cf), _tf_full(dil, 3, cf)
        return fn(t["input"], t["filters"], strides, pad, data_format=df, dilations=dil)
    args.update(strides=_tf_full(strides, r, cf), dilations=_tf_full(dil, r, cf), data_format=df)
    if r == 3:
        name = "Conv3DBackpropInputV2" if op.endswith("input") else "Conv3DBackpropFilterV2"
        return getattr(tf.raw_ops, name)(padding=pad, **args)
    name = "Conv2DBackpropInput" if op.endswith("input") else "Conv2DBackpropFilter"
    if isinstance(pad, str):
        return getattr(tf.raw_ops, name)(padding=pad, **args)
    flat = [v for pair in pad for v in pair]
    return getattr(tf.raw_ops, name)(padding="EXPLICIT", explicit_paddings=flat, **args)


def tf_worker(cases, dtype_name):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    for i, c in cases:
        try:
            y = np.asarray(tf_call(tf, c, arrays_of(c, i), getattr(tf, dtype_name)))
            res = {"shape": list(y.shape), "dtype": str(y.dtype)}
            if y.size:
                res["values"] = y.astype(np.float64).ravel().tolist()
        except (tf.errors.OpError, ValueError, TypeError) as e:
            res = {"error": f"{type(e).__name__}: {_first_line(e)}"}
        print(json.dumps([i, res]), flush=True)
    print(json.dumps(["meta", {"tensorflow": tf.__version__}]), flush=True)


def _first_line(e):
    text = str(e).split("}}")[-1].strip()
    return text.splitlines()[0][:300] if text else repr(e)


# ---------------------------------------------------------------------------------------------
# PyTorch


def torch_call(torch, c, a):
    import torch.nn.functional as F
    import torch.nn.grad as G

    op, kw = c["op"], dict(c["kwargs"])
    t = {k: torch.tensor(v) for k, v in a.items()}
    if op.endswith("_input"):
        return getattr(G, op)(kw.pop("input_size"), t["weight"], t["grad_output"], **kw)
    if op.endswith("_weight"):
        return getattr(G, op)(t["input"], kw.pop("weight_size"), t["grad_output"], **kw)
    return getattr(F, op)(t["input"], t["weight"], t.get("bias"), **kw)


def torch_worker(cases):
    import torch

    torch.set_num_threads(1)
    for i, c in cases:
        try:
            y = torch_call(torch, c, arrays_of(c, i)).numpy()
            res = {"shape": list(y.shape), "dtype": str(y.dtype)}
            if y.size:
                res["values"] = y.ravel().tolist()
        except (RuntimeError, ValueError, TypeError) as e:
            res = {"error": f"{type(e).__name__}: {_first_line(e)}"}
        print(json.dumps([i, res]), flush=True)
    print(json.dumps(["meta", {"torch": torch.__version__}]), flush=True)


# ---------------------------------------------------------------------------------------------


def run_all(kind, cases, env=None):
    """Answers of one worker kind for ``cases`` (index -> answer), restarting after a death."""
    todo = list(cases)
    answers, meta = {}, {}
    while todo:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", kind],
            input=json.dumps(todo),
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
        )
        for line in proc.stdout.splitlines():
            i, res = json.loads(line)
            if i == "meta":
                meta.update(res)
            else:
                answers[i] = res
        todo = [(i, c) for i, c in todo if i not in answers]
        if todo and proc.returncode != 0:
            i = todo.pop(0)[0]
            answers[i] = {"error": f"abort: {proc.stderr.strip().splitlines()[-1:]}"}
        elif todo:
            raise RuntimeError(f"{kind} worker left {len(todo)} cases: {proc.stderr[-2000:]}")
    return answers, meta


def main():
    if sys.argv[1:2] == ["--worker"]:
        cases = [tuple(x) for x in json.loads(sys.stdin.read())]
        kind = sys.argv[2]
        if kind == "torch":
            torch_worker(cases)
        else:
            tf_worker(cases, kind)
        return
    cases = tf_cases() + torch_cases()
    ids = [c["id"] for c in cases]
    assert len(set(ids)) == len(ids), "case ids must be unique"
    tf_idx = [(i, c) for i, c in enumerate(cases) if c["api"] == "tf"]
    torch_idx = [(i, c) for i, c in enumerate(cases) if c["api"] == "torch"]
    eigen64, meta = run_all("float64", tf_idx)
    eigen32, _ = run_all("float32", tf_idx, {"TF_ENABLE_ONEDNN_OPTS": "0"})
    onednn32, _ = run_all("float32", tf_idx, {"TF_ENABLE_ONEDNN_OPTS": "1"})
    torch_ans, tmeta = run_all("torch", torch_idx)
    meta.update(tmeta, numpy=np.__version__, script="tests/data/make_zero_size.py")
    out = []
    for i, c in enumerate(cases):
        c = dict(c)
        if c["api"] == "torch":
            c["expect"], c["source"] = torch_ans[i], "torch float64"
        else:
            e64, e32, o32 = eigen64[i], eigen32[i], onednn32[i]
            strip = lambda r: {k: v for k, v in r.items() if k != "dtype"}  # noqa: E731
            if "error" in e64 and "error" in e32:
                same = e64["error"] == e32["error"]
            else:
                same = strip(e64) == strip(e32)
            unwritten = any(v != 0 for r in (e64, e32) for v in r.get("values", ()))
            if unwritten and e64.get("shape", 0) == e32.get("shape", 1):
                # every case has an empty operand, so every value is an empty sum: 0; a value
                # that is not is memory TF left unwritten
                zeros = [0.0] * int(np.prod(e64["shape"]))
                c["expect"] = {"shape": e64["shape"], "values": zeros}
                c["source"] = "zeros: TF's kernels return uninitialised memory here"
                c["tf_note"] = "TF's kernels leave (some of) this empty sum unwritten"
            elif not same:
                raise RuntimeError(f"{c['id']}: TF's float64 {e64} != float32 (Eigen) {e32}")
            elif "error" in e64 and "do not yet support dilation" in e64["error"]:
                c["expect"], c["source"] = o32, "tf float32 oneDNN (Eigen has no dilated kernel)"
            else:
                c["expect"], c["source"] = e64, "tf float64 and float32 (Eigen kernels)"
            c["expect"].pop("dtype", None)
            if strip(o32) != strip(c["expect"]):
                c["tf_onednn"] = o32
        c["expect"].pop("dtype", None)  # the input's dtype in every case that gives a result
        out.append(c)
    OUT.write_text(json.dumps({"meta": meta, "cases": out}, indent=None, separators=(",", ":")))
    print(f"wrote {OUT} ({len(out)} cases)")


if __name__ == "__main__":
    main()
