"""oneDNN's direct convolution kernels, reached through XLA:CPU's ``__onednn$convolution`` call.

jaxlib's XLA:CPU links oneDNN and runs its ``convolution_forward`` primitive for a custom call
with this target (the op XLA's own, off-by-default oneDNN rewriter emits). oneDNN's JIT kernels
convolve without gathering patches, where XLA:CPU lowers a 3-D convolution to a generic loop and
jconv otherwise gathers patches for one matmul, and XLA:CPU's forward conv is Eigen's (a
depthwise conv at a few per cent of peak). jconv emits the call for the forward conv
(``method="onednn"``, :mod:`jconv.derivations.forward`), the filter gradient written as a conv
(:func:`jconv.derivations.filter_grad.filter_grad_onednn`) and the stride-1 correlations of its
phase decomposition (:func:`jconv.derivations.phase.transpose_phase`); timings in docs/auto.md.

The call's configuration is XLA's internal ``OneDnnConvolutionConfig`` (dims 0-based, strides
and pads as they are, dilations as they are), whose encoding has changed between XLA versions,
so it is only emitted where it was checked: :data:`VERIFIED_JAXLIB` on Linux x86-64, float32,
and not switched off with ``JCONV_ONEDNN=0``. On first use a small convolution is compiled and
compared with :func:`jconv._core.conv_patches`; any error or difference switches it off for the
process. Off the CPU backend the same primitive lowers to :func:`jconv._core.conv_patches`, and
its derivatives are ``conv_patches``' (forward and reverse mode), so it is a drop-in for that
function's values.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import ad, batching
from jax.interpreters import mlir as _mlir

from jconv import _core

VERIFIED_JAXLIB = ("0.10.2",)
"""jaxlib versions whose ``OneDnnConvolutionConfig`` encoding jconv emits and tests."""

_conv_p = Primitive("jconv_onednn_conv")


def conv(x, w, padding, strides=None, dilations=None, groups: int = 1):
    """Correlation of ``x`` ``(N, *spatial, C)`` with ``w`` ``(*u, C / groups, O)``.

    ``y[b, i, o] = sum_(t, c) x_pad[b, i * s + t * d, g(o) * C / groups + c] * w[t, c, o]``, out
    size per dim ``(n + lo + hi - (u - 1) * d - 1) // s + 1``, as
    :func:`jconv._core.conv_patches` with the same arguments (``strides`` and ``dilations``
    default to 1). oneDNN's kernel on the CPU backend, ``conv_patches`` elsewhere; callers check
    :func:`usable` first.
    """
    rank = x.ndim - 2
    ss = (1,) * rank if strides is None else tuple(strides)
    # A one-tap dim's dilation changes nothing: written as 1.
    ds = (1,) * rank if dilations is None else dilations
    ds = tuple(1 if u == 1 else d for u, d in zip(w.shape[:rank], ds))
    padding = tuple(tuple(p) for p in padding)
    strided = any(s != 1 for s in ss) or any(d != 1 for d in ds)
    if strided and any(lo or hi for lo, hi in padding):
        # oneDNN's kernels hang (a wait that never ends) on some padded grouped convs with
        # strides or dilations on this jaxlib: the padding is written into the input instead.
        # Stride-1 convs, grouped or not, take it as it is (random padded configs in a
        # subprocess, tests/test_onednn.py), which saves a padded copy of the input: a depthwise
        # 3x3 on 8 x 64² x 128 1.45 instead of 5.0 ms, its training step 18.4 / 30.3. Ungrouped
        # strided convs ran padded in oneDNN too (3,000 random configs), their forward faster
        # but their training steps slower (3x3 stride 2, 8 x 64² x 64: 27.1 against 24.6 ms), so
        # they keep the written padding.
        x = _core.zero_pad(x, padding)
        padding = ((0, 0),) * rank
    if x.shape[-1] == 1:
        # and read uninitialised memory for some strided convs of one input channel: a zero
        # channel (and a zero kernel row) is added, which adds nothing to any sum.
        x = jnp.concatenate([x, jnp.zeros_like(x)], axis=-1)
        w = jnp.concatenate([w, jnp.zeros_like(w)], axis=-2)
    x, w = _core.same_varying_axes(x, w)
    return _conv_p.bind(x, w, padding=padding, strides=ss, dilations=ds, groups=groups)


def usable(
    x, w, padding, groups: int = 1, preferred_element_type=None, strides=None, dilations=None
) -> bool:
    """Whether :func:`conv` may stand in for ``conv_patches`` here (see the module docstring)."""
    rank = x.ndim - 2
    ds = (1,) * rank if dilations is None else dilations
    return (
        1 <= rank <= 3
        and all(lo >= 0 and hi >= 0 for lo, hi in padding)
        and all(
            n + lo + hi >= (u - 1) * d + 1
            for n, (lo, hi), u, d in zip(x.shape[1:-1], padding, w.shape, ds)
        )
        and min(x.shape) > 0
        and min(w.shape) > 0
        and eligible(x, w, groups, preferred_element_type)
    )


def eligible(x, w, groups: int = 1, preferred_element_type=None) -> bool:
    """float32 in and out and :func:`enabled`: the conditions on everything but shapes, for
    callers that choose a formulation before its convolutions' shapes are known. (Grouped and
    depthwise convs run too: oneDNN takes the groups from the configuration.)"""
    del groups  # every group count is checked against XLA's conv in tests/test_onednn.py
    # not `in (None, float32)`: np.dtype("float64") == None is True (np.dtype(None) is float64)
    out = preferred_element_type is None or jnp.dtype(preferred_element_type) == jnp.float32
    float32 = x.dtype == w.dtype == jnp.float32 and out
    return float32 and enabled()


def supported_here() -> bool:
    """Linux x86-64 with a verified jaxlib, and not switched off by ``JCONV_ONEDNN=0``."""
    if os.environ.get("JCONV_ONEDNN", "1") == "0":
        return False
    machine = platform.machine().lower()
    if not sys.platform.startswith("linux") or machine not in ("x86_64", "amd64"):
        return False
    import jaxlib

    return getattr(jaxlib, "__version__", None) in VERIFIED_JAXLIB


@functools.cache
def enabled() -> bool:
    """:func:`supported_here`, and a first small call compiled, run and checked (once)."""
    if not supported_here():
        return False
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (2, 7, 6, 6)).astype(np.float32)
    w = rng.integers(-3, 4, (2, 3, 3, 4)).astype(np.float32)
    # one plain call and one strided, dilated, grouped call
    cases = ((((1, 0), (0, 2)), (1, 1), (1, 1), 2), (((1, 0), (2, 1)), (2, 1), (1, 2), 2))
    try:  # eagerly, also when first asked inside a trace
        with jax.ensure_compile_time_eval():
            cpu = jax.local_devices(backend="cpu")[0]  # this process's own device
            x, w = jax.device_put(x, cpu), jax.device_put(w, cpu)
            for padding, strides, dilations, groups in cases:
                args = (padding, strides, dilations, groups)
                got = jax.jit(lambda a, b, args=args: conv(a, b, *args))(x, w)
                want = _core.conv_patches(x, w, padding, groups, None, None, strides, dilations)
                if not np.array_equal(np.asarray(got), np.asarray(want)):
                    return False
            return True
    except (jax.errors.JaxRuntimeError, RuntimeError, ValueError, TypeError, NotImplementedError):
        return False  # XLA refused the call or its configuration here: use the patches form


def _out_shape(x_shape, w_shape, padding, strides, dilations):
    rank = len(x_shape) - 2
    sizes = [
        (n + lo + hi - (u - 1) * d - 1) // s + 1
        for n, (lo, hi), u, s, d in zip(x_shape[1:-1], padding, w_shape[:rank], strides, dilations)
    ]
    return (x_shape[0], *sizes, w_shape[-1])


def _abstract_eval(x, w, *, padding, strides, dilations, groups):
    # x's aval with the output's shape: inside shard_map it keeps the operands' manual
    # (varying) axes, the same for both (conv calls jconv._core.same_varying_axes)
    return x.update(
        shape=_out_shape(x.shape, w.shape, padding, strides, dilations), weak_type=False
    )


def _patches(x, w, *, padding, strides, dilations, groups):
    return _core.conv_patches(x, w, padding, groups, strides=strides, dilations=dilations)


def _config(x_shape, w_shape, padding, strides, dilations, groups) -> str:
    """``xla.cpu.BackendConfig`` JSON: ``(N, *spatial, C)`` in and out, ``(*u, C, O)`` kernel."""
    rank = len(x_shape) - 2
    data = {"batch_dim": 0, "feature_dim": rank + 1, "spatial_dims": list(range(1, rank + 1))}
    kernel = {
        "input_feature_dim": rank,
        "output_feature_dim": rank + 1,
        "spatial_dims": list(range(rank)),
        "shape": list(w_shape),
    }
    window = {
        "size": list(w_shape[:rank]),
        "pad_left": [lo for lo, _ in padding],
        "pad_right": [hi for _, hi in padding],
        "strides": list(strides),
        "window_dilations": list(dilations),
    }
    config = {
        "dims": rank + 2,
        "input": {"dims": rank + 2, "data": data},
        "kernel": {"dims": rank + 2, "filter": kernel},
        "output": {"dims": rank + 2, "data": data},
        "window": window,
        "feature_groups": groups,
    }
    return json.dumps({"onednn_conv_config": config})


def _lower_cpu(ctx, x, w, *, padding, strides, dilations, groups):
    # The one private name jconv uses: JAX's lowering helper for a legacy (api_version 1) custom
    # call with a backend_config string, which XLA:CPU's oneDNN call needs; jax.ffi only builds
    # typed-FFI calls. Emitted only on the verified jaxlib versions (VERIFIED_JAXLIB).
    from jax._src.interpreters.mlir import custom_call

    x_aval, w_aval = ctx.avals_in
    if not supported_here():  # bound directly (jconv checks usable() first)
        patches = functools.partial(
            _patches, padding=padding, strides=strides, dilations=dilations, groups=groups
        )
        return _mlir.lower_fun(patches, False)(ctx, x, w)
    (out_aval,) = ctx.avals_out
    op = custom_call(
        "__onednn$convolution",
        result_types=[_mlir.aval_to_ir_type(ctx.module_context, out_aval)],
        operands=[x, w],
        backend_config=_config(x_aval.shape, w_aval.shape, padding, strides, dilations, groups),
        api_version=1,
    )
    return op.results


def _jvp(primals, tangents, **settings):
    x, w = primals
    dx, dw = tangents
    out = _conv_p.bind(x, w, **settings)
    terms = []
    if not isinstance(dx, ad.Zero):
        terms.append(_patches(dx, w, **settings))
    if not isinstance(dw, ad.Zero):
        terms.append(_patches(x, dw, **settings))
    if not terms:
        return out, jnp.zeros_like(out)
    return out, functools.reduce(jnp.add, terms)


def _batch(args, dims, **settings):
    x, w = args
    bx, bw = dims
    if bw is not None:  # a batch of kernels: the gathered-patches form
        return jax.vmap(functools.partial(_patches, **settings), (bx, bw))(x, w), 0
    x = jnp.moveaxis(x, bx, 0)
    b, n = x.shape[:2]
    out = _conv_p.bind(x.reshape(b * n, *x.shape[2:]), w, **settings)
    return out.reshape(b, n, *out.shape[1:]), 0


_conv_p.def_impl(
    lambda x, w, **settings: jax.jit(functools.partial(_conv_p.bind, **settings))(x, w)
)
_conv_p.def_abstract_eval(_abstract_eval)
_mlir.register_lowering(_conv_p, _mlir.lower_fun(_patches, multiple_results=False))
_mlir.register_lowering(_conv_p, _lower_cpu, platform="cpu")
ad.primitive_jvps[_conv_p] = _jvp
batching.primitive_batchers[_conv_p] = _batch
