"""jconv's forward convolution as a JAX primitive whose derivatives are jconv's own derivations.

``conv_p`` is bilinear in ``(x, w)``, like ``lax.conv_general_dilated_p``, and registered the
same way (``ad.defbilinear``): its tangent is ``conv_p(dx, w) + conv_p(x, dw)`` (forward mode
runs the fast forward twice), and its transposes are

* w.r.t. ``x``: jconv's transposed conv of the cotangent (``dx = conv_transpose(dy, w)``, the
  derivation ``input_method`` names, :data:`jconv.derivations.TRANSPOSE`),
* w.r.t. ``w``: jconv's filter gradient (``dw = filter_grad(x, dy)``, the derivation
  ``filter_method`` names, :data:`jconv.derivations.FILTER_GRAD`),

either ``"auto"`` (:mod:`jconv.derivations.auto`, chosen when the transpose is traced, with the
cotangent's shapes). So ``jax.grad``, ``jax.vjp``, ``jax.jvp``, ``jax.linearize``,
``jax.linear_transpose``, ``jax.checkpoint``, higher orders (the transposes are JAX functions
with their own derivatives) and ``jax.vmap`` (batch rule below) all use jconv's derivations.
The values are computed by the forward derivation ``method`` (:data:`jconv.derivations.FORWARD`),
lowered with ``mlir.lower_fun`` on every backend, so SPMD partitioning sees ordinary HLO.

Arrays are canonical: ``x`` ``(N, *n, C_in)``, ``w`` ``(*k, C_in / g, C_out)``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.extend.core import Primitive
from jax.interpreters import ad, batching
from jax.interpreters import mlir as _mlir

from jconv import _core, _shapes, derivations
from jconv.derivations import auto

conv_p = Primitive("jconv_conv")

SETTINGS = ("strides", "padding", "dilations", "groups", "precision", "preferred_element_type")


def conv(x, w, *, method: str, input_method: str, filter_method: str, **settings):
    """``conv_p.bind``: the forward conv by ``method`` with jconv's derivatives (see the module
    docstring); ``settings`` are :data:`SETTINGS`, hashable."""
    x, w = _core.same_varying_axes(x, w)
    return conv_p.bind(
        x, w, method=method, input_method=input_method, filter_method=filter_method, **settings
    )


def _values(x, w, *, method, input_method, filter_method, **settings):
    del input_method, filter_method
    return derivations.FORWARD[method](x, w, **settings)


def _abstract_eval(x, w, *, strides, padding, dilations, preferred_element_type, **_):
    rank = x.ndim - 2
    sizes = [
        _shapes.conv_output_size(n, k, s, d, lo, hi)
        for n, k, s, d, (lo, hi) in zip(x.shape[1:-1], w.shape[:rank], strides, dilations, padding)
    ]
    dtype = x.dtype if preferred_element_type is None else jnp.dtype(preferred_element_type)
    # x's aval with the output's shape and dtype: inside shard_map it keeps the operands' manual
    # axes (the same for both, _core.same_varying_axes) and the mesh they belong to
    return x.update(shape=(x.shape[0], *sizes, w.shape[-1]), dtype=dtype, weak_type=False)


def _cotangent(ct, operand):
    """The cotangent with its operand's dtype (``preferred_element_type`` widens the output)."""
    return ct if ct.dtype == operand.dtype else ct.astype(operand.dtype)


def _transpose_x(ct, x, w, *, method, input_method, filter_method, **settings):
    """``dx``: jconv's transposed conv of ``ct`` with ``w`` (input sizes from ``x``'s aval)."""
    del method, filter_method
    aval = x.aval
    rank = len(aval.shape) - 2
    if _shapes.is_zero_result(ct.shape, w.shape, aval.shape):
        return jnp.zeros(aval.shape, aval.dtype)
    if ct.dtype != w.dtype:  # sum in the wider cotangent's dtype, round once
        w = w.astype(ct.dtype)
    settings = dict(settings, preferred_element_type=None)
    if input_method == "auto":
        input_method = auto.transpose_method_for(
            ct,
            w,
            out_sizes=aval.shape[1 : rank + 1],
            strides=settings["strides"],
            dilations=settings["dilations"],
            groups=settings["groups"],
            preferred_element_type=None,
        )
    dx = derivations.TRANSPOSE[input_method](ct, w, out_sizes=aval.shape[1 : rank + 1], **settings)
    return dx.astype(aval.dtype)


def _transpose_w(ct, x, w, *, method, input_method, filter_method, **settings):
    """``dw``: jconv's filter gradient of ``x`` against ``ct`` (kernel sizes from ``w``'s aval)."""
    del method, input_method
    aval = w.aval
    rank = len(aval.shape) - 2
    if _shapes.is_zero_result(x.shape, ct.shape, aval.shape):
        return jnp.zeros(aval.shape, aval.dtype)
    if ct.dtype != x.dtype:
        x = x.astype(ct.dtype)
    kernel_sizes = aval.shape[:rank]
    settings = dict(settings, preferred_element_type=None)
    if filter_method == "auto":
        filter_method = auto.filter_grad_method_for(
            x, ct, kernel_sizes, settings["groups"], settings["strides"]
        )
    dw = derivations.FILTER_GRAD[filter_method](x, ct, kernel_sizes=kernel_sizes, **settings)
    return dw.astype(aval.dtype)


def _batch(args, dims, **params):
    """``vmap``: a batch of inputs joins the conv's batch; a batch of filters becomes more
    feature groups (``B * g`` groups of the inputs side by side in the channels)."""
    x, w = args
    bx, bw = dims
    if bw is None:
        x = jnp.moveaxis(x, bx, 0)
        b, n = x.shape[:2]
        y = conv_p.bind(x.reshape(b * n, *x.shape[2:]), w, **params)
        return y.reshape(b, n, *y.shape[1:]), 0
    w = jnp.moveaxis(w, bw, 0)
    b = w.shape[0]
    x = jnp.broadcast_to(x, (b, *x.shape)) if bx is None else jnp.moveaxis(x, bx, 0)
    # x (B, N, *S, C) -> (N, *S, B * C);  w (B, *k, c, O) -> (*k, c, B * O)
    x = jnp.moveaxis(x, 0, -2)
    x = x.reshape(*x.shape[:-2], b * x.shape[-1])
    w = jnp.moveaxis(w, 0, -2)
    w = w.reshape(*w.shape[:-2], b * w.shape[-1])
    y = conv_p.bind(x, w, **dict(params, groups=b * params["groups"]))
    y = y.reshape(*y.shape[:-1], b, y.shape[-1] // b)
    return jnp.moveaxis(y, -2, 0), 0


conv_p.def_impl(lambda x, w, **params: jax.jit(functools.partial(conv_p.bind, **params))(x, w))
conv_p.def_abstract_eval(_abstract_eval)
_mlir.register_lowering(conv_p, _mlir.lower_fun(_values, multiple_results=False))
ad.defbilinear(conv_p, _transpose_x, _transpose_w)
batching.primitive_batchers[conv_p] = _batch
