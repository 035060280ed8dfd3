"""oneDNN's direct convolution kernels, reached through XLA:CPU's ``__onednn$convolution`` call.

jaxlib's XLA:CPU links oneDNN and runs its ``convolution_forward`` primitive for a custom call
with this target (the op XLA's own, off-by-default oneDNN rewriter emits). oneDNN's JIT kernels
convolve without gathering patches, where XLA:CPU lowers a 3-D convolution to a generic loop and
jconv otherwise gathers patches for one matmul. jconv emits the call for the stride-1
correlations of its phase decomposition (:func:`jconv.derivations.phase.transpose_phase`; timings
in docs/auto.md).

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
from jax.core import ShapedArray
from jax.extend.core import Primitive
from jax.interpreters import ad, batching
from jax.interpreters import mlir as _mlir

from jconv import _core

VERIFIED_JAXLIB = ("0.10.2",)
"""jaxlib versions whose ``OneDnnConvolutionConfig`` encoding jconv emits and tests."""

_conv_p = Primitive("jconv_onednn_conv")


def conv(x, w, padding):
    """Stride-1, undilated correlation of ``x`` ``(N, *spatial, C)`` with ``w`` ``(*u, C, O)``.

    Out size per dim ``n + lo + hi - u + 1``, as :func:`jconv._core.conv_patches` (groups 1).
    oneDNN's kernel on the CPU backend, ``conv_patches`` elsewhere; callers check
    :func:`usable` first.
    """
    return _conv_p.bind(x, w, padding=tuple(tuple(p) for p in padding))


def usable(x, w, padding, groups: int = 1, preferred_element_type=None) -> bool:
    """Whether :func:`conv` may stand in for ``conv_patches`` here (see the module docstring)."""
    rank = x.ndim - 2
    return (
        1 <= rank <= 3
        and all(lo >= 0 and hi >= 0 for lo, hi in padding)
        and all(n + lo + hi >= u for n, (lo, hi), u in zip(x.shape[1:-1], padding, w.shape))
        and min(x.shape) > 0
        and min(w.shape) > 0
        and eligible(x, w, groups, preferred_element_type)
    )


def eligible(x, w, groups: int = 1, preferred_element_type=None) -> bool:
    """float32 in and out, ungrouped, and :func:`enabled`: the conditions on everything but
    shapes, for callers that choose a formulation before its convolutions' shapes are known."""
    float32 = x.dtype == w.dtype == jnp.float32 and preferred_element_type in (None, jnp.float32)
    return float32 and groups == 1 and enabled()


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
    x = rng.integers(-3, 4, (2, 5, 4, 3)).astype(np.float32)
    w = rng.integers(-3, 4, (2, 3, 3, 4)).astype(np.float32)
    padding = ((1, 0), (0, 2))
    try:  # eagerly, also when first asked inside a trace
        with jax.ensure_compile_time_eval():
            cpu = jax.devices("cpu")[0]
            x, w = jax.device_put(x, cpu), jax.device_put(w, cpu)
            got = jax.jit(lambda a, b: _conv_p.bind(a, b, padding=padding))(x, w)
            want = _core.conv_patches(x, w, padding)
            return bool(np.array_equal(np.asarray(got), np.asarray(want)))
    except (jax.errors.JaxRuntimeError, RuntimeError, ValueError, TypeError, NotImplementedError):
        return False  # XLA refused the call or its configuration here: use the patches form


def _out_shape(x_shape, w_shape, padding):
    rank = len(x_shape) - 2
    sizes = [n + lo + hi - u + 1 for n, (lo, hi), u in zip(x_shape[1:-1], padding, w_shape[:rank])]
    return (x_shape[0], *sizes, w_shape[-1])


def _abstract_eval(x, w, *, padding):
    return ShapedArray(_out_shape(x.shape, w.shape, padding), x.dtype)


def _patches(x, w, *, padding):
    return _core.conv_patches(x, w, padding)


def _config(x_shape, w_shape, padding) -> str:
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
        "strides": [1] * rank,
        "window_dilations": [1] * rank,
    }
    config = {
        "dims": rank + 2,
        "input": {"dims": rank + 2, "data": data},
        "kernel": {"dims": rank + 2, "filter": kernel},
        "output": {"dims": rank + 2, "data": data},
        "window": window,
        "feature_groups": 1,
    }
    return json.dumps({"onednn_conv_config": config})


def _lower_cpu(ctx, x, w, *, padding):
    # The one private name jconv uses: JAX's lowering helper for a legacy (api_version 1) custom
    # call with a backend_config string, which XLA:CPU's oneDNN call needs; jax.ffi only builds
    # typed-FFI calls. Emitted only on the verified jaxlib versions (VERIFIED_JAXLIB).
    from jax._src.interpreters.mlir import custom_call

    x_aval, w_aval = ctx.avals_in
    if not supported_here():  # bound directly (jconv checks usable() first)
        return _mlir.lower_fun(functools.partial(_patches, padding=padding), False)(ctx, x, w)
    (out_aval,) = ctx.avals_out
    op = custom_call(
        "__onednn$convolution",
        result_types=[_mlir.aval_to_ir_type(ctx.module_context, out_aval)],
        operands=[x, w],
        backend_config=_config(x_aval.shape, w_aval.shape, padding),
        api_version=1,
    )
    return op.results


def _jvp(primals, tangents, *, padding):
    x, w = primals
    dx, dw = tangents
    out = _conv_p.bind(x, w, padding=padding)
    terms = []
    if not isinstance(dx, ad.Zero):
        terms.append(_core.conv_patches(dx, w, padding))
    if not isinstance(dw, ad.Zero):
        terms.append(_core.conv_patches(x, dw, padding))
    if not terms:
        return out, jnp.zeros_like(out)
    return out, functools.reduce(jnp.add, terms)


def _batch(args, dims, *, padding):
    x, w = args
    bx, bw = dims
    if bw is not None:  # a batch of kernels: the gathered-patches form
        return jax.vmap(functools.partial(_patches, padding=padding), (bx, bw))(x, w), 0
    x = jnp.moveaxis(x, bx, 0)
    b, n = x.shape[:2]
    out = _conv_p.bind(x.reshape(b * n, *x.shape[2:]), w, padding=padding)
    return out.reshape(b, n, *out.shape[1:]), 0


_conv_p.def_impl(lambda x, w, *, padding: jax.jit(conv, static_argnums=2)(x, w, padding))
_conv_p.def_abstract_eval(_abstract_eval)
_mlir.register_lowering(_conv_p, _mlir.lower_fun(_patches, multiple_results=False))
_mlir.register_lowering(_conv_p, _lower_cpu, platform="cpu")
ad.primitive_jvps[_conv_p] = _jvp
batching.primitive_batchers[_conv_p] = _batch
