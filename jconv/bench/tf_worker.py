"""The TensorFlow worker: ``tf.nn.conv_transpose`` / ``tf.nn.convolution`` (depthwise:
``tf.nn.depthwise_conv2d``) and ``tf.GradientTape`` in a ``tf.function``.

Run by the parent as ``python -m jconv.bench.tf_worker --spec JSON``. ``jit_compile=False``
(TensorFlow's default), intra-op threads = cores, oneDNN's kernels on
(``TF_ENABLE_ONEDNN_OPTS=1`` unless set: TensorFlow turns them on by itself only on CPUs with
AVX-512 VNNI/BF16 or AMX, and the peer should be the same kernel on every host). TensorFlow is
imported in :func:`work`, so importing this module is cheap and needs no TensorFlow.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from jconv.bench.checks import save_check
from jconv.bench.processes import Result, Spec, serve
from jconv.bench.timing import cpu_count, measure
from jconv.bench.workloads import OPS, Workload, cotangent, inputs


def work(spec: Spec) -> Result:
    """Time the forward and the step on every workload; write the check cases."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(cpu_count())
    tf.get_logger().setLevel("ERROR")  # one tf.function per workload is retracing by design
    out: Result = {
        "framework": "tf",
        "measurements": [],
        "versions": {
            "tensorflow": tf.__version__,
            "TF_ENABLE_ONEDNN_OPTS": os.environ["TF_ENABLE_ONEDNN_OPTS"],
        },
        "threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        },
    }

    # TensorFlow's stubs type output_shape as a tensor and padding as a literal; it takes tuples
    # and strings.
    conv_transpose: Callable[..., Any] = tf.nn.conv_transpose

    convolution: Callable[..., Any] = tf.nn.convolution
    depthwise: Callable[..., Any] = tf.nn.depthwise_conv2d

    def fns(w: Workload) -> tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]:
        r = cotangent(w)
        rt = None if r is None else tf.constant(r)

        def fwd(x: Any, f: Any) -> Any:
            if not w.encoder:
                return conv_transpose(x, f, w.output_shape, strides=w.strides, padding=w.padding)
            if w.groups > 1 and w.groups == w.in_channels and w.rank == 2:
                # TensorFlow's CPU convolution has no groups; depthwise has its own op, whose
                # filter is (kh, kw, C_in, multiplier)
                kernel = tf.reshape(f, (*w.kernel, w.in_channels, w.out_channels // w.in_channels))
                return depthwise(x, kernel, strides=(1, *w.strides, 1), padding=w.padding)
            return convolution(x, f, strides=w.strides, padding=w.padding)

        def step(x: Any, f: Any) -> tuple[Any, ...]:
            with tf.GradientTape() as tape:
                tape.watch([x, f])
                y = fwd(x, f)
                loss = tf.reduce_sum(y * y) if rt is None else tf.reduce_sum(y * rt)
            return (loss, *tape.gradient(loss, [x, f]))

        return tf.function(fwd, jit_compile=False), tf.function(step, jit_compile=False)

    def sync(result: Any) -> None:
        for t in tf.nest.flatten(result):
            t.numpy()

    repeats = spec["repeats"]
    for wd in spec["workloads"]:
        w = Workload.from_dict(wd)
        x, f = (tf.constant(a) for a in inputs(w))
        for op, fn in zip(OPS, fns(w)):
            out["measurements"].append(measure("tf", "tf", w, op, repeats, fn, (x, f), sync))
    if spec.get("check_dir"):
        for wd in spec["check_workloads"]:
            w = Workload.from_dict(wd)
            x, f = (tf.constant(a) for a in inputs(w, seed=1))
            fwd, step = fns(w)
            loss, dx, dw = step(x, f)
            save_check(spec["check_dir"], "tf", w, fwd(x, f), loss, dx, dw)
    return out


if __name__ == "__main__":
    sys.exit(serve(work))
