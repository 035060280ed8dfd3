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
# # Four ops, one convolution
#
# TensorFlow has four closely related 2-D functions: `conv2d`, `conv2d_backprop_input`,
# `conv2d_backprop_filter` and `conv2d_transpose`. They are all convolutions; they differ in
# which arrays play input and kernel, a rotation or a transpose of axes, and where strides
# and padding end up. With the forward pass (a cross-correlation, channels last)
#
# $$y[b, i, o] = \sum_{t, c} x_\text{pad}[b,\, is + t,\, c]\; w[t, c, o]$$
#
# and a loss $L$ with output gradient $dy = \partial L / \partial y$, the chain rule gives
#
# $$dx[b, j, c] = \sum_{\substack{i, t \\ is + t - \text{lo} = j}} \sum_o
#   dy[b, i, o]\; w[t, c, o],
# \qquad
# dw[t, c, o] = \sum_{b, i} x_\text{pad}[b,\, is + t,\, c]\; dy[b, i, o],$$
#
# where $i$, $t$, $j$ are 2-D positions and $\text{lo}$ is the padding before the input.
# `conv2d_backprop_input` computes $dx$, and `conv2d_transpose` is the same op with its
# arguments in another order. `conv2d_backprop_filter` computes $dw$.
#
# This notebook computes each of them every way `jconv` offers and checks they agree:
# JAX autodiff, the classic hand-written identities with `rot180`, `pad_to_full` and
# `nhwc_to_hwio`, and every method in `jconv.TRANSPOSE_METHODS` /
# `jconv.FILTER_GRAD_METHODS`. Then it shows the transposed convolution as the transpose of
# a matrix.

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import jconv
from jconv import reference

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "font.size": 9})
np.set_printoptions(linewidth=110, suppress=True)

# %% [markdown]
# Inputs are small integers stored as `float32`: every product and sum is then exact, so the
# derivations can be compared with `==` instead of a tolerance.

# %%
rng = np.random.default_rng(0)


def ints(*shape):
    return rng.integers(-4, 5, size=shape).astype(np.float32)


def grads(x, w, dy, **kw):
    """(dx, dw) by JAX autodiff of jconv.conv2d."""
    _, pullback = jax.vjp(lambda x, w: jconv.conv2d(x, w, **kw), x, w)
    return pullback(dy)


# %% [markdown]
# ## Stride 1, `VALID`: the classic identities
#
# With stride 1 and no padding the two gradients are plain `VALID` convolutions:
#
# * **Input gradient.** Pad $dy$ by $k - 1$ zeros on each side (`pad_to_full`, the "full"
#   convolution) and correlate it with the rotated kernel. The filter maps $C_\text{in}$ to
#   $C_\text{out}$ channels and the gradient goes back, so its two channel axes are swapped:
#   $$dx = \operatorname{conv2d}\big(\operatorname{pad\_to\_full}(dy, k),\;
#          \operatorname{rot180}(w)^{\top_{io}}\big).$$
# * **Filter gradient.** $dw[t, c, o] = \sum_{b,i} x[b, i+t, c]\, dy[b, i, o]$ is a
#   correlation of $x$ with $dy$ in which the batch is summed like a channel. Swap batch and
#   channels of $x$ (its channels become the batch) and use $dy$ as a filter, batch as its
#   input-channel axis (`nhwc_to_hwio`: $(N, H, W, C) \to (H, W, N, C)$):
#   $$dw = \operatorname{nhwc\_to\_hwio}\Big(\operatorname{conv2d}\big(x^{\top_{bc}},\;
#          \operatorname{nhwc\_to\_hwio}(dy)\big)\Big).$$
#   $x^{\top_{bc}}$ is `jnp.swapaxes(x, 0, -1)`, shape $(C_\text{in}, H, W, N)$.

# %%
x, w = ints(2, 6, 7, 3), ints(3, 3, 3, 4)  # 2 images, 3 -> 4 channels
dy = ints(*jconv.conv2d(x, w).shape)
dx_ad, dw_ad = grads(x, w, dy)

dx_manual = jconv.conv2d(jconv.pad_to_full(dy, 3), jnp.swapaxes(jconv.rot180(w), -1, -2))
dw_manual = jconv.nhwc_to_hwio(jconv.conv2d(jnp.swapaxes(x, 0, -1), jconv.nhwc_to_hwio(dy)))

checks = {
    "dx: pad_to_full + rot180": (dx_manual, dx_ad),
    "dx: conv2d_backprop_input": (jconv.conv2d_backprop_input(x.shape, w, dy), dx_ad),
    "dx: conv2d_transpose": (jconv.conv2d_transpose(dy, w, x.shape, padding="VALID"), dx_ad),
    "dw: nhwc_to_hwio identity": (dw_manual, dw_ad),
    "dw: conv2d_backprop_filter": (jconv.conv2d_backprop_filter(x, w.shape, dy), dw_ad),
}
print("x", x.shape, " w", w.shape, " dy", dy.shape, " dx", dx_ad.shape, " dw", dw_ad.shape)
for name, (got, want) in checks.items():
    np.testing.assert_array_equal(got, want)
    print(f"{name:30s} == jax.vjp: True")


# %% [markdown]
# ## Strides and padding
#
# With stride $s$ the forward window moves by $s$. In the input gradient this becomes
# $s - 1$ zeros inserted between the rows of $dy$ (`pad_to_full(dy, k, strides=s)`); in the
# filter gradient it becomes a *dilation* of $dy$ used as a kernel:
# $dw[t] = \sum_i x[is + t]\, dy[i]$ reads $x$ at taps $s$ apart. These two hand-written
# forms hold as they stand when the forward `VALID` windows cover the input exactly,
# $n = (m - 1)s + k$; otherwise rows the forward pass never read, or padding, need cropping,
# which the library's methods do.
#
# The grid below runs strides 1 and 2, `VALID` and `SAME`, and two kernels (the even sizes
# make `SAME`'s total padding odd, the extra row going after the input), comparing against
# `jax.vjp`:
#
# * `dx`: `conv2d_backprop_input` and `conv2d_transpose` with every method, the NumPy
#   reference, and the manual identity where it applies;
# * `dw`: `conv2d_backprop_filter` with every method, the NumPy reference, and the manual
#   identity where it applies.


# %%
def manual_grads(x, w, dy, s):
    """Hand-written dx and dw for VALID windows that tile the input exactly."""
    k = w.shape[:2]
    dx = jconv.conv2d(jconv.pad_to_full(dy, k, strides=s), jnp.swapaxes(jconv.rot180(w), -1, -2))
    dw = jconv.nhwc_to_hwio(
        jconv.conv2d(jnp.swapaxes(x, 0, -1), jconv.nhwc_to_hwio(dy), dilations=s)
    )
    return dx, dw


x = ints(2, 7, 9, 3)
rows = []
for k in [(3, 3), (2, 4)]:
    w = ints(*k, 3, 4)
    for s in [1, 2]:
        for padding in ["VALID", "SAME"]:
            kw = dict(strides=s, padding=padding)
            dy = ints(*jconv.conv2d(x, w, **kw).shape)
            dx_ad, dw_ad = grads(x, w, dy, **kw)
            dx = {"ref": reference.conv_backprop_input(x.shape, w, dy, **kw)}
            for m in jconv.TRANSPOSE_METHODS:
                dx[f"bi:{m}"] = jconv.conv2d_backprop_input(x.shape, w, dy, method=m, **kw)
                dx[f"tr:{m}"] = jconv.conv2d_transpose(dy, w, x.shape, method=m, **kw)
            dw = {"ref": reference.conv_backprop_filter(x, w.shape, dy, **kw)}
            for m in jconv.FILTER_GRAD_METHODS:
                dw[f"bf:{m}"] = jconv.conv2d_backprop_filter(x, w.shape, dy, method=m, **kw)
            tight = padding == "VALID" and all(
                (mi - 1) * s + ki == ni for mi, ki, ni in zip(dy.shape[1:3], k, x.shape[1:3])
            )
            if tight:
                dx["manual"], dw["manual"] = manual_grads(x, w, dy, s)
            for name, got in dx.items():
                np.testing.assert_array_equal(got, dx_ad, err_msg=f"dx {name} {k} {kw}")
            for name, got in dw.items():
                np.testing.assert_array_equal(got, dw_ad, err_msg=f"dw {name} {k} {kw}")
            rows.append(
                (f"k={k} s={s} {padding}", dy.shape[1:3], len(dx), len(dw), "yes" if tight else "-")
            )

print("bi = conv2d_backprop_input, tr = conv2d_transpose, bf = conv2d_backprop_filter")
print("TRANSPOSE_METHODS   =", jconv.TRANSPOSE_METHODS)
print("FILTER_GRAD_METHODS =", jconv.FILTER_GRAD_METHODS)
print(f"{'config':22s} {'dy (h, w)':10s} {'#dx ways':>9s} {'#dw ways':>9s}  manual")
for cfg, m, ndx, ndw, tight in rows:
    print(f"{cfg:22s} {str(m):10s} {ndx + 1:9d} {ndw + 1:9d}  {tight}")
print("every way equal to jax.vjp, exactly")

# %% [markdown]
# (The counts include `jax.vjp` itself.) `jax.grad` of a scalar loss is the same pullback:
# for $L = \sum y \odot dy$, $\partial L/\partial x = dx$.

# %%
k, s, padding = (3, 3), 2, "SAME"
w = ints(*k, 3, 4)
dy = ints(*jconv.conv2d(x, w, strides=s, padding=padding).shape)
loss = lambda x, w: jnp.sum(jconv.conv2d(x, w, strides=s, padding=padding) * dy)
gx, gw = jax.grad(loss, argnums=(0, 1))(x, w)
np.testing.assert_array_equal(
    gx, jconv.conv2d_backprop_input(x.shape, w, dy, strides=s, padding=padding)
)
np.testing.assert_array_equal(
    gw, jconv.conv2d_backprop_filter(x, w.shape, dy, strides=s, padding=padding)
)
print("jax.grad matches conv2d_backprop_input and conv2d_backprop_filter")

# %% [markdown]
# ## The matrix view
#
# For a fixed filter the convolution is linear in its input: $\operatorname{vec}(y) =
# C\,\operatorname{vec}(x)$. Column $j$ of $C$ is the convolution of the $j$-th basis image
# (a single 1 at pixel $j$), so all columns come from one batched call on the identity matrix
# reshaped into images. For a 4×4 input, a 3×3 kernel, stride 2 and `SAME` padding
# (one row and column of zeros after the input), $y$ is 2×2 and $C$ is $4 \times 16$: each
# row is the kernel laid over the 4×4 input at a stride-2 offset, flattened row by row (so a
# 3×3 kernel shows up as three runs of three, four apart; windows that reach into the padding
# lose their last row or column).
#
# The transposed convolution's matrix, built the same way from the 2×2 basis images, is
# $C^\top$ exactly; that is where the name comes from. Column $i$ of $C^\top$ is row $i$ of
# $C$, the kernel laid unflipped over window $i$: the stamp of input element $y_i$ in the
# overlay picture of the first notebook.

# %%
w = ints(3, 3, 1, 1)
n_in, n_out = 16, 4
kw = dict(strides=2, padding="SAME")

basis_in = np.eye(n_in, dtype=np.float32).reshape(n_in, 4, 4, 1)
C = np.asarray(jconv.conv2d(basis_in, w, **kw)).reshape(n_in, n_out).T

basis_out = np.eye(n_out, dtype=np.float32).reshape(n_out, 2, 2, 1)
T = np.asarray(jconv.conv2d_transpose(basis_out, w, (n_out, 4, 4, 1), **kw))
T = T.reshape(n_out, n_in).T

np.testing.assert_allclose(T, C.T)
print("C:", C.shape, "  matrix of conv2d_transpose:", T.shape, "  equal to C.T: True")
print("w =\n", w[:, :, 0, 0])

# %%
vmax = np.abs(C).max()
fig, axes = plt.subplot_mosaic(
    [["C", "C", "C"], ["CT", "T", "D"]], figsize=(9, 7.5), height_ratios=[1, 2.6]
)
panels = {
    "C": (C, "C = matrix of conv2d (4 × 16): row i = kernel at window i"),
    "CT": (C.T, "C.T (16 × 4)"),
    "T": (T, "matrix of\nconv2d_transpose (16 × 4)"),
    "D": (C.T - T, "C.T minus it:\nall zero"),
}
for key, (a, title) in panels.items():
    ax = axes[key]
    ax.imshow(a, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    for (r, c), v in np.ndenumerate(a):
        if v != 0:
            ax.text(
                c,
                r,
                f"{v:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if abs(v) > 0.6 * vmax else "black",
            )
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# JAX agrees from two more directions: `jax.jacobian` of `conv2d` is $C$, and
# `jax.linear_transpose` of `conv2d` — JAX transposing the linear map itself — has matrix
# $C^\top$. The adjoint identity $\langle y, Cx\rangle = \langle C^\top y, x\rangle$ holds on
# random data.

# %%
conv = lambda x: jconv.conv2d(x, w, **kw)
J = np.asarray(jax.jacobian(conv)(jnp.zeros((1, 4, 4, 1)))).reshape(n_out, n_in)
np.testing.assert_allclose(J, C)

conv_T = jax.linear_transpose(conv, jnp.zeros((1, 4, 4, 1), jnp.float32))
LT = np.stack([np.asarray(conv_T(b[None])[0]).ravel() for b in basis_out], axis=1)
np.testing.assert_allclose(LT, C.T)

xr, yr = ints(1, 4, 4, 1), ints(1, 2, 2, 1)
lhs = float(jnp.vdot(yr, conv(xr)))
rhs = float(jnp.vdot(jconv.conv2d_transpose(yr, w, (1, 4, 4, 1), **kw), xr))
assert lhs == rhs
print("jacobian == C, linear_transpose == C.T, <y, Cx> =", lhs, "= <C.T y, x> =", rhs)

# %% [markdown]
# ## Summary
#
# | op | what it is | as a convolution (stride 1, `VALID`) |
# |---|---|---|
# | `conv2d(x, w)` | $y = Cx$ | correlation of $x$ with $w$ |
# | `conv2d_backprop_input(x.shape, w, dy)` | $dx = C^\top dy$ | (1) |
# | `conv2d_transpose(dy, w, x.shape)` | the same, TF's argument order | (1) |
# | `conv2d_backprop_filter(x, w.shape, dy)` | $dw$ | (2) |
#
# (1) $\operatorname{conv2d}\big(\operatorname{pad\_to\_full}(dy),\,
# \operatorname{rot180}(w)^{\top_{io}}\big)$
#
# (2) $\operatorname{nhwc\_to\_hwio}\big(\operatorname{conv2d}(x^{\top_{bc}},\,
# \operatorname{nhwc\_to\_hwio}(dy))\big)$
#
# With stride $s$, the stride turns into zero insertion in $dx$ and into a dilation of $dy$
# in $dw$; padding turns into cropping. All of `jconv`'s derivations agree with each other,
# with JAX's autodiff and with the NumPy loops, bit for bit on integer-valued data.
