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
# # Why 67? The classic Stack Overflow `conv2d_transpose` example
#
# A well-known Stack Overflow question feeds TensorFlow's `tf.nn.conv2d_transpose` a 2×2
# input and a 3×3 filter with stride 2 and `VALID` padding, asks for a 5×5 output, and gets
# **67** in the top-left corner. The asker expected **603 = (−67)·(−9)**, reading Figure 4.5
# of Dumoulin & Visin's *A guide to convolution arithmetic* as "insert zeros between the
# inputs, pad, slide the kernel over it".
#
# This notebook reproduces TensorFlow's numbers with `jconv`, draws the two equivalent
# pictures of the operation (every input element *stamps* the kernel; or a stride-1
# correlation with the kernel rotated by 180°), and checks that every derivation in `jconv`
# gives the same answer.

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
# ## The example
#
# The input $x$ has shape $(1, 2, 2, 1)$ (NHWC). The filter $w$ has shape $(3, 3, 1, 1)$: for
# a transposed convolution TensorFlow's filter layout is
# `(k_h, k_w, out_channels, in_channels)`, the layout of the forward convolution whose
# transpose this is.

# %%
x = np.array([[-67.0, -77.0], [-117.0, -127.0]], np.float32).reshape(1, 2, 2, 1)
w = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0], [-7.0, 8.0, -9.0]], np.float32).reshape(
    3, 3, 1, 1
)

y = np.asarray(jconv.conv2d_transpose(x, w, output_shape=(1, 5, 5, 1), strides=2, padding="VALID"))
print(y[0, :, :, 0])

# TensorFlow's result, as printed in the question
tf_result = np.array(
    [
        [67, -134, 278, -154, 231],
        [-268, 335, -710, 385, -462],
        [586, -770, 1620, -870, 1074],
        [-468, 585, -1210, 635, -762],
        [819, -936, 1942, -1016, 1143],
    ],
    np.float32,
)
np.testing.assert_array_equal(y[0, :, :, 0], tf_result)
print("top-left element:", y[0, 0, 0, 0])

# %% [markdown]
# ## The naive expectation: 603
#
# The guide's picture: insert $s - 1 = 1$ zero between neighbouring input elements, pad
# $k - 1 = 2$ zeros on every side, and slide a 3×3 window over the result with stride 1.
# That 7×7 grid is `jconv.pad_to_full(x, 3, strides=2)`. If each window is multiplied by
# $w$ *as written*, the top-left window holds only $-67$, in its bottom-right corner, where
# $w$ has $-9$:
#
# $$(-67)\cdot(-9) = 603 .$$
#
# That is a plain correlation (`jconv.conv2d`) of the padded grid with $w$, and it is not
# what TensorFlow computes:

# %%
full = np.asarray(jconv.pad_to_full(x, 3, strides=2))
print(full[0, :, :, 0])
naive = np.asarray(jconv.conv2d(full, w))
print(naive[0, :, :, 0])

# %% [markdown]
# ## Where the flip comes from
#
# `tf.nn.conv2d` is a cross-correlation. In one spatial dimension, with stride $s$ and no
# padding,
#
# $$\operatorname{conv}(x)_i = \sum_{t=0}^{k-1} x_{is+t}\, w_t .$$
#
# `conv2d_transpose` is the *transpose* of this linear map — the same op as its input
# gradient, `conv2d_backprop_input`: the map $\operatorname{conv}^\top$ with
# $\langle \operatorname{conv}^\top(y),\, x\rangle =
# \langle y,\, \operatorname{conv}(x)\rangle$ for all $x, y$. Reading off the coefficient
# of $x_j$ in $\langle y, \operatorname{conv}(x)\rangle$:
#
# $$\operatorname{conv}^\top(y)_j = \sum_{i,\,t\;:\; is + t = j} y_i\, w_t .$$
#
# So every input element $y_i$ **stamps the kernel, unflipped**, scaled by $y_i$, at offset
# $is$, and overlapping stamps add. In 2-D the top-left output is reached only by the stamp
# of $y_{0,0} = -67$, at tap $t = (0, 0)$ where $w_{0,0} = -1$:
#
# $$\operatorname{conv}^\top(y)_{0,0} = (-67)\cdot(-1) = 67 .$$
#
# The same sum as a sliding window: let $\tilde y$ be $y$ with $s - 1$ zeros between elements
# and $k - 1$ zeros on each side, so $\tilde y_{is + k - 1} = y_i$. Substituting
# $u = k - 1 - t$,
#
# $$\operatorname{conv}^\top(y)_j = \sum_{u=0}^{k-1} \tilde y_{j+u}\, w_{k-1-u} ,$$
#
# a stride-1 correlation of $\tilde y$ with the *reversed* kernel; in 2-D with
# $\operatorname{rot180}(w)$ (both spatial axes reversed). The guide's picture is right as a
# picture of an equivalent convolution, but the kernel that slides over the zero-inserted
# input is $\operatorname{rot180}(w)$, not the $w$ passed to `conv2d_transpose`. The naive
# 603 is the transposed convolution of the *rotated* filter:

# %%
naive_as_transpose = jconv.conv2d_transpose(
    x, jconv.rot180(w), (1, 5, 5, 1), strides=2, padding="VALID"
)
np.testing.assert_array_equal(naive_as_transpose, naive)
print(np.asarray(jconv.rot180(w))[:, :, 0, 0])


# %% [markdown]
# ## Picture 1: the overlay (scatter-add)
#
# Each of the four input elements scales the kernel $w$ and places it on the 5×5 canvas at
# offset $(2i, 2j)$; the output is the sum of the four canvases. Where stamps overlap (the
# middle row and column) they add, e.g. $y_{0,2} = (-67)(-3) + (-77)(-1) = 278$.


# %%
def stamp(value, w2, offset, out=(5, 5)):
    canvas = np.zeros(out)
    k0, k1 = w2.shape
    canvas[offset[0] : offset[0] + k0, offset[1] : offset[1] + k1] = value * w2
    return canvas


def show(ax, a, title, vmax, box=None, zeros=False):
    """Heat map with the values written in; box = (row, col, height, width)."""
    ax.imshow(a, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    for (r, c), v in np.ndenumerate(a):
        if v != 0 or zeros:
            ax.text(
                c,
                r,
                f"{v:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if abs(v) > 0.6 * vmax else "black" if v else "0.6",
            )
    if box is not None:
        r, c, h, wd = box
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), wd, h, fill=False, lw=2.5, ec="black"))
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


w2 = w[:, :, 0, 0]
stamps = {(i, j): stamp(x[0, i, j, 0], w2, (2 * i, 2 * j)) for i in range(2) for j in range(2)}
total = sum(stamps.values())
np.testing.assert_array_equal(total, y[0, :, :, 0])

vmax = np.abs(total).max()
fig, axes = plt.subplots(1, 5, figsize=(12.5, 2.9))
for ax, ((i, j), canvas) in zip(axes, stamps.items()):
    show(
        ax, canvas, f"{x[0, i, j, 0]:.0f} · w at ({2 * i}, {2 * j})", vmax, box=(2 * i, 2 * j, 3, 3)
    )
show(axes[4], total, "sum = conv2d_transpose", vmax, box=(0, 0, 1, 1))
fig.suptitle("Each input element stamps the unflipped kernel; top-left = (−67)·(−1) = 67")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Picture 2: zeros, padding and the rotated kernel
#
# The same numbers as a stride-1 `VALID` correlation of the zero-inserted, padded input with
# $\operatorname{rot180}(w)$. The top-left window (black box) contains one non-zero, $-67$,
# in its bottom-right corner. Under $\operatorname{rot180}(w)$ that corner holds $w_{0,0} =
# -1$, giving 67; under $w$ as written it holds $-9$, giving the naive 603.

# %%
via_rot = np.asarray(jconv.conv2d(full, jconv.rot180(w)))
np.testing.assert_array_equal(via_rot, y)

window = full[0, :3, :3, 0]
rot = np.asarray(jconv.rot180(w))[:, :, 0, 0]
print("sum(window * rot180(w)) =", (window * rot).sum(), "  sum(window * w) =", (window * w2).sum())

fig, axes = plt.subplots(1, 5, figsize=(12.5, 2.9))
show(axes[0], full[0, :, :, 0], "pad_to_full(x, 3, strides=2)", 130, box=(0, 0, 3, 3), zeros=True)
show(axes[1], rot, "rot180(w): slides (TF)", 10, box=(2, 2, 1, 1))
show(axes[2], via_rot[0, :, :, 0], "conv2d(full, rot180(w)): 67", vmax, box=(0, 0, 1, 1))
show(axes[3], w2, "w as written (naive)", 10, box=(2, 2, 1, 1))
show(axes[4], naive[0, :, :, 0], "conv2d(full, w): 603", np.abs(naive).max(), box=(0, 0, 1, 1))
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Every derivation agrees
#
# `jconv` computes the transposed convolution several independent ways
# (`jconv.TRANSPOSE_METHODS`): a convolution with `lhs_dilation` (zeros inserted by XLA),
# `jax.vjp` of the forward convolution, the explicit `pad_to_full` + `rot180`
# construction above, the sub-pixel "phase" form, "col2im" (one matmul makes every
# tap's contribution, which is then added at its output row) and "winograd" (the phase
# form with Winograd's F(2, 2): 3 products per 2 output rows instead of 4).
# `jconv.reference.conv_transpose` is a plain NumPy loop written as the
# overlay of Picture 1. All of them, the input gradient `conv2d_backprop_input`, and
# autodiff of `conv2d` give TensorFlow's numbers exactly.

# %%
kw = dict(strides=2, padding="VALID")
results = {
    f"conv2d_transpose(method={m!r})": jconv.conv2d_transpose(x, w, (1, 5, 5, 1), method=m, **kw)
    for m in jconv.TRANSPOSE_METHODS
}
results["conv2d_backprop_input"] = jconv.conv2d_backprop_input((1, 5, 5, 1), w, x, **kw)
results["reference.conv_transpose (NumPy loops)"] = reference.conv_transpose(x, w, (5, 5), **kw)
_, pullback = jax.vjp(lambda z: jconv.conv2d(z, w, **kw), jnp.zeros((1, 5, 5, 1)))
results["jax.vjp of conv2d"] = pullback(x)[0]
results["conv2d(pad_to_full(x), rot180(w))"] = via_rot

print("TRANSPOSE_METHODS =", jconv.TRANSPOSE_METHODS)
for name, r in results.items():
    r = np.asarray(r)
    np.testing.assert_array_equal(r, y)
    print(f"{name:42s} top-left {r[0, 0, 0, 0]:5.0f}   equal to TensorFlow: True")

# %% [markdown]
# ## Five rows or six?
#
# The forward `VALID` convolution maps $n$ rows to $m = \lfloor (n - k)/s \rfloor + 1$ rows;
# with $k = 3$, $s = 2$ both $n = 5$ and $n = 6$ give $m = 2$. The transposed convolution
# cannot tell which one is meant, which is why TensorFlow takes an `output_shape`. The legal
# sizes are
#
# $$(m - 1)\,s + k \;\le\; n \;\le\; (m - 1)\,s + k + s - 1 ,$$
#
# here $5 \le n \le 6$, and `jconv.conv_transpose_output_shapes` lists them per dimension.
# With 6 rows the sixth is never read by the forward convolution, so its gradient is zero:
# the 6×5 result is the 5×5 one plus a row of zeros. Without `output_shape`, `jconv` picks
# Keras' default $ms + \max(k - s, 0) = 5$.

# %%
print(
    "legal (min, max) per spatial dim:",
    jconv.conv_transpose_output_shapes((2, 2), 3, strides=2, padding="VALID"),
)

y6 = np.asarray(jconv.conv2d_transpose(x, w, output_shape=(1, 6, 5, 1), **kw))
print(y6[0, :, :, 0])
np.testing.assert_array_equal(y6[:, :5], y)
np.testing.assert_array_equal(y6[:, 5], 0)
np.testing.assert_array_equal(y6, reference.conv_transpose(x, w, (6, 5), **kw))

print("default output shape:", jconv.conv2d_transpose(x, w, **kw).shape)

# %% [markdown]
# An output size outside the range is rejected with the range in the message:

# %%
try:
    jconv.conv2d_transpose(x, w, output_shape=(1, 7, 5, 1), **kw)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## Summary
#
# * `conv2d_transpose(y, w)` is the transpose (input gradient) of the correlation
#   `conv2d(·, w)`: each input element stamps $w$ **unflipped** at stride offsets, so the
#   top-left output is $(-67)\cdot(-1) = 67$.
# * Written as a sliding window over the zero-inserted, fully padded input, the kernel that
#   slides is $\operatorname{rot180}(w)$. Sliding $w$ itself gives the naive 603, which is
#   `conv2d_transpose` of $\operatorname{rot180}(w)$.
# * For stride $s > 1$ up to $s$ output sizes are legal; choose one with `output_shape`.
