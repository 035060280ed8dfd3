# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Gradients and speed
#
# `jconv`'s ops are ordinary JAX functions, so `jax.grad`, `jax.jacfwd`, `jax.jvp` and
# `jax.jit` go through them like through any other. This notebook
#
# 1. checks first and second derivatives through `jconv.conv2d_transpose`, `jconv.conv2d`
#    and `jconv.torch.conv_transpose2d` against finite differences and against the same
#    functions written with plain `jax.lax`, in float64;
# 2. shows that the gradient of a transposed convolution is an ordinary convolution with the
#    **same** filter, and its filter gradient is `conv2d_backprop_filter` with the roles of
#    input and output swapped — exactly, on integer data;
# 3. trains a tiny decoder made of two transposed convolutions, with Adam written out by
#    hand;
# 4. times `jconv` against `jax.lax.conv_transpose` on small decoder workloads with
#    `jconv.bench`.
#
# Finite differences need float64: the first cell turns on `jax_enable_x64` before any
# array is made. Arrays built from float32 NumPy data stay float32 (the training loop and
# the benchmark use float32).

# %%
import importlib.util
import os
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from jax import lax

import jconv
import jconv.bench
import jconv.torch as jt

# The tests run every cell with JCONV_NOTEBOOK_QUICK=1: fewer training steps and timed runs.
QUICK = os.environ.get("JCONV_NOTEBOOK_QUICK") == "1"
jax.config.update("jax_enable_x64", True)

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "font.size": 9})
np.set_printoptions(linewidth=110, suppress=True)

# %% [markdown]
# ## First derivatives: `jax.grad` against finite differences
#
# The test function is a transposed convolution (stride 2, `SAME`, 3 → 2 channels) followed
# by a nonlinearity, so that its second derivatives are not trivial:
#
# $$f(x, w) = \sum_{b,j,c} g[b, j, c]\,
#   \sin\big(\operatorname{conv2d\_transpose}(x, w)[b, j, c]\big).$$
#
# For a random direction $v = (v_x, v_w)$ the central difference
#
# $$\frac{f(\theta + \varepsilon v) - f(\theta - \varepsilon v)}{2\varepsilon}
#   = \langle \nabla f(\theta), v\rangle + O(\varepsilon^2) + O(u/\varepsilon)$$
#
# has a truncation error of order $\varepsilon^2$ and a rounding error of order
# $u/\varepsilon$, with $u$ the unit roundoff. In float64 ($u \approx 10^{-16}$) with
# $\varepsilon = 10^{-6}$ both are around $10^{-10}$ relative; in float32
# ($u \approx 6\cdot 10^{-8}$) no $\varepsilon$ gets better than about $10^{-3}$, too coarse
# to catch a wrong sign on a single tap.
#
# The second reference is the same function written with `jax.lax.conv_transpose` and
# `transpose_kernel=True`, which equals TensorFlow's `conv2d_transpose` when its default
# output size is the one asked for (here $2m$, `SAME`); JAX differentiates that one through
# its own rules.

# %%
rng = np.random.default_rng(0)
kw = dict(strides=2, padding="SAME")
x = rng.standard_normal((2, 4, 5, 3))  # (N, H, W, C_in) of the transposed conv
w = rng.standard_normal((3, 3, 2, 3))  # TF filter (k_h, k_w, C_out, C_in)
out_shape = (2, 8, 10, 2)
g = rng.standard_normal(out_shape)


def f(x, w):
    return jnp.sum(g * jnp.sin(jconv.conv2d_transpose(x, w, out_shape, **kw)))


def f_lax(x, w):
    y = lax.conv_transpose(
        x, w, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"), transpose_kernel=True
    )
    return jnp.sum(g * jnp.sin(y))


def directional_fd(fun, args, dirs, eps=1e-6):
    """Central difference of fun along dirs (one array per argument)."""
    plus = [a + eps * d for a, d in zip(args, dirs)]
    minus = [a - eps * d for a, d in zip(args, dirs)]
    return (fun(*plus) - fun(*minus)) / (2 * eps)


gx, gw = jax.grad(f, argnums=(0, 1))(x, w)
gx_lax, gw_lax = jax.grad(f_lax, argnums=(0, 1))(x, w)
np.testing.assert_allclose(gx, gx_lax, rtol=1e-12, atol=1e-12)
np.testing.assert_allclose(gw, gw_lax, rtol=1e-12, atol=1e-12)
print(
    "dtype:",
    gx.dtype,
    "  jax.grad through jconv == through lax.conv_transpose "
    f"(max diff {max(abs(gx - gx_lax).max(), abs(gw - gw_lax).max()):.1e})",
)

print(f"{'direction':>9s} {'finite difference':>20s} {'<grad, v>':>20s} {'rel. error':>11s}")
for i in range(4):
    vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    fd = float(directional_fd(f, (x, w), (vx, vw)))
    ad = float(jnp.vdot(gx, vx) + jnp.vdot(gw, vw))
    assert abs(fd - ad) < 1e-8 * abs(ad)
    print(f"{i:9d} {fd:20.12f} {ad:20.12f} {abs(fd - ad) / abs(ad):11.1e}")

# %% [markdown]
# ## Full Jacobians: `jax.jacfwd`
#
# `jax.jacfwd` pushes one tangent per input entry through the function (forward mode);
# `jax.jacrev` pulls one cotangent per output entry back (reverse mode). For a small
# `conv2d` followed by `tanh`, $h(w) = \tanh(\operatorname{conv2d}(x, w))$, the Jacobian with
# respect to the filter is compared with `jax.jacrev` and with central differences taken one
# filter entry at a time:
#
# $$\frac{\partial h}{\partial w_k}
#   \approx \frac{h(w + \varepsilon e_k) - h(w - \varepsilon e_k)}{2\varepsilon}.$$
#
# For the transposed convolution, a linear map of $x$, the Jacobian is its matrix: forward
# mode, reverse mode and the `lax` formulation must agree to the last bit or nearly.

# %%
xs = rng.standard_normal((1, 6, 6, 2))
ws = rng.standard_normal((3, 3, 2, 2))


def h(w):
    return jnp.tanh(jconv.conv2d(xs, w, strides=2, padding="SAME"))


J = jax.jacfwd(h)(ws)  # (1, 3, 3, 2) + (3, 3, 2, 2)
J_rev = jax.jacrev(h)(ws)
eps = 1e-6
J_fd = np.zeros(J.shape)
for k in np.ndindex(*ws.shape):
    e = np.zeros(ws.shape)
    e[k] = eps
    J_fd[(...,) + k] = (h(ws + e) - h(ws - e)) / (2 * eps)
print(
    "jacfwd(conv2d): shape",
    J.shape,
    f"  |jacfwd - jacrev| = {abs(J - J_rev).max():.1e}",
    f"  |jacfwd - finite differences| = {abs(J - J_fd).max():.1e}",
)
np.testing.assert_allclose(J, J_rev, atol=1e-14)
np.testing.assert_allclose(J, J_fd, atol=1e-8)

xt = rng.standard_normal((1, 3, 3, 2))
wt = rng.standard_normal((3, 3, 1, 2))
T = jax.jacfwd(lambda x: jconv.conv2d_transpose(x, wt, (1, 6, 6, 1), **kw))(xt)
T_lax = jax.jacfwd(
    lambda x: lax.conv_transpose(
        x, wt, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"), transpose_kernel=True
    )
)(xt)
T_rev = jax.jacrev(lambda x: jconv.conv2d_transpose(x, wt, (1, 6, 6, 1), **kw))(xt)
print(
    f"jacfwd(conv2d_transpose): shape {T.shape} -> a (36, 18) matrix;",
    f"|jacfwd - jacrev| = {abs(T - T_rev).max():.1e}",
    f"  |jconv - lax| = {abs(T - T_lax).max():.1e}",
)
np.testing.assert_allclose(T, T_lax, atol=1e-14)
np.testing.assert_allclose(T, T_rev, atol=1e-14)

# %% [markdown]
# ## Second derivatives: a Hessian-vector product
#
# The Hessian $H = \nabla^2 f$ of $f(x, w)$ above has $(120 + 54)^2$ entries; Newton-type and
# curvature methods only need products $Hv$. Differentiating the gradient along $v$ in
# forward mode gives one without forming $H$ ("forward over reverse"):
#
# $$Hv = \frac{d}{d\varepsilon}\,\nabla f(\theta + \varepsilon v)\Big|_{\varepsilon=0}
#   = \texttt{jax.jvp(jax.grad(f), (θ,), (v,))[1]} .$$
#
# Since the transposed convolution is bilinear in $(x, w)$, $H$ has cross terms
# $\partial^2 f / \partial x\,\partial w$, and the product is taken in both arguments at
# once. Checks: the central difference of the gradient,
# $(\nabla f(\theta + \varepsilon v) - \nabla f(\theta - \varepsilon v)) / 2\varepsilon$;
# the `lax` formulation; and the symmetry $\langle u, Hv\rangle = \langle Hu, v\rangle$.

# %%
grad_f = jax.grad(f, argnums=(0, 1))


def hvp(fun_grad, theta, v):
    return jax.jvp(fun_grad, theta, v)[1]


v = (rng.standard_normal(x.shape), rng.standard_normal(w.shape))
u = (rng.standard_normal(x.shape), rng.standard_normal(w.shape))
Hv = hvp(grad_f, (x, w), v)
Hv_lax = hvp(jax.grad(f_lax, argnums=(0, 1)), (x, w), v)
eps = 1e-5
Hv_fd = [
    (a - b) / (2 * eps)
    for a, b in zip(grad_f(x + eps * v[0], w + eps * v[1]), grad_f(x - eps * v[0], w - eps * v[1]))
]
Hu = hvp(grad_f, (x, w), u)
dot = lambda p, q: sum(float(jnp.vdot(a, b)) for a, b in zip(p, q))

for name, Hv_ref in [("finite differences of grad", Hv_fd), ("lax formulation", Hv_lax)]:
    err = max(float(abs(a - b).max() / abs(b).max()) for a, b in zip(Hv, Hv_ref))
    print(f"Hv vs {name:27s} max rel. error {err:.1e}")
    assert err < 1e-8
print(f"<u, Hv> = {dot(u, Hv):.12f}\n<Hu, v> = {dot(Hu, v):.12f}")
assert abs(dot(u, Hv) - dot(Hu, v)) < 1e-10 * abs(dot(u, Hv))


# %% [markdown]
# ## The same through the PyTorch-style API
#
# `jconv.torch.conv_transpose2d` takes PyTorch's layouts: data $(N, C, H, W)$, weight
# $(C_\text{in}, C_\text{out}, k_h, k_w)$, a bias, `padding` $p$ cropped from each side and
# `output_padding` added at the end. Written in plain `lax`, it is a convolution of the
# input with `lhs_dilation` $= s$ ($s - 1$ zeros between elements), the kernel flipped in
# both spatial axes, and padding $\big(k - 1 - p,\; k - 1 - p + \text{output\_padding}\big)$;
# the weight's layout is `"IOHW"` in `lax`'s notation. The forward values, the gradients
# with respect to input, weight and bias, and a Hessian-vector product are compared.


# %%
def torch_style_lax(x, w, b, s, p, op):
    """F.conv_transpose2d in plain lax (groups 1, dilation 1)."""
    k = w.shape[2]
    y = lax.conv_general_dilated(
        x,
        w[:, :, ::-1, ::-1],
        (1, 1),
        [(k - 1 - p, k - 1 - p + op)] * 2,
        lhs_dilation=(s, s),
        dimension_numbers=("NCHW", "IOHW", "NCHW"),
    )
    return y + b[:, None, None]


xp = rng.standard_normal((2, 3, 4, 5))  # (N, C_in, H, W)
wp = rng.standard_normal((3, 2, 3, 3))  # (C_in, C_out, k, k)
bp = rng.standard_normal(2)
s, p, op = 2, 1, 1
yp = jt.conv_transpose2d(xp, wp, bp, stride=s, padding=p, output_padding=op)
np.testing.assert_allclose(yp, torch_style_lax(xp, wp, bp, s, p, op), atol=1e-13)
gp = rng.standard_normal(yp.shape)
print(
    "output",
    yp.shape,
    "= ((4 - 1) * 2 - 2 + 3 + 1, (5 - 1) * 2 - 2 + 3 + 1); forward equal to the lax formulation",
)


def f_torch(x, w, b):
    return jnp.sum(
        gp * jnp.tanh(jt.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op))
    )


def f_torch_lax(x, w, b):
    return jnp.sum(gp * jnp.tanh(torch_style_lax(x, w, b, s, p, op)))


theta = (xp, wp, bp)
grads = jax.grad(f_torch, argnums=(0, 1, 2))(*theta)
grads_lax = jax.grad(f_torch_lax, argnums=(0, 1, 2))(*theta)
for name, a, b in zip(["input", "weight", "bias"], grads, grads_lax):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    print(
        f"grad wrt {name:6s} {str(a.shape):14s} == lax formulation "
        f"(max diff {float(abs(a - b).max()):.1e})"
    )

dirs = tuple(rng.standard_normal(t.shape) for t in theta)
fd = float(directional_fd(f_torch, theta, dirs))
ad = sum(float(jnp.vdot(a, d)) for a, d in zip(grads, dirs))
print(f"directional derivative: finite difference {fd:.10f}, <grad, v> {ad:.10f}")
assert abs(fd - ad) < 1e-8 * abs(ad)

Hv = hvp(jax.grad(f_torch, argnums=(0, 1, 2)), theta, dirs)
Hv_lax = hvp(jax.grad(f_torch_lax, argnums=(0, 1, 2)), theta, dirs)
err = max(float(abs(a - b).max() / abs(b).max()) for a, b in zip(Hv, Hv_lax))
print(f"Hessian-vector product vs lax formulation: max rel. error {err:.1e}")
assert err < 1e-12


# %% [markdown]
# ## The gradient of a transposed convolution is a convolution
#
# Write the forward convolution `conv2d(u, w)` (stride $s$, padding $\text{lo}$ before the
# input) and the transposed convolution `conv2d_transpose(x, w)` with the *same* filter
# $w[t, c, o]$ — for `conv2d_transpose` TF's filter is $(k, k, C_\text{out}, C_\text{in})$,
# which is exactly the forward filter $(k, k, c, o)$:
#
# $$\operatorname{conv2d}(u, w)[b, i, o] = \sum_{t, c} u_\text{pad}[b,\, is + t,\, c]\; w[t, c, o],
# \qquad
# \operatorname{conv2d\_transpose}(x, w)[b, j, c]
#   = \sum_{\substack{i, t \\ is + t - \text{lo} = j}} \sum_o x[b, i, o]\; w[t, c, o].$$
#
# Take a loss with output gradient $g$,
# $L(x, w) = \sum g \odot \operatorname{conv2d\_transpose}(x, w)$. Substituting and
# collecting the sum over $j$:
#
# $$L = \sum_{b, i, t, c, o} g_\text{pad}[b,\, is + t,\, c]\; x[b, i, o]\; w[t, c, o] .$$
#
# Reading off the coefficients:
#
# * **input gradient** —
#   $\partial L / \partial x[b, i, o] = \sum_{t,c} g_\text{pad}[b, is + t, c]\, w[t, c, o]$,
#   which is the *forward* convolution of $g$ with the same filter, same strides, same
#   padding:
#   $$\frac{\partial L}{\partial x} = \operatorname{conv2d}(g, w, s, \text{padding});$$
# * **filter gradient** —
#   $\partial L / \partial w[t, c, o] = \sum_{b,i} g_\text{pad}[b, is + t, c]\, x[b, i, o]$.
#   That is the filter gradient of a forward convolution whose *input* is $g$ and whose
#   *output gradient* is $x$ (notebook 2:
#   $dw[t,c,o] = \sum_{b,i} u_\text{pad}[b, is+t, c]\, dy[b,i,o]$):
#   $$\frac{\partial L}{\partial w}
#     = \operatorname{conv2d\_backprop\_filter}(g,\; w.\text{shape},\; x,\; s, \text{padding}).$$
#
# In matrix terms: `conv2d_transpose` is $C^\top$ ($C$ the matrix of `conv2d(·, w)`), so
# $L = \langle g, C^\top x\rangle = \langle Cg, x\rangle$ and $\nabla_x L = Cg$. The gradient
# of a transposed convolution is a convolution, just as (notebook 2) the gradient of a
# convolution is a transposed convolution. A decoder's backward pass therefore runs strided
# *forward* convolutions, and its speed depends on both kinds of op.
#
# On integer-valued data every product and sum is exact, so the check is `==`, over strides
# 1, 2 and (2, 3), `SAME` and `VALID`, odd and even kernels, and output sizes at both ends
# of the legal range:


# %%
def ints(*shape):
    return rng.integers(-4, 5, size=shape).astype(np.float64)


def loss_T(x, w, g, out, **kw):
    return jnp.sum(g * jconv.conv2d_transpose(x, w, out, **kw))


configs = [  # (input size m, output size n, kernel, strides, padding)
    ((4, 5), (8, 10), (3, 3), 2, "SAME"),
    ((4, 5), (7, 9), (4, 4), 2, "SAME"),
    ((3, 4), (8, 9), (4, 3), 2, "VALID"),
    ((3, 3), (7, 9), (3, 3), (2, 3), "VALID"),
    ((4, 4), (4, 4), (3, 3), 1, "SAME"),
    ((4, 4), (6, 6), (3, 3), 1, "VALID"),
]
print(
    f"{'m':8s} {'n':8s} {'kernel':8s} {'strides':8s} {'padding':8s} "
    "dL/dx == conv2d(g, w)   dL/dw == backprop_filter(g, w.shape, x)"
)
for m, n, k, strides, padding in configs:
    x_i, w_i = ints(2, *m, 3), ints(*k, 2, 3)
    out = (2, *n, 2)
    g_i = ints(*out)
    dx, dw = jax.grad(loss_T, argnums=(0, 1))(x_i, w_i, g_i, out, strides=strides, padding=padding)
    as_conv = jconv.conv2d(g_i, w_i, strides=strides, padding=padding)
    as_filter_grad = jconv.conv2d_backprop_filter(
        g_i, w_i.shape, x_i, strides=strides, padding=padding
    )
    np.testing.assert_array_equal(dx, as_conv)
    np.testing.assert_array_equal(dw, as_filter_grad)
    print(f"{str(m):8s} {str(n):8s} {str(k):8s} {str(strides):8s} {padding:8s} {'exact':22s} exact")

# %% [markdown]
# JAX's own transpose rule says the same. With `method="dilate"` the transposed convolution
# is one `lax.conv_general_dilated` with `lhs_dilation` $= s$ (zeros inserted into $x$) and
# window stride 1. In the program `jax.grad` builds, the backward pass is a
# `conv_general_dilated` with window stride $s$ and no `lhs_dilation`: a strided forward
# convolution.

# %%
x_i, w_i, g_i = ints(1, 4, 5, 3), ints(3, 3, 2, 3), ints(1, 8, 10, 2)


def L_dilate(x):
    y = jconv.conv2d_transpose(x, w_i, (1, 8, 10, 2), strides=2, padding="SAME", method="dilate")
    return jnp.sum(g_i * y)


def convs(jaxpr):
    """The conv_general_dilated equations of a jaxpr, sub-jaxprs included."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "conv_general_dilated":
            yield eqn
        for param in eqn.params.values():
            inner = getattr(param, "jaxpr", None)
            if inner is not None:
                yield from convs(getattr(inner, "jaxpr", inner))


for label, eqn in zip(
    ["forward ", "backward"], convs(jax.make_jaxpr(jax.grad(L_dilate))(x_i).jaxpr)
):
    print(label, {k: eqn.params[k] for k in ("window_strides", "lhs_dilation", "padding")})


# %% [markdown]
# ## Training a tiny decoder
#
# A decoder turns a small code into an image by upsampling. The task here: draw a Gaussian
# blob at a given position $p = (p_y, p_x)$ on a 16×16 canvas,
#
# $$t_p[u, v] = \exp\!\Big(-\frac{(u + \tfrac12 - p_y)^2 + (v + \tfrac12 - p_x)^2}{2\sigma^2}\Big),
# \qquad \sigma = 1.2 \text{ pixels},$$
#
# from a coarse code $z_p$ of shape $(4, 4, 8)$: the same position drawn on a 4×4 grid (a
# quarter of the resolution) as 8 Gaussian maps of widths $0.3 \cdot 1.3^c$ grid cells,
# $c = 0, \dots, 7$. The decoder has to upsample by 4 and sharpen:
#
# $$h = \operatorname{relu}\big(\operatorname{conv2d\_transpose}(z, w_1) + b_1\big)
#   \in \mathbb{R}^{8 \times 8 \times 16},
# \qquad
# \hat t = \operatorname{conv2d\_transpose}(h, w_2) + b_2 \in \mathbb{R}^{16 \times 16 \times 1},$$
#
# both with 4×4 kernels, stride 2 and `SAME` padding (2,321 parameters in all). The loss is
# the mean squared error over a minibatch of 64 random positions, minimised with Adam written
# out by hand: with gradient $g_i$ at step $i$,
#
# $$m_i = \beta_1 m_{i-1} + (1 - \beta_1)\, g_i, \quad
#   v_i = \beta_2 v_{i-1} + (1 - \beta_2)\, g_i^2, \quad
#   \theta_i = \theta_{i-1}
#     - \eta\, \frac{m_i / (1 - \beta_1^i)}{\sqrt{v_i / (1 - \beta_2^i)} + \epsilon},$$
#
# $\eta = 3\cdot 10^{-3}$, $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$. The
# parameters are a dict, and `jax.tree.map` applies the update to each array. Everything is
# float32; one jit-compiled step computes the loss, the gradients and the update. By the
# previous section's identity, the backward pass through the two transposed convolutions is
# two filter gradients plus one strided convolution, which carries the gradient from the
# output back to $h$.


# %%
def blobs(pos, size=16, sigma=1.2):
    """(N, size, size, 1) Gaussian blobs centred at pos (N, 2), in pixels."""
    r = np.arange(size) + 0.5
    d2 = (r[None, :, None] - pos[:, 0, None, None]) ** 2 + (
        r[None, None, :] - pos[:, 1, None, None]
    ) ** 2
    return np.exp(-d2 / (2 * sigma**2))[..., None].astype(np.float32)


WIDTHS = 0.3 * 1.3 ** np.arange(8)  # in coarse grid cells


def codes(pos, size=4, scale=4):
    """(N, 4, 4, 8): the positions on the coarse grid, blurred at 8 widths."""
    r = np.arange(size) + 0.5
    d2 = (r[None, :, None] - pos[:, 0, None, None] / scale) ** 2 + (
        r[None, None, :] - pos[:, 1, None, None] / scale
    ) ** 2
    return np.exp(-d2[..., None] / (2 * WIDTHS**2)).astype(np.float32)


pos_train = rng.uniform(2, 14, size=(512, 2))
pos_test = rng.uniform(2, 14, size=(256, 2))
z_train, t_train = codes(pos_train), blobs(pos_train)
z_test, t_test = codes(pos_test), blobs(pos_test)


def init(key):
    k1, k2 = jax.random.split(key)
    he = lambda shape: (2 / (shape[0] * shape[1] * shape[3])) ** 0.5  # fan-in k*k*C_in
    return {
        "w1": jax.random.normal(k1, (4, 4, 16, 8), jnp.float32) * he((4, 4, 16, 8)),
        "b1": jnp.zeros(16, jnp.float32),
        "w2": jax.random.normal(k2, (4, 4, 1, 16), jnp.float32) * he((4, 4, 1, 16)),
        "b2": jnp.zeros(1, jnp.float32),
    }


def decode(params, z):
    n = z.shape[0]
    h = jconv.conv2d_transpose(z, params["w1"], (n, 8, 8, 16), strides=2, padding="SAME")
    h = jax.nn.relu(h + params["b1"])
    y = jconv.conv2d_transpose(h, params["w2"], (n, 16, 16, 1), strides=2, padding="SAME")
    return y + params["b2"]


def loss_fn(params, z, t):
    return jnp.mean((decode(params, z) - t) ** 2)


@jax.jit
def adam_step(params, m, v, i, z, t, lr=3e-3, b1=0.9, b2=0.999, eps=1e-8):
    loss, grads = jax.value_and_grad(loss_fn)(params, z, t)
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    params = jax.tree.map(
        lambda p, m, v: p - lr * (m / (1 - b1**i)) / (jnp.sqrt(v / (1 - b2**i)) + eps), params, m, v
    )
    return params, m, v, loss


params = init(jax.random.key(0))
print(
    "parameters:",
    sum(p.size for p in jax.tree.leaves(params)),
    {k: p.shape for k, p in params.items()},
)
m = jax.tree.map(jnp.zeros_like, params)
v = jax.tree.map(jnp.zeros_like, params)
eval_loss = jax.jit(loss_fn)
train_losses, test_losses = [], []
steps = 150 if QUICK else 1500
for i in range(1, steps + 1):
    batch = rng.choice(len(pos_train), 64, replace=False)
    params, m, v, loss = adam_step(params, m, v, jnp.float32(i), z_train[batch], t_train[batch])
    train_losses.append(float(loss))
    if i == 1 or i % 50 == 0:
        test_losses.append((i, float(eval_loss(params, z_test, t_test))))
print(f"minibatch loss: step 1 {train_losses[0]:.2e}, step {steps} {train_losses[-1]:.2e}")
print(
    f"test loss (256 unseen positions): {test_losses[-1][1]:.2e}; "
    f"mean squared target {np.mean(t_test**2):.2e}"
)

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.2))
ax.semilogy(np.arange(1, steps + 1), train_losses, lw=0.8, alpha=0.6, label="minibatch (64)")
ax.semilogy(*zip(*test_losses), "o-", ms=3, label="test (256 unseen positions)")
ax.axhline(np.mean(t_test**2), color="0.5", ls="--", lw=1, label="predicting zeros")
ax.set_xlabel("Adam step")
ax.set_ylabel("mean squared error")
ax.set_title("Tiny decoder: 4×4×8 code -> conv2d_transpose ×2 -> 16×16")
ax.legend(fontsize=8)
ax.grid(alpha=0.3, which="both")
plt.tight_layout()
plt.show()

# %% [markdown]
# Eight unseen positions: the code the decoder gets (channel $c = 3$ of 8, at 4×4),
# the target and the decoder's output. The cross marks the position asked for.

# %%
show = slice(0, 8)
outputs = np.asarray(decode(params, z_test[show]))
rows = [
    ("code, channel 3 (4×4)", z_test[show, :, :, 3]),
    ("target (16×16)", t_test[show, :, :, 0]),
    ("decoder output", outputs[:, :, :, 0]),
]
fig, axes = plt.subplots(3, 8, figsize=(12, 4.8))
for r, (label, images) in enumerate(rows):
    for c in range(8):
        ax = axes[r, c]
        ax.imshow(images[c], cmap="magma", vmin=0, vmax=1, extent=(0, 16, 16, 0))
        py, px = pos_test[c]
        ax.plot(px, py, "+", color="cyan", ms=8, mew=1.5)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[r, 0].set_ylabel(label, fontsize=8)
plt.tight_layout()
plt.show()
err = np.abs(outputs - t_test[show]).max()
print(f"largest pixel error over these 8: {err:.3f} (targets peak at about 1)")

# %% [markdown]
# ## Speed: `jconv` against `jax.lax.conv_transpose`
#
# The decoder above spends its time in exactly two kinds of op: transposed convolutions
# forward, and their gradients — strided convolutions and filter gradients — backward.
# `jconv.bench` times both on decoder-shaped workloads, as a **forward** transposed
# convolution and as a **training step**: the value and the gradients with respect to the
# input and the kernel of $\sum \operatorname{conv\_transpose}(x, w)^2$, the same loss in
# every framework. The peers are `jax.lax.conv_transpose(..., transpose_kernel=True)` with
# the padding that makes it equal to TensorFlow's, and PyTorch's `F.conv_transpose2d` and
# TensorFlow's `tf.nn.conv2d_transpose` when those are installed. Each framework runs in its
# own subprocess, one after the other; every time is the median of at least 3 runs after
# warm-up. The workloads are the small (quarter-batch) set, float32:

# %%
names = ["patch2d"] if QUICK else ["patch2d", "unet2d"]
for name in names:
    wl = jconv.bench.SMALL_WORKLOADS[name]
    print(
        f"{name:8s} {wl.description:20s} {str(wl.input_shape):18s} -> "
        f"{str(wl.output_shape):18s} kernel {wl.kernel}, stride {wl.strides}, "
        f"{wl.padding:5s} {wl.gflop:.2f} GFLOP"
    )

# PyTorch and TensorFlow only if installed (checked without importing them here).
frameworks = ["jconv", "lax"] + [
    name
    for name, module in [("torch", "torch"), ("tf", "tensorflow")]
    if importlib.util.find_spec(module) is not None and not (QUICK and name == "tf")
]
print(
    "frameworks:", frameworks, "  backend:", jax.default_backend(), "  CPU cores:", os.cpu_count()
)

# %%
rows = jconv.bench.run(names, frameworks=frameworks, small=True, repeats=1 if QUICK else 3)

print(
    f"{'workload':9s} {'op':8s} {'impl':6s} {'median ms':>10s} {'runs':>5s} "
    f"{'GFLOP/s':>8s} {'peer / jconv':>13s}"
)
for r in rows:
    print(
        f"{r['workload']:9s} {r['op']:8s} {r['impl']:6s} {r['ms']:10.2f} {r['runs']:5d} "
        f"{r['gflops']:8.1f} {r['jconv_speedup']:13.2f}"
    )
print("\ngeometric mean of peer ms / jconv ms over the workloads (above 1: jconv faster):")
for op, ratios in jconv.bench.geomeans(rows).items():
    print(f"  {op:8s}", "  ".join(f"{impl} {ratio:.2f}" for impl, ratio in ratios.items()))

# %%
impls = [i for i in jconv.bench.FRAMEWORKS if any(r["impl"] == i for r in rows)]
colors = {
    "jconv": "tab:blue",
    "lax": "tab:orange",
    "vjp": "tab:purple",
    "torch": "tab:red",
    "tf": "tab:green",
}
width = 0.8 / len(impls)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for ax, op in zip(axes, jconv.bench.OPS):
    for j, impl in enumerate(impls):
        ms = [
            next(r["ms"] for r in rows if (r["workload"], r["op"], r["impl"]) == (name, op, impl))
            for name in names
        ]
        pos = np.arange(len(names)) + (j - (len(impls) - 1) / 2) * width
        ax.bar(pos, ms, width, label=impl, color=colors[impl])
        for p_, t_ in zip(pos, ms):
            ax.text(p_, t_ * 1.08, f"{t_:.3g}", ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel("median time (ms, log scale)")
    ax.set_title(
        "forward transposed conv"
        if op == "forward"
        else "training step: loss + gradients wrt input and kernel"
    )
    ax.margins(y=0.15)
    ax.grid(axis="y", alpha=0.3, which="both")
axes[0].legend(fontsize=8)
fig.suptitle(
    f"jconv.bench, small workloads, float32, {jax.default_backend()} "
    f"({os.cpu_count()} cores); lower is better"
)
plt.tight_layout()
plt.show()

# %% [markdown]
# Reading the chart (the numbers above are from the run stored with this notebook; on
# another machine they differ, and busy cores inflate all of them):
#
# * **Forward.** Both are one XLA computation. On CPU `jconv`'s `method="auto"` uses
#   `"col2im"` for these strided convolutions: one matmul
#   $z[b, i, t, c] = \sum_o x[b, i, o]\, w[t, c, o]$ makes every tap's contribution with
#   exactly the kernel's multiplies (none touches an inserted zero), and each tap's rows
#   are added at output rows $i s + t$, phase by phase; `lax` runs one convolution with
#   `lhs_dilation`.
# * **Training step.** JAX differentiates `lax.conv_transpose` with its own transpose rules:
#   the input gradient becomes a strided convolution (as derived above) and the kernel
#   gradient a convolution whose window is the whole output-gradient image. XLA's CPU
#   backend runs such convolutions far below matmul speed, so the step costs many times
#   the forward pass. Everything in `"col2im"` after its matmul is slices, pads and adds,
#   so JAX's own gradient of it is matmuls (the im2col form of the forward convolution
#   and of the filter gradient), and its step stays within a small multiple of its forward
#   time, as the FLOP count (three forward-sized products) says it should.
# * PyTorch and TensorFlow, where installed, run their own CPU kernels; they are the
#   outside yardstick, and the geometric means above summarise the comparison.
# * On GPU and TPU, `method="auto"` picks `"dilate"`, the same XLA lowering as `lax`.

# %% [markdown]
# ## Training an encoder-decoder: `jconv` against plain JAX and PyTorch
#
# A training step of a whole model runs forward convolutions too: an encoder of two
# stride-2 3x3 convolutions and a decoder of a 2x2 stride-2 up-convolution and a 4x4
# stride-2 transposed convolution (an autoencoder on 3-channel 32x32 images, batch 16, ReLUs
# between the layers, mean squared error against the input). The same model is written three
# times: with `jconv.torch`'s functions (their derivatives are jconv's derivations: the input
# gradient of a forward conv is jconv's transposed conv, its filter gradient jconv's filter
# gradient, and `method="auto"` picks the kernels), with `jax.lax` convolutions under
# `jax.grad` (JAX's own rules), and in PyTorch (`torch.autograd`, in its own process so that
# its thread pool and XLA's do not share the cores). Each time is the median of timed steps
# after warm-up; a step is the loss, all gradients and a plain SGD update.

# %%
SHAPES = {"e1": (32, 3, 3, 3), "e2": (64, 32, 3, 3), "d1": (64, 32, 2, 2), "d2": (32, 3, 4, 4)}
BATCH, SIZE = 16, 32


def init(seed=0):
    rng = np.random.default_rng(seed)
    return {
        k: jnp.asarray((rng.standard_normal(v) / np.sqrt(np.prod(v[1:]))).astype(np.float32))
        for k, v in SHAPES.items()
    }


def model_jconv(p, x):
    h = jax.nn.relu(jt.conv2d(x, p["e1"], stride=2, padding=1))
    h = jax.nn.relu(jt.conv2d(h, p["e2"], stride=2, padding=1))
    h = jax.nn.relu(jt.conv_transpose2d(h, p["d1"], stride=2))
    return jt.conv_transpose2d(h, p["d2"], stride=2, padding=1)


def model_lax(p, x):
    dn = ("NCHW", "OIHW", "NCHW")

    def conv(h, w):
        return lax.conv_general_dilated(h, w, (2, 2), [(1, 1)] * 2, dimension_numbers=dn)

    def up(h, w, pad):  # PyTorch's conv_transpose2d: (C_in, C_out, kh, kw), padding k - 1 - p
        return lax.conv_transpose(h, w, (2, 2), pad, dimension_numbers=dn, transpose_kernel=True)

    h = jax.nn.relu(conv(x, p["e1"]))
    h = jax.nn.relu(conv(h, p["e2"]))
    h = jax.nn.relu(up(h, p["d1"], [(1, 1)] * 2))
    return up(h, p["d2"], [(2, 2)] * 2)


def sgd_step(model):
    def loss(p, x):
        return jnp.mean((model(p, x) - x) ** 2)

    @jax.jit
    def step(p, x):
        value, grads = jax.value_and_grad(loss)(p, x)
        return value, jax.tree.map(lambda a, g: a - 0.1 * g, p, grads)

    return step


def median_ms(step, p, x, runs=3 if QUICK else 20):
    for _ in range(3):
        _, p = step(p, x)
    jax.block_until_ready(p)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        value, p = step(p, x)
        jax.block_until_ready(p)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times)), float(value)


images = jnp.asarray(
    np.random.default_rng(1).standard_normal((BATCH, 3, SIZE, SIZE), dtype=np.float32)
)
params = init()
# the two JAX models are the same function: equal outputs (to float32 rounding)
print(
    "max |jconv - lax| output:",
    float(jnp.max(jnp.abs(model_jconv(params, images) - model_lax(params, images)))),
)
step_ms = {}
for name, model in (("jconv", model_jconv), ("lax", model_lax)):
    step_ms[name], last_loss = median_ms(sgd_step(model), params, images)
    print(f"{name:6s} {step_ms[name]:8.2f} ms per training step (loss after {last_loss:.4f})")

TORCH_STEP = f"""
import time, numpy as np, torch
import torch.nn.functional as F
torch.set_num_threads({os.cpu_count()})
shapes = {SHAPES!r}
rng = np.random.default_rng(0)
p = {{k: torch.from_numpy((rng.standard_normal(v) / np.sqrt(np.prod(v[1:]))).astype(np.float32))
     .requires_grad_() for k, v in shapes.items()}}
x = torch.from_numpy(np.random.default_rng(1).standard_normal(({BATCH}, 3, {SIZE}, {SIZE}),
                     dtype=np.float32))
def step():
    h = F.relu(F.conv2d(x, p["e1"], stride=2, padding=1))
    h = F.relu(F.conv2d(h, p["e2"], stride=2, padding=1))
    h = F.relu(F.conv_transpose2d(h, p["d1"], stride=2))
    loss = ((F.conv_transpose2d(h, p["d2"], stride=2, padding=1) - x) ** 2).mean()
    grads = torch.autograd.grad(loss, list(p.values()))
    with torch.no_grad():
        for a, g in zip(p.values(), grads):
            a -= 0.1 * g
    return loss.item()
for _ in range(3):
    step()
times = []
for _ in range({3 if QUICK else 20}):
    start = time.perf_counter(); step(); times.append((time.perf_counter() - start) * 1e3)
print(np.median(times))
"""
if importlib.util.find_spec("torch") is not None:
    out = subprocess.run([sys.executable, "-c", TORCH_STEP], capture_output=True, text=True)
    step_ms["torch"] = float(out.stdout.split()[-1])
    print(f"torch  {step_ms['torch']:8.2f} ms per training step")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
names_ = list(step_ms)
ax.bar(names_, [step_ms[n] for n in names_], color=[colors[n] for n in names_])
for i, n in enumerate(names_):
    ax.text(i, step_ms[n] * 1.02, f"{step_ms[n]:.1f} ms", ha="center", va="bottom", fontsize=8)
ax.set_ylabel("median ms per training step")
ax.set_title(
    f"encoder-decoder training step, batch {BATCH}, {SIZE}x{SIZE}, float32, "
    f"{jax.default_backend()} ({os.cpu_count()} cores); lower is better",
    fontsize=9,
)
ax.margins(y=0.2)
plt.tight_layout()
plt.show()

# %% [markdown]
# The plain-JAX step spends most of its time in XLA:CPU's gradients of the convolutions:
# the input gradient of each stride-2 conv is an `lhs_dilation` conv that multiplies the
# inserted zeros, each filter gradient a conv with an image-sized window. jconv's step runs
# the same model with its own derivations of every derivative (and oneDNN's kernel for the
# forward convs where it runs). The numbers are from the run stored with this notebook;
# `python -m jconv bench` times the separate layers at full size against PyTorch and
# TensorFlow.

# %% [markdown]
# ## Summary
#
# * `jax.grad`, `jax.jacfwd`, `jax.jacrev` and Hessian-vector products (`jax.jvp` of
#   `jax.grad`) go through `jconv.conv2d`, `jconv.conv2d_transpose` and
#   `jconv.torch.conv_transpose2d`; in float64 they match central finite differences to about
#   $10^{-10}$ and the plain `lax` formulations to rounding.
# * For $L = \sum g \odot \operatorname{conv2d\_transpose}(x, w)$:
#   $\partial L / \partial x = \operatorname{conv2d}(g, w)$ with the same filter, strides and
#   padding, and $\partial L / \partial w = \operatorname{conv2d\_backprop\_filter}(g,
#   w.\text{shape}, x)$ — the forward input and output gradient swap roles. Exact on
#   integer data.
# * A two-layer transposed-convolution decoder trains with a hand-written Adam step under
#   one `jax.jit`.
# * A whole encoder-decoder trains through `jconv.torch`'s forward and transposed convs with
#   jconv's derivatives of both; its step is timed against plain JAX and PyTorch above.
# * `jconv.bench.run` compares forward and training-step times with `lax.conv_transpose`
#   (and PyTorch/TensorFlow where installed); `python -m jconv bench` runs the full-size
#   workloads.
