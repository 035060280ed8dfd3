"""Write the exploration notebooks from the cell sources below, execute them, store the outputs.

Usage (from the repository root)::

    python notebooks/_build.py              # build and execute every notebook
    python notebooks/_build.py 01_why_67    # only the named ones
    python notebooks/_build.py --no-execute # write the cells without outputs

Each notebook is a list of cells, each cell a markdown (``md``) or code (``code``) string. The
kernel runs in this folder with the repository root on ``PYTHONPATH``, so the working tree's
``jconv`` is the one imported. Cell ids are fixed and timing metadata is not recorded, so a
rebuild changes the files only where the cells or their outputs change.
"""

# Markdown tables and display formulas in the cell sources cannot be wrapped at 100 columns.
# ruff: noqa: E501

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CELL_TIMEOUT_S = 120


def md(source: str) -> tuple[str, str]:
    return "markdown", textwrap.dedent(source).strip("\n")


def code(source: str) -> tuple[str, str]:
    return "code", textwrap.dedent(source).strip("\n")


SETTINGS = """
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "font.size": 9})
np.set_printoptions(linewidth=110, suppress=True)
""".strip("\n")


def setup(imports: str) -> tuple[str, str]:
    """The first code cell: the notebook's imports, then figure and print settings."""
    kind, source = code(imports)
    return kind, f"{source}\n\n{SETTINGS}"


SETUP = setup(
    """
    import jax
    import jax.numpy as jnp
    import matplotlib.pyplot as plt
    import numpy as np

    import jconv
    from jconv import reference
    """
)

# ---------------------------------------------------------------------------------------------

WHY_67 = [
    md(
        r"""
        # Why 67? The classic `conv2d_transpose` example

        A well-known Stack Overflow question feeds TensorFlow's `tf.nn.conv2d_transpose` a 2×2
        input and a 3×3 filter with stride 2 and `VALID` padding, asks for a 5×5 output, and gets
        **67** in the top-left corner. The asker expected **603 = (−67)·(−9)**, reading Figure 4.5
        of Dumoulin & Visin's *A guide to convolution arithmetic* as "insert zeros between the
        inputs, pad, slide the kernel over it".

        This notebook reproduces TensorFlow's numbers with `jconv`, draws the two equivalent
        pictures of the operation (every input element *stamps* the kernel; or a stride-1
        correlation with the kernel rotated by 180°), and checks that every derivation in `jconv`
        gives the same answer.
        """
    ),
    SETUP,
    md(
        r"""
        ## The example

        The input $x$ has shape $(1, 2, 2, 1)$ (NHWC). The filter $w$ has shape $(3, 3, 1, 1)$: for
        a transposed convolution TensorFlow's filter layout is
        `(k_h, k_w, out_channels, in_channels)`, the layout of the forward convolution whose
        transpose this is.
        """
    ),
    code(
        """
        x = np.array([[-67.0, -77.0], [-117.0, -127.0]], np.float32).reshape(1, 2, 2, 1)
        w = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0], [-7.0, 8.0, -9.0]],
                     np.float32).reshape(3, 3, 1, 1)

        y = np.asarray(jconv.conv2d_transpose(x, w, output_shape=(1, 5, 5, 1), strides=2,
                                              padding="VALID"))
        print(y[0, :, :, 0])

        # TensorFlow's result, as printed in the question
        tf_result = np.array([[67, -134, 278, -154, 231],
                              [-268, 335, -710, 385, -462],
                              [586, -770, 1620, -870, 1074],
                              [-468, 585, -1210, 635, -762],
                              [819, -936, 1942, -1016, 1143]], np.float32)
        np.testing.assert_array_equal(y[0, :, :, 0], tf_result)
        print("top-left element:", y[0, 0, 0, 0])
        """
    ),
    md(
        r"""
        ## The naive expectation: 603

        The guide's picture: insert $s - 1 = 1$ zero between neighbouring input elements, pad
        $k - 1 = 2$ zeros on every side, and slide a 3×3 window over the result with stride 1.
        That 7×7 grid is `jconv.pad_to_full(x, 3, strides=2)`. If each window is multiplied by
        $w$ *as written*, the top-left window holds only $-67$, in its bottom-right corner, where
        $w$ has $-9$:

        $$(-67)\cdot(-9) = 603 .$$

        That is a plain correlation (`jconv.conv2d`) of the padded grid with $w$, and it is not
        what TensorFlow computes:
        """
    ),
    code(
        """
        full = np.asarray(jconv.pad_to_full(x, 3, strides=2))
        print(full[0, :, :, 0])
        naive = np.asarray(jconv.conv2d(full, w))
        print(naive[0, :, :, 0])
        """
    ),
    md(
        r"""
        ## Where the flip comes from

        `tf.nn.conv2d` is a cross-correlation. In one spatial dimension, with stride $s$ and no
        padding,

        $$\operatorname{conv}(x)_i = \sum_{t=0}^{k-1} x_{is+t}\, w_t .$$

        `conv2d_transpose` is the *transpose* of this linear map — the same op as its input
        gradient, `conv2d_backprop_input`: the map $\operatorname{conv}^\top$ with
        $\langle \operatorname{conv}^\top(y),\, x\rangle =
        \langle y,\, \operatorname{conv}(x)\rangle$ for all $x, y$. Reading off the coefficient
        of $x_j$ in $\langle y, \operatorname{conv}(x)\rangle$:

        $$\operatorname{conv}^\top(y)_j = \sum_{i,\,t\;:\; is + t = j} y_i\, w_t .$$

        So every input element $y_i$ **stamps the kernel, unflipped**, scaled by $y_i$, at offset
        $is$, and overlapping stamps add. In 2-D the top-left output is reached only by the stamp
        of $y_{0,0} = -67$, at tap $t = (0, 0)$ where $w_{0,0} = -1$:

        $$\operatorname{conv}^\top(y)_{0,0} = (-67)\cdot(-1) = 67 .$$

        The same sum as a sliding window: let $\tilde y$ be $y$ with $s - 1$ zeros between elements
        and $k - 1$ zeros on each side, so $\tilde y_{is + k - 1} = y_i$. Substituting
        $u = k - 1 - t$,

        $$\operatorname{conv}^\top(y)_j = \sum_{u=0}^{k-1} \tilde y_{j+u}\, w_{k-1-u} ,$$

        a stride-1 correlation of $\tilde y$ with the *reversed* kernel; in 2-D with
        $\operatorname{rot180}(w)$ (both spatial axes reversed). The guide's picture is right as a
        picture of an equivalent convolution, but the kernel that slides over the zero-inserted
        input is $\operatorname{rot180}(w)$, not the $w$ passed to `conv2d_transpose`. The naive
        603 is the transposed convolution of the *rotated* filter:
        """
    ),
    code(
        """
        naive_as_transpose = jconv.conv2d_transpose(x, jconv.rot180(w), (1, 5, 5, 1), strides=2,
                                                    padding="VALID")
        np.testing.assert_array_equal(naive_as_transpose, naive)
        print(np.asarray(jconv.rot180(w))[:, :, 0, 0])
        """
    ),
    md(
        r"""
        ## Picture 1: the overlay (scatter-add)

        Each of the four input elements scales the kernel $w$ and places it on the 5×5 canvas at
        offset $(2i, 2j)$; the output is the sum of the four canvases. Where stamps overlap (the
        middle row and column) they add, e.g. $y_{0,2} = (-67)(-3) + (-77)(-1) = 278$.
        """
    ),
    code(
        """
        def stamp(value, w2, offset, out=(5, 5)):
            canvas = np.zeros(out)
            k0, k1 = w2.shape
            canvas[offset[0]:offset[0] + k0, offset[1]:offset[1] + k1] = value * w2
            return canvas


        def show(ax, a, title, vmax, box=None, zeros=False):
            \"\"\"Heat map with the values written in; box = (row, col, height, width).\"\"\"
            ax.imshow(a, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            for (r, c), v in np.ndenumerate(a):
                if v != 0 or zeros:
                    ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(v) > 0.6 * vmax else "black" if v else "0.6")
            if box is not None:
                r, c, h, wd = box
                ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), wd, h, fill=False, lw=2.5,
                                           ec="black"))
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])


        w2 = w[:, :, 0, 0]
        stamps = {(i, j): stamp(x[0, i, j, 0], w2, (2 * i, 2 * j))
                  for i in range(2) for j in range(2)}
        total = sum(stamps.values())
        np.testing.assert_array_equal(total, y[0, :, :, 0])

        vmax = np.abs(total).max()
        fig, axes = plt.subplots(1, 5, figsize=(12.5, 2.9))
        for ax, ((i, j), canvas) in zip(axes, stamps.items()):
            show(ax, canvas, f"{x[0, i, j, 0]:.0f} · w at ({2 * i}, {2 * j})", vmax,
                 box=(2 * i, 2 * j, 3, 3))
        show(axes[4], total, "sum = conv2d_transpose", vmax, box=(0, 0, 1, 1))
        fig.suptitle("Each input element stamps the unflipped kernel; top-left = (−67)·(−1) = 67")
        plt.tight_layout()
        plt.show()
        """
    ),
    md(
        r"""
        ## Picture 2: zeros, padding and the rotated kernel

        The same numbers as a stride-1 `VALID` correlation of the zero-inserted, padded input with
        $\operatorname{rot180}(w)$. The top-left window (black box) contains one non-zero, $-67$,
        in its bottom-right corner. Under $\operatorname{rot180}(w)$ that corner holds $w_{0,0} =
        -1$, giving 67; under $w$ as written it holds $-9$, giving the naive 603.
        """
    ),
    code(
        """
        via_rot = np.asarray(jconv.conv2d(full, jconv.rot180(w)))
        np.testing.assert_array_equal(via_rot, y)

        window = full[0, :3, :3, 0]
        rot = np.asarray(jconv.rot180(w))[:, :, 0, 0]
        print("sum(window * rot180(w)) =", (window * rot).sum(), "  sum(window * w) =",
              (window * w2).sum())

        fig, axes = plt.subplots(1, 5, figsize=(12.5, 2.9))
        show(axes[0], full[0, :, :, 0], "pad_to_full(x, 3, strides=2)", 130, box=(0, 0, 3, 3),
             zeros=True)
        show(axes[1], rot, "rot180(w): slides (TF)", 10, box=(2, 2, 1, 1))
        show(axes[2], via_rot[0, :, :, 0], "conv2d(full, rot180(w)): 67", vmax, box=(0, 0, 1, 1))
        show(axes[3], w2, "w as written (naive)", 10, box=(2, 2, 1, 1))
        show(axes[4], naive[0, :, :, 0], "conv2d(full, w): 603", np.abs(naive).max(),
             box=(0, 0, 1, 1))
        plt.tight_layout()
        plt.show()
        """
    ),
    md(
        r"""
        ## Every derivation agrees

        `jconv` computes the transposed convolution several independent ways
        (`jconv.TRANSPOSE_METHODS`): a convolution with `lhs_dilation` (zeros inserted by XLA),
        `jax.vjp` of the forward convolution, the explicit `pad_to_full` + `rot180`
        construction above, the sub-pixel "phase" form, "col2im" (one matmul makes every
        tap's contribution, which is then added at its output row) and "winograd" (the phase
        form with Winograd's F(2, 2): 3 products per 2 output rows instead of 4).
        `jconv.reference.conv_transpose` is a plain NumPy loop written as the
        overlay of Picture 1. All of them, the input gradient `conv2d_backprop_input`, and
        autodiff of `conv2d` give TensorFlow's numbers exactly.
        """
    ),
    code(
        """
        kw = dict(strides=2, padding="VALID")
        results = {f"conv2d_transpose(method={m!r})":
                   jconv.conv2d_transpose(x, w, (1, 5, 5, 1), method=m, **kw)
                   for m in jconv.TRANSPOSE_METHODS}
        results["conv2d_backprop_input"] = jconv.conv2d_backprop_input((1, 5, 5, 1), w, x, **kw)
        results["reference.conv_transpose (NumPy loops)"] = reference.conv_transpose(
            x, w, (5, 5), **kw)
        _, pullback = jax.vjp(lambda z: jconv.conv2d(z, w, **kw), jnp.zeros((1, 5, 5, 1)))
        results["jax.vjp of conv2d"] = pullback(x)[0]
        results["conv2d(pad_to_full(x), rot180(w))"] = via_rot

        print("TRANSPOSE_METHODS =", jconv.TRANSPOSE_METHODS)
        for name, r in results.items():
            r = np.asarray(r)
            np.testing.assert_array_equal(r, y)
            print(f"{name:42s} top-left {r[0, 0, 0, 0]:5.0f}   equal to TensorFlow: True")
        """
    ),
    md(
        r"""
        ## Five rows or six?

        The forward `VALID` convolution maps $n$ rows to $m = \lfloor (n - k)/s \rfloor + 1$ rows;
        with $k = 3$, $s = 2$ both $n = 5$ and $n = 6$ give $m = 2$. The transposed convolution
        cannot tell which one is meant, which is why TensorFlow takes an `output_shape`. The legal
        sizes are

        $$(m - 1)\,s + k \;\le\; n \;\le\; (m - 1)\,s + k + s - 1 ,$$

        here $5 \le n \le 6$, and `jconv.conv_transpose_output_shapes` lists them per dimension.
        With 6 rows the sixth is never read by the forward convolution, so its gradient is zero:
        the 6×5 result is the 5×5 one plus a row of zeros. Without `output_shape`, `jconv` picks
        Keras' default $ms + \max(k - s, 0) = 5$.
        """
    ),
    code(
        """
        print("legal (min, max) per spatial dim:",
              jconv.conv_transpose_output_shapes((2, 2), 3, strides=2, padding="VALID"))

        y6 = np.asarray(jconv.conv2d_transpose(x, w, output_shape=(1, 6, 5, 1), **kw))
        print(y6[0, :, :, 0])
        np.testing.assert_array_equal(y6[:, :5], y)
        np.testing.assert_array_equal(y6[:, 5], 0)
        np.testing.assert_array_equal(y6, reference.conv_transpose(x, w, (6, 5), **kw))

        print("default output shape:", jconv.conv2d_transpose(x, w, **kw).shape)
        """
    ),
    md("An output size outside the range is rejected with the range in the message:"),
    code(
        """
        try:
            jconv.conv2d_transpose(x, w, output_shape=(1, 7, 5, 1), **kw)
        except ValueError as err:
            print("ValueError:", err)
        """
    ),
    md(
        r"""
        ## Summary

        * `conv2d_transpose(y, w)` is the transpose (input gradient) of the correlation
          `conv2d(·, w)`: each input element stamps $w$ **unflipped** at stride offsets, so the
          top-left output is $(-67)\cdot(-1) = 67$.
        * Written as a sliding window over the zero-inserted, fully padded input, the kernel that
          slides is $\operatorname{rot180}(w)$. Sliding $w$ itself gives the naive 603, which is
          `conv2d_transpose` of $\operatorname{rot180}(w)$.
        * For stride $s > 1$ up to $s$ output sizes are legal; choose one with `output_shape`.
        """
    ),
]

# ---------------------------------------------------------------------------------------------

FOUR_OPS = [
    md(
        r"""
        # Four ops, one convolution

        TensorFlow has four closely related 2-D functions: `conv2d`, `conv2d_backprop_input`,
        `conv2d_backprop_filter` and `conv2d_transpose`. They are all convolutions; they differ in
        which arrays play input and kernel, a rotation or a transpose of axes, and where strides
        and padding end up. With the forward pass (a cross-correlation, channels last)

        $$y[b, i, o] = \sum_{t, c} x_\text{pad}[b,\, is + t,\, c]\; w[t, c, o]$$

        and a loss $L$ with output gradient $dy = \partial L / \partial y$, the chain rule gives

        $$dx[b, j, c] = \sum_{\substack{i, t \\ is + t - \text{lo} = j}} \sum_o
          dy[b, i, o]\; w[t, c, o],
        \qquad
        dw[t, c, o] = \sum_{b, i} x_\text{pad}[b,\, is + t,\, c]\; dy[b, i, o],$$

        where $i$, $t$, $j$ are 2-D positions and $\text{lo}$ is the padding before the input.
        `conv2d_backprop_input` computes $dx$, and `conv2d_transpose` is the same op with its
        arguments in another order. `conv2d_backprop_filter` computes $dw$.

        This notebook computes each of them every way `jconv` offers and checks they agree:
        JAX autodiff, the classic hand-written identities with `rot180`, `pad_to_full` and
        `nhwc_to_hwio`, and every method in `jconv.TRANSPOSE_METHODS` /
        `jconv.FILTER_GRAD_METHODS`. Then it shows the transposed convolution as the transpose of
        a matrix.
        """
    ),
    SETUP,
    md(
        r"""
        Inputs are small integers stored as `float32`: every product and sum is then exact, so the
        derivations can be compared with `==` instead of a tolerance.
        """
    ),
    code(
        """
        rng = np.random.default_rng(0)


        def ints(*shape):
            return rng.integers(-4, 5, size=shape).astype(np.float32)


        def grads(x, w, dy, **kw):
            \"\"\"(dx, dw) by JAX autodiff of jconv.conv2d.\"\"\"
            _, pullback = jax.vjp(lambda x, w: jconv.conv2d(x, w, **kw), x, w)
            return pullback(dy)
        """
    ),
    md(
        r"""
        ## Stride 1, `VALID`: the classic identities

        With stride 1 and no padding the two gradients are plain `VALID` convolutions:

        * **Input gradient.** Pad $dy$ by $k - 1$ zeros on each side (`pad_to_full`, the "full"
          convolution) and correlate it with the rotated kernel. The filter maps $C_\text{in}$ to
          $C_\text{out}$ channels and the gradient goes back, so its two channel axes are swapped:
          $$dx = \operatorname{conv2d}\big(\operatorname{pad\_to\_full}(dy, k),\;
                 \operatorname{rot180}(w)^{\top_{io}}\big).$$
        * **Filter gradient.** $dw[t, c, o] = \sum_{b,i} x[b, i+t, c]\, dy[b, i, o]$ is a
          correlation of $x$ with $dy$ in which the batch is summed like a channel. Swap batch and
          channels of $x$ (its channels become the batch) and use $dy$ as a filter, batch as its
          input-channel axis (`nhwc_to_hwio`: $(N, H, W, C) \to (H, W, N, C)$):
          $$dw = \operatorname{nhwc\_to\_hwio}\Big(\operatorname{conv2d}\big(x^{\top_{bc}},\;
                 \operatorname{nhwc\_to\_hwio}(dy)\big)\Big).$$
          $x^{\top_{bc}}$ is `jnp.swapaxes(x, 0, -1)`, shape $(C_\text{in}, H, W, N)$.
        """
    ),
    code(
        """
        x, w = ints(2, 6, 7, 3), ints(3, 3, 3, 4)  # 2 images, 3 -> 4 channels
        dy = ints(*jconv.conv2d(x, w).shape)
        dx_ad, dw_ad = grads(x, w, dy)

        dx_manual = jconv.conv2d(jconv.pad_to_full(dy, 3), jnp.swapaxes(jconv.rot180(w), -1, -2))
        dw_manual = jconv.nhwc_to_hwio(
            jconv.conv2d(jnp.swapaxes(x, 0, -1), jconv.nhwc_to_hwio(dy)))

        checks = {
            "dx: pad_to_full + rot180": (dx_manual, dx_ad),
            "dx: conv2d_backprop_input": (jconv.conv2d_backprop_input(x.shape, w, dy), dx_ad),
            "dx: conv2d_transpose": (jconv.conv2d_transpose(dy, w, x.shape, padding="VALID"),
                                     dx_ad),
            "dw: nhwc_to_hwio identity": (dw_manual, dw_ad),
            "dw: conv2d_backprop_filter": (jconv.conv2d_backprop_filter(x, w.shape, dy), dw_ad),
        }
        print("x", x.shape, " w", w.shape, " dy", dy.shape, " dx", dx_ad.shape, " dw", dw_ad.shape)
        for name, (got, want) in checks.items():
            np.testing.assert_array_equal(got, want)
            print(f"{name:30s} == jax.vjp: True")
        """
    ),
    md(
        r"""
        ## Strides and padding

        With stride $s$ the forward window moves by $s$. In the input gradient this becomes
        $s - 1$ zeros inserted between the rows of $dy$ (`pad_to_full(dy, k, strides=s)`); in the
        filter gradient it becomes a *dilation* of $dy$ used as a kernel:
        $dw[t] = \sum_i x[is + t]\, dy[i]$ reads $x$ at taps $s$ apart. These two hand-written
        forms hold as they stand when the forward `VALID` windows cover the input exactly,
        $n = (m - 1)s + k$; otherwise rows the forward pass never read, or padding, need cropping,
        which the library's methods do.

        The grid below runs strides 1 and 2, `VALID` and `SAME`, and two kernels (the even sizes
        make `SAME`'s total padding odd, the extra row going after the input), comparing against
        `jax.vjp`:

        * `dx`: `conv2d_backprop_input` and `conv2d_transpose` with every method, the NumPy
          reference, and the manual identity where it applies;
        * `dw`: `conv2d_backprop_filter` with every method, the NumPy reference, and the manual
          identity where it applies.
        """
    ),
    code(
        """
        def manual_grads(x, w, dy, s):
            \"\"\"Hand-written dx and dw for VALID windows that tile the input exactly.\"\"\"
            k = w.shape[:2]
            dx = jconv.conv2d(jconv.pad_to_full(dy, k, strides=s),
                              jnp.swapaxes(jconv.rot180(w), -1, -2))
            dw = jconv.nhwc_to_hwio(jconv.conv2d(jnp.swapaxes(x, 0, -1), jconv.nhwc_to_hwio(dy),
                                                 dilations=s))
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
                        (mi - 1) * s + ki == ni
                        for mi, ki, ni in zip(dy.shape[1:3], k, x.shape[1:3]))
                    if tight:
                        dx["manual"], dw["manual"] = manual_grads(x, w, dy, s)
                    for name, got in dx.items():
                        np.testing.assert_array_equal(got, dx_ad, err_msg=f"dx {name} {k} {kw}")
                    for name, got in dw.items():
                        np.testing.assert_array_equal(got, dw_ad, err_msg=f"dw {name} {k} {kw}")
                    rows.append((f"k={k} s={s} {padding}", dy.shape[1:3], len(dx), len(dw),
                                 "yes" if tight else "-"))

        print("bi = conv2d_backprop_input, tr = conv2d_transpose, bf = conv2d_backprop_filter")
        print("TRANSPOSE_METHODS   =", jconv.TRANSPOSE_METHODS)
        print("FILTER_GRAD_METHODS =", jconv.FILTER_GRAD_METHODS)
        print(f"{'config':22s} {'dy (h, w)':10s} {'#dx ways':>9s} {'#dw ways':>9s}  manual")
        for cfg, m, ndx, ndw, tight in rows:
            print(f"{cfg:22s} {str(m):10s} {ndx + 1:9d} {ndw + 1:9d}  {tight}")
        print("every way equal to jax.vjp, exactly")
        """
    ),
    md(
        r"""
        (The counts include `jax.vjp` itself.) `jax.grad` of a scalar loss is the same pullback:
        for $L = \sum y \odot dy$, $\partial L/\partial x = dx$.
        """
    ),
    code(
        """
        k, s, padding = (3, 3), 2, "SAME"
        w = ints(*k, 3, 4)
        dy = ints(*jconv.conv2d(x, w, strides=s, padding=padding).shape)
        loss = lambda x, w: jnp.sum(jconv.conv2d(x, w, strides=s, padding=padding) * dy)
        gx, gw = jax.grad(loss, argnums=(0, 1))(x, w)
        np.testing.assert_array_equal(
            gx, jconv.conv2d_backprop_input(x.shape, w, dy, strides=s, padding=padding))
        np.testing.assert_array_equal(
            gw, jconv.conv2d_backprop_filter(x, w.shape, dy, strides=s, padding=padding))
        print("jax.grad matches conv2d_backprop_input and conv2d_backprop_filter")
        """
    ),
    md(
        r"""
        ## The matrix view

        For a fixed filter the convolution is linear in its input: $\operatorname{vec}(y) =
        C\,\operatorname{vec}(x)$. Column $j$ of $C$ is the convolution of the $j$-th basis image
        (a single 1 at pixel $j$), so all columns come from one batched call on the identity matrix
        reshaped into images. For a 4×4 input, a 3×3 kernel, stride 2 and `SAME` padding
        (one row and column of zeros after the input), $y$ is 2×2 and $C$ is $4 \times 16$: each
        row is the kernel laid over the 4×4 input at a stride-2 offset, flattened row by row (so a
        3×3 kernel shows up as three runs of three, four apart; windows that reach into the padding
        lose their last row or column).

        The transposed convolution's matrix, built the same way from the 2×2 basis images, is
        $C^\top$ exactly; that is where the name comes from. Column $i$ of $C^\top$ is row $i$ of
        $C$, the kernel laid unflipped over window $i$: the stamp of input element $y_i$ in the
        overlay picture of the first notebook.
        """
    ),
    code(
        """
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
        print("w =\\n", w[:, :, 0, 0])
        """
    ),
    code(
        """
        vmax = np.abs(C).max()
        fig, axes = plt.subplot_mosaic([["C", "C", "C"], ["CT", "T", "D"]], figsize=(9, 7.5),
                                       height_ratios=[1, 2.6])
        panels = {"C": (C, "C = matrix of conv2d (4 × 16): row i = kernel at window i"),
                  "CT": (C.T, "C.T (16 × 4)"),
                  "T": (T, "matrix of\\nconv2d_transpose (16 × 4)"),
                  "D": (C.T - T, "C.T minus it:\\nall zero")}
        for key, (a, title) in panels.items():
            ax = axes[key]
            ax.imshow(a, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            for (r, c), v in np.ndenumerate(a):
                if v != 0:
                    ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(v) > 0.6 * vmax else "black")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        plt.tight_layout()
        plt.show()
        """
    ),
    md(
        r"""
        JAX agrees from two more directions: `jax.jacobian` of `conv2d` is $C$, and
        `jax.linear_transpose` of `conv2d` — JAX transposing the linear map itself — has matrix
        $C^\top$. The adjoint identity $\langle y, Cx\rangle = \langle C^\top y, x\rangle$ holds on
        random data.
        """
    ),
    code(
        """
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
        """
    ),
    md(
        r"""
        ## Summary

        | op | what it is | as a convolution (stride 1, `VALID`) |
        |---|---|---|
        | `conv2d(x, w)` | $y = Cx$ | correlation of $x$ with $w$ |
        | `conv2d_backprop_input(x.shape, w, dy)` | $dx = C^\top dy$ | $\operatorname{conv2d}(\operatorname{pad\_to\_full}(dy), \operatorname{rot180}(w)^{\top_{io}})$ |
        | `conv2d_transpose(dy, w, x.shape)` | the same, TF's argument order | same |
        | `conv2d_backprop_filter(x, w.shape, dy)` | $dw$ | $\operatorname{nhwc\_to\_hwio}(\operatorname{conv2d}(x^{\top_{bc}}, \operatorname{nhwc\_to\_hwio}(dy)))$ |

        With stride $s$, the stride turns into zero insertion in $dx$ and into a dilation of $dy$
        in $dw$; padding turns into cropping. All of `jconv`'s derivations agree with each other,
        with JAX's autodiff and with the NumPy loops, bit for bit on integer-valued data.
        """
    ),
]

# ---------------------------------------------------------------------------------------------

SIZES_AND_CONVENTIONS = [
    md(
        r"""
        # Output sizes and conventions

        A transposed convolution undoes the *shape* change of a forward convolution. This notebook
        covers which output sizes are possible, how `SAME`, `VALID` and explicit padding decide
        them (and where an odd pad goes), and how TensorFlow, PyTorch and `jax.lax` each spell the
        same operation: filter layout, kernel flip, padding.

        Notation per spatial dimension: forward input size $n$ (the transposed conv's output),
        forward output size $m$ (its input), kernel $k$, dilation $d$ with
        $k_\text{eff} = (k - 1)d + 1$, stride $s$, padding $(\text{lo}, \text{hi})$. The forward
        convolution produces

        $$m = \left\lfloor \frac{n + \text{lo} + \text{hi} - k_\text{eff}}{s} \right\rfloor + 1 .$$
        """
    ),
    setup(
        """
        import jax.numpy as jnp
        import matplotlib.pyplot as plt
        import numpy as np
        from jax import lax

        import jconv
        from jconv import reference
        """
    ),
    md(
        r"""
        ## Which sizes a stride-2 transposed convolution can produce

        For $s > 1$ the floor makes $n \mapsto m$ many-to-one: up to $s$ input sizes give the same
        $m$. A transposed convolution from $m$ can return any of them:

        * `VALID`: $(m - 1)s + k_\text{eff} \le n \le (m - 1)s + k_\text{eff} + s - 1$;
        * `SAME` ($m = \lceil n / s \rceil$): $(m - 1)s + 1 \le n \le ms$, independent of $k$;
        * explicit $(\text{lo}, \text{hi})$: the `VALID` range shifted by
          $-(\text{lo} + \text{hi})$.

        `jconv.conv_transpose_output_shapes` returns the inclusive range per dimension:
        """
    ),
    code(
        """
        ms, ks = range(1, 6), range(1, 6)
        for padding in ["VALID", "SAME"]:
            print(f"{padding}, stride 2: legal n for input size m (rows) and kernel k (columns)")
            print("m \\\\ k " + "".join(f"{k:>8d}" for k in ks))
            for m in ms:
                cells = []
                for k in ks:
                    ((lo, hi),) = jconv.conv_transpose_output_shapes((m,), k, strides=2,
                                                                     padding=padding)
                    cells.append(f"{lo}..{hi}")
                print(f"{m:5d}  " + "".join(f"{c:>8s}" for c in cells))
            print()
        """
    ),
    md(
        r"""
        The staircase behind the table: the forward output size $m$ as a function of $n$ for
        $k = 3$, $s = 2$. Each flat step is one $m$; its width is the set of $n$ a transposed
        convolution from that $m$ may produce.
        """
    ),
    code(
        """
        ns = np.arange(1, 15)
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)
        for ax, padding in zip(axes, ["VALID", "SAME"]):
            valid_ns = [n for n in ns if padding == "SAME" or n >= 3]
            m_of_n = [jconv.conv_output_shape((n,), 3, strides=2, padding=padding)[0]
                      for n in valid_ns]
            ax.step(valid_ns, m_of_n, where="mid", color="tab:blue")
            ax.plot(valid_ns, m_of_n, "o", color="tab:blue")
            for m in sorted(set(m_of_n)):
                ((lo, hi),) = jconv.conv_transpose_output_shapes((m,), 3, strides=2,
                                                                 padding=padding)
                ax.annotate(f"n = {lo}..{hi}", ((lo + hi) / 2, m), textcoords="offset points",
                            xytext=(0, -13), ha="center", fontsize=8, color="tab:red")
            ax.set_title(f"{padding}, k = 3, s = 2")
            ax.set_xlabel("forward input n = transposed output")
            ax.set_xticks(ns)
            ax.set_ylim(0.2, 7.5)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("forward output m")
        plt.tight_layout()
        plt.show()
        """
    ),
    md(
        r"""
        ## Unreachable output sizes

        Asking for a size outside the range raises a `ValueError` that names the argument, the
        value and the legal range — never a silent clamp or crop. Without `output_shape`, `jconv`
        follows Keras: `SAME` gives $ms$, `VALID` gives $ms + \max(k_\text{eff} - s, 0)$, explicit
        padding the smallest legal size (PyTorch's `output_padding=0`).
        """
    ),
    code(
        """
        dy = np.ones((1, 3, 3, 1), np.float32)
        w = np.ones((3, 3, 1, 1), np.float32)
        for padding, shape in [("VALID", (1, 9, 7, 1)), ("SAME", (1, 6, 4, 1)),
                               ([(1, 1), (1, 1)], (1, 5, 8, 1))]:
            try:
                jconv.conv2d_transpose(dy, w, output_shape=shape, strides=2, padding=padding)
            except ValueError as err:
                print("ValueError:", err)

        for padding in ["VALID", "SAME", [(1, 1), (1, 1)]]:
            print(f"default output for padding={padding!r}:",
                  jconv.conv2d_transpose(dy, w, strides=2, padding=padding).shape)
        """
    ),
    md(
        r"""
        ## `SAME`, `VALID`, explicit padding, and where the odd pad goes

        * `VALID`: no padding; windows that would run past the end are dropped, so trailing
          inputs can go unread.
        * `SAME` (TensorFlow): $m = \lceil n/s \rceil$. The padded input must hold the last window,
          which starts at $(m - 1)s$:
          $$\text{total} = \max\big((m - 1)s + k_\text{eff} - n,\ 0\big),\qquad
            \text{lo} = \lfloor \text{total}/2 \rfloor,\qquad
            \text{hi} = \text{total} - \text{lo}.$$
          When the total is odd, the extra zero goes **after** the input.
        * Explicit: `padding=[(lo, hi), ...]`, one pair per spatial dimension (PyTorch's `padding=p`
          is $(p, p)$).

        Example: $n = 5$, $k = 4$, $s = 2$ gives $m = 3$, total $= 2\cdot 2 + 4 - 5 = 3$, so
        $(\text{lo}, \text{hi}) = (1, 2)$. Numerically, `SAME` equals explicit `(1, 2)` and not
        `(2, 1)`:
        """
    ),
    code(
        """
        x1 = np.arange(1.0, 6.0, dtype=np.float32).reshape(1, 5, 1)      # n = 5
        w1 = np.array([1.0, 10.0, 100.0, 1000.0], np.float32).reshape(4, 1, 1)  # k = 4
        same = jconv.conv1d(x1, w1, stride=2, padding="SAME")
        for pads in ([(1, 2)], [(2, 1)]):
            other = jconv.conv1d(x1, w1, stride=2, padding=pads)
            print(f"padding={pads}: {np.asarray(other)[0, :, 0]}   equal to SAME:",
                  bool(np.array_equal(same, other)))
        print("SAME:            ", np.asarray(same)[0, :, 0])
        valid = jconv.conv1d(x1, w1, stride=2, padding="VALID")
        print("VALID:           ", np.asarray(valid)[0, :, 0])
        """
    ),
    code(
        """
        def draw_windows(ax, n, k, s, lo, hi, title):
            m = (n + lo + hi - k) // s + 1
            for p in range(n + lo + hi):
                is_pad = p < lo or p >= lo + n
                ax.add_patch(plt.Rectangle((p, 0), 0.95, 0.95, fc="0.85" if is_pad else "tab:blue",
                                           ec="black", hatch="//" if is_pad else None))
                ax.text(p + 0.47, 0.47, "0" if is_pad else f"x{p - lo}", ha="center",
                        va="center", color="black" if is_pad else "white", fontsize=8)
            for i in range(m):
                ax.add_patch(plt.Rectangle((i * s, -0.9 - 0.7 * i), k - 0.05, 0.5,
                                           fc="tab:orange", alpha=0.8))
                ax.text(i * s - 0.2, -0.65 - 0.7 * i, f"y{i}", ha="right", va="center",
                        fontsize=8)
            ax.set_xlim(-1.2, 9)
            ax.set_ylim(-0.9 - 0.7 * 3, 1.2)
            ax.set_title(title, fontsize=9)
            ax.axis("off")


        fig, axes = plt.subplots(1, 3, figsize=(13, 2.6))
        draw_windows(axes[0], 5, 4, 2, 0, 0, "VALID: (0, 0), m = 1, x4 never read")
        draw_windows(axes[1], 5, 4, 2, 1, 2, "SAME: total 3 -> (1, 2), extra pad after")
        draw_windows(axes[2], 5, 4, 2, 2, 1, "explicit (2, 1): not SAME")
        fig.suptitle("n = 5, k = 4, s = 2: padded input (grey = zeros) and each output's window")
        plt.tight_layout()
        plt.show()
        """
    ),
    md(
        r"""
        The transposed convolution with the same settings runs this picture backwards: each
        $y_i$ stamps the kernel onto the window it came from, and stamps landing in the padding
        (grey) are dropped. So padding in a transposed convolution *crops* its output: PyTorch's
        `ConvTranspose2d(padding=p)` removes $p$ rows from each end of the full overlay.

        ## Conventions side by side

        | | filter shape | kernel flip | output size |
        |---|---|---|---|
        | TF `tf.nn.conv2d_transpose` / `jconv.conv2d_transpose` | $(k_h, k_w, C_\text{out}, C_\text{in})$ — the forward conv's filter | none by the caller; the op is the transpose of a correlation with $w$ (it correlates with $\operatorname{rot180}(w)$ internally) | `output_shape`, within the legal range |
        | PyTorch `nn.ConvTranspose2d` | `weight` $(C_\text{in}, C_\text{out}/g, k_h, k_w)$ | same as TF | $(m-1)s - 2p + d(k-1) + \mathrm{output\_padding} + 1$ |
        | `jax.lax.conv_transpose` | set by `dimension_numbers` | `transpose_kernel=False` (default): the zero-inserted input is *correlated* with the kernel as given — no flip, no channel swap; `transpose_kernel=True`: flip both spatial axes and swap I/O, the gradient semantics of TF/PyTorch | its own rule: `SAME` $ms$, `VALID` $ms + \max(k - s, 0)$ |

        ### `jax.lax.conv_transpose`

        Passing TF's filter with `dimension_numbers=('NHWC', 'HWIO', 'NHWC')` and
        `transpose_kernel=True` reproduces `jconv.conv2d_transpose` whenever the two agree on the
        output size. Over a grid of kernel sizes, strides and input sizes, in 1-D:
        """
    ),
    code(
        """
        rng = np.random.default_rng(0)


        def ints(*shape):
            return rng.integers(-4, 5, size=shape).astype(np.float32)


        agree = total = 0
        for padding in ["VALID", "SAME"]:
            for s in [1, 2, 3]:
                for k in [1, 2, 3, 4, 5]:
                    for m in [1, 2, 3, 4]:
                        dy, w = ints(1, m, 2), ints(k, 3, 2)   # TF filter (k, out, in)
                        a = lax.conv_transpose(dy, w, (s,), padding,
                                               dimension_numbers=("NWC", "WIO", "NWC"),
                                               transpose_kernel=True)
                        b = jconv.conv1d_transpose(dy, w, a.shape, strides=s, padding=padding)
                        agree += bool(np.array_equal(a, b))
                        total += 1
        print(f"lax.conv_transpose(transpose_kernel=True) == jconv.conv1d_transpose: "
              f"{agree}/{total} configurations")
        """
    ),
    md(
        r"""
        And the 2-D call from the first notebook's example (stride 2, `VALID`, output 5×5). Without
        `transpose_kernel` the kernel is used as given: the TF filter's channel axes are then in
        the wrong order (an error unless $C_\text{in} = C_\text{out}$), and with them swapped the
        result is the transposed convolution of $\operatorname{rot180}(w)$ — the naive 603.
        """
    ),
    code(
        """
        dn = ("NHWC", "HWIO", "NHWC")
        x = np.array([[-67.0, -77.0], [-117.0, -127.0]], np.float32).reshape(1, 2, 2, 1)
        f = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0], [-7.0, 8.0, -9.0]],
                     np.float32).reshape(3, 3, 1, 1)
        tf_like = jconv.conv2d_transpose(x, f, (1, 5, 5, 1), strides=2, padding="VALID")
        with_tk = lax.conv_transpose(x, f, (2, 2), "VALID", dimension_numbers=dn,
                                     transpose_kernel=True)
        without = lax.conv_transpose(x, f, (2, 2), "VALID", dimension_numbers=dn)
        np.testing.assert_array_equal(with_tk, tf_like)
        print("transpose_kernel=True :", np.asarray(with_tk)[0, 0, :, 0])
        print("transpose_kernel=False:", np.asarray(without)[0, 0, :, 0])
        np.testing.assert_array_equal(
            without, jconv.conv2d_transpose(x, jconv.rot180(f), (1, 5, 5, 1), strides=2,
                                            padding="VALID"))

        # Multi-channel: without transpose_kernel the TF filter (k, k, C_out=2, C_in=5) needs
        # its I/O axes swapped.
        x5, w25 = ints(1, 3, 4, 5), ints(3, 3, 2, 5)
        try:
            lax.conv_transpose(x5, w25, (2, 2), "VALID", dimension_numbers=dn)
        except (TypeError, ValueError) as err:
            print(type(err).__name__ + ":", str(err).splitlines()[0])
        np.testing.assert_array_equal(
            lax.conv_transpose(x5, w25, (2, 2), "VALID", dimension_numbers=dn,
                               transpose_kernel=True),
            jconv.conv2d_transpose(x5, w25, (1, 7, 9, 2), strides=2, padding="VALID"))
        print("5 -> 2 channels, transpose_kernel=True: equal to jconv.conv2d_transpose")
        swapped = lax.conv_transpose(x5, jnp.swapaxes(w25, 2, 3), (2, 2), "VALID",
                                     dimension_numbers=dn)
        np.testing.assert_array_equal(
            swapped, jconv.conv2d_transpose(x5, jconv.rot180(w25), swapped.shape, strides=2,
                                            padding="VALID"))
        print("with I/O swapped and no transpose_kernel: conv2d_transpose of rot180(w)")
        """
    ),
    md(
        r"""
        ### PyTorch `ConvTranspose2d`

        PyTorch stores the weight as $(C_\text{in}, C_\text{out}/g, k_h, k_w)$ — input channels of
        the *transposed* op first — and, like TF, does not flip it: `ConvTranspose2d` is the
        input gradient of `Conv2d` with the same weight. To port a weight to TF's
        $(k_h, k_w, C_\text{out}, C_\text{in})$ (groups = 1):

        $$w_\text{tf} = \texttt{np.transpose}(w_\text{torch}, (2, 3, 1, 0)),$$

        data goes from NCHW to NHWC, `padding=p` becomes explicit $(p, p)$ per dimension, and the
        output size is $n = (m - 1)s - 2p + d(k - 1) + \mathrm{output\_padding} + 1$. The port is
        checked against the NumPy loop reference; if PyTorch is installed, also against PyTorch
        itself.
        """
    ),
    code(
        """
        def torch_out_size(m, k, s, p, d, output_padding):
            return (m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


        w_torch = ints(5, 2, 3, 3)          # (C_in, C_out, k, k) of ConvTranspose2d(5, 2, 3)
        x_nchw = ints(1, 5, 3, 4)
        w_tf = np.transpose(w_torch, (2, 3, 1, 0))
        x_nhwc = np.transpose(x_nchw, (0, 2, 3, 1))

        cases = [dict(s=2, p=0, d=1, op=0), dict(s=2, p=1, d=1, op=0), dict(s=2, p=1, d=1, op=1),
                 dict(s=3, p=2, d=2, op=2)]
        ported = {}
        for c in cases:
            n = tuple(torch_out_size(m, 3, c["s"], c["p"], c["d"], c["op"]) for m in (3, 4))
            kw = dict(strides=c["s"], padding=[(c["p"], c["p"])] * 2, dilations=c["d"])
            got = np.asarray(jconv.conv2d_transpose(x_nhwc, w_tf, n, **kw))
            np.testing.assert_array_equal(got, reference.conv_transpose(x_nhwc, w_tf, n, **kw))
            ported[tuple(c.values())] = got
            print(f"s={c['s']} p={c['p']} d={c['d']} output_padding={c['op']}: output {n}, "
                  "jconv == NumPy reference")
        """
    ),
    code(
        """
        try:
            import torch
        except ImportError:
            print("torch is not installed; skipping the live PyTorch comparison")
        else:
            for (s, p, d, op), got in ported.items():
                layer = torch.nn.ConvTranspose2d(5, 2, 3, stride=s, padding=p, dilation=d,
                                                 output_padding=op, bias=False)
                with torch.no_grad():
                    layer.weight.copy_(torch.from_numpy(w_torch))
                    want = layer(torch.from_numpy(x_nchw)).numpy()
                np.testing.assert_array_equal(np.transpose(want, (0, 2, 3, 1)), got)
                print(f"s={s} p={p} d={d} output_padding={op}: torch.nn.ConvTranspose2d == "
                      "jconv.conv2d_transpose(ported weight)")
        """
    ),
    md(
        r"""
        ### One picture

        A 1-D transposed convolution of $y = [1, 2]$ with the kernel $w = [1, 2, 3]$ at stride 2.
        TensorFlow, `jconv`, PyTorch and `lax.conv_transpose(transpose_kernel=True)` stamp $w$ as
        written, $1\cdot[1,2,3]$ at 0 and $2\cdot[1,2,3]$ at 2, giving $[1, 2, 5, 4, 6]$.
        `lax.conv_transpose` without `transpose_kernel` stamps the reversed kernel,
        $[3, 2, 7, 4, 2]$. PyTorch's `padding=1` crops one element from each end of the same
        overlay.
        """
    ),
    code(
        """
        y1 = np.array([1.0, 2.0], np.float32).reshape(1, 2, 1)
        k1 = np.array([1.0, 2.0, 3.0], np.float32).reshape(3, 1, 1)
        dn1 = ("NWC", "WIO", "NWC")
        conventions = {
            "TF / jconv.conv1d_transpose": jconv.conv1d_transpose(y1, k1, (5,), strides=2,
                                                                  padding="VALID"),
            "lax.conv_transpose, transpose_kernel=True": lax.conv_transpose(
                y1, k1, (2,), "VALID", dimension_numbers=dn1, transpose_kernel=True),
            "lax.conv_transpose, default (no flip)": lax.conv_transpose(
                y1, k1, (2,), "VALID", dimension_numbers=dn1),
            "PyTorch ConvTranspose1d(padding=1), ported": jconv.conv1d_transpose(
                y1, np.transpose(k1.reshape(1, 1, 3), (2, 1, 0)), (3,), strides=2,
                padding=[(1, 1)]),
        }
        try:
            import torch
        except ImportError:
            pass
        else:
            layer = torch.nn.ConvTranspose1d(1, 1, 3, stride=2, padding=1, bias=False)
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(k1.reshape(1, 1, 3)))
                live = layer(torch.from_numpy(y1.reshape(1, 1, 2))).numpy().ravel()
            np.testing.assert_array_equal(live, np.asarray(conventions[
                "PyTorch ConvTranspose1d(padding=1), ported"]).ravel())

        fig, axes = plt.subplots(1, 4, figsize=(13, 2.8), sharey=True)
        for ax, (name, out) in zip(axes, conventions.items()):
            out = np.asarray(out).ravel()
            offset = 1 if "padding=1" in name else 0
            pos = np.arange(offset, offset + out.size)
            ax.bar(pos, out, color="tab:orange" if "no flip" in name else "tab:blue")
            for p_, v in zip(pos, out):
                ax.text(p_, v + 0.15, f"{v:.0f}", ha="center", fontsize=8)
            ax.set_xlim(-0.6, 4.6)
            ax.set_ylim(0, 8.2)
            ax.set_xticks(range(5))
            ax.set_title(name, fontsize=8.5)
            print(f"{name:45s} {out}")
        axes[0].set_ylabel("output")
        fig.suptitle("y = [1, 2], w = [1, 2, 3], stride 2 (x axis: position in the full overlay)")
        plt.tight_layout()
        plt.show()
        """
    ),
    md(
        r"""
        ## Summary

        * A stride-$s$ transposed convolution has up to $s$ legal output sizes; ask
          `jconv.conv_transpose_output_shapes` for the range, pass one as `output_shape`.
        * TF's `SAME` puts the smaller half of the padding first: $\text{lo} = \lfloor
          \text{total}/2 \rfloor$, the odd pad after.
        * TF and PyTorch agree on the operation (no flip by the caller) and differ in layout:
          `w_tf = np.transpose(w_torch, (2, 3, 1, 0))`, `padding=p` is `[(p, p)] * 2`.
        * `jax.lax.conv_transpose` matches them only with `transpose_kernel=True`.
        """
    ),
]

# ---------------------------------------------------------------------------------------------

GRADIENTS_AND_SPEED = [
    md(
        r"""
        # Gradients and speed

        `jconv`'s ops are ordinary JAX functions, so `jax.grad`, `jax.jacfwd`, `jax.jvp` and
        `jax.jit` go through them like through any other. This notebook

        1. checks first and second derivatives through `jconv.conv2d_transpose`, `jconv.conv2d`
           and `jconv.torch.conv_transpose2d` against finite differences and against the same
           functions written with plain `jax.lax`, in float64;
        2. shows that the gradient of a transposed convolution is an ordinary convolution with the
           **same** filter, and its filter gradient is `conv2d_backprop_filter` with the roles of
           input and output swapped — exactly, on integer data;
        3. trains a tiny decoder made of two transposed convolutions, with Adam written out by
           hand;
        4. times `jconv` against `jax.lax.conv_transpose` on small decoder workloads with
           `jconv.bench`.

        Finite differences need float64: the first cell turns on `jax_enable_x64` before any
        array is made. Arrays built from float32 NumPy data stay float32 (the training loop and
        the benchmark use float32).
        """
    ),
    setup(
        """
        import jax
        import jax.numpy as jnp
        import matplotlib.pyplot as plt
        import numpy as np
        from jax import lax

        import jconv
        import jconv.torch as jt

        jax.config.update("jax_enable_x64", True)
        """
    ),
    md(
        r"""
        ## First derivatives: `jax.grad` against finite differences

        The test function is a transposed convolution (stride 2, `SAME`, 3 → 2 channels) followed
        by a nonlinearity, so that its second derivatives are not trivial:

        $$f(x, w) = \sum_{b,j,c} g[b, j, c]\,\sin\big(\operatorname{conv2d\_transpose}(x, w)[b, j, c]\big).$$

        For a random direction $v = (v_x, v_w)$ the central difference

        $$\frac{f(\theta + \varepsilon v) - f(\theta - \varepsilon v)}{2\varepsilon}
          = \langle \nabla f(\theta), v\rangle + O(\varepsilon^2) + O(u/\varepsilon)$$

        has a truncation error of order $\varepsilon^2$ and a rounding error of order
        $u/\varepsilon$, with $u$ the unit roundoff. In float64 ($u \approx 10^{-16}$) with
        $\varepsilon = 10^{-6}$ both are around $10^{-10}$ relative; in float32
        ($u \approx 6\cdot 10^{-8}$) no $\varepsilon$ gets better than about $10^{-3}$, too coarse
        to catch a wrong sign on a single tap.

        The second reference is the same function written with `jax.lax.conv_transpose` and
        `transpose_kernel=True`, which equals TensorFlow's `conv2d_transpose` when its default
        output size is the one asked for (here $2m$, `SAME`); JAX differentiates that one through
        its own rules.
        """
    ),
    code(
        """
        rng = np.random.default_rng(0)
        kw = dict(strides=2, padding="SAME")
        x = rng.standard_normal((2, 4, 5, 3))          # (N, H, W, C_in) of the transposed conv
        w = rng.standard_normal((3, 3, 2, 3))          # TF filter (k_h, k_w, C_out, C_in)
        out_shape = (2, 8, 10, 2)
        g = rng.standard_normal(out_shape)


        def f(x, w):
            return jnp.sum(g * jnp.sin(jconv.conv2d_transpose(x, w, out_shape, **kw)))


        def f_lax(x, w):
            y = lax.conv_transpose(x, w, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                   transpose_kernel=True)
            return jnp.sum(g * jnp.sin(y))


        def directional_fd(fun, args, dirs, eps=1e-6):
            \"\"\"Central difference of fun along dirs (one array per argument).\"\"\"
            plus = [a + eps * d for a, d in zip(args, dirs)]
            minus = [a - eps * d for a, d in zip(args, dirs)]
            return (fun(*plus) - fun(*minus)) / (2 * eps)


        gx, gw = jax.grad(f, argnums=(0, 1))(x, w)
        gx_lax, gw_lax = jax.grad(f_lax, argnums=(0, 1))(x, w)
        np.testing.assert_allclose(gx, gx_lax, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gw, gw_lax, rtol=1e-12, atol=1e-12)
        print("dtype:", gx.dtype, "  jax.grad through jconv == through lax.conv_transpose "
              f"(max diff {max(abs(gx - gx_lax).max(), abs(gw - gw_lax).max()):.1e})")

        print(f"{'direction':>9s} {'finite difference':>20s} {'<grad, v>':>20s} {'rel. error':>11s}")
        for i in range(4):
            vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
            fd = float(directional_fd(f, (x, w), (vx, vw)))
            ad = float(jnp.vdot(gx, vx) + jnp.vdot(gw, vw))
            assert abs(fd - ad) < 1e-8 * abs(ad)
            print(f"{i:9d} {fd:20.12f} {ad:20.12f} {abs(fd - ad) / abs(ad):11.1e}")
        """
    ),
    md(
        r"""
        ## Full Jacobians: `jax.jacfwd`

        `jax.jacfwd` pushes one tangent per input entry through the function (forward mode);
        `jax.jacrev` pulls one cotangent per output entry back (reverse mode). For a small
        `conv2d` followed by `tanh`, $h(w) = \tanh(\operatorname{conv2d}(x, w))$, the Jacobian with
        respect to the filter is compared with `jax.jacrev` and with central differences taken one
        filter entry at a time:

        $$\frac{\partial h}{\partial w_k} \approx \frac{h(w + \varepsilon e_k) - h(w - \varepsilon e_k)}{2\varepsilon}.$$

        For the transposed convolution, a linear map of $x$, the Jacobian is its matrix: forward
        mode, reverse mode and the `lax` formulation must agree to the last bit or nearly.
        """
    ),
    code(
        """
        xs = rng.standard_normal((1, 6, 6, 2))
        ws = rng.standard_normal((3, 3, 2, 2))


        def h(w):
            return jnp.tanh(jconv.conv2d(xs, w, strides=2, padding="SAME"))


        J = jax.jacfwd(h)(ws)                          # (1, 3, 3, 2) + (3, 3, 2, 2)
        J_rev = jax.jacrev(h)(ws)
        eps = 1e-6
        J_fd = np.zeros(J.shape)
        for k in np.ndindex(*ws.shape):
            e = np.zeros(ws.shape)
            e[k] = eps
            J_fd[(...,) + k] = (h(ws + e) - h(ws - e)) / (2 * eps)
        print("jacfwd(conv2d): shape", J.shape, f"  |jacfwd - jacrev| = {abs(J - J_rev).max():.1e}",
              f"  |jacfwd - finite differences| = {abs(J - J_fd).max():.1e}")
        np.testing.assert_allclose(J, J_rev, atol=1e-14)
        np.testing.assert_allclose(J, J_fd, atol=1e-8)

        xt = rng.standard_normal((1, 3, 3, 2))
        wt = rng.standard_normal((3, 3, 1, 2))
        T = jax.jacfwd(lambda x: jconv.conv2d_transpose(x, wt, (1, 6, 6, 1), **kw))(xt)
        T_lax = jax.jacfwd(lambda x: lax.conv_transpose(
            x, wt, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"),
            transpose_kernel=True))(xt)
        T_rev = jax.jacrev(lambda x: jconv.conv2d_transpose(x, wt, (1, 6, 6, 1), **kw))(xt)
        print("jacfwd(conv2d_transpose): shape", T.shape, "-> a", (36, 18), "matrix;",
              f"|jacfwd - jacrev| = {abs(T - T_rev).max():.1e}",
              f"  |jconv - lax| = {abs(T - T_lax).max():.1e}")
        np.testing.assert_allclose(T, T_lax, atol=1e-14)
        np.testing.assert_allclose(T, T_rev, atol=1e-14)
        """
    ),
    md(
        r"""
        ## Second derivatives: a Hessian-vector product

        The Hessian $H = \nabla^2 f$ of $f(x, w)$ above has $(120 + 54)^2$ entries; Newton-type and
        curvature methods only need products $Hv$. Differentiating the gradient along $v$ in
        forward mode gives one without forming $H$ ("forward over reverse"):

        $$Hv = \frac{d}{d\varepsilon}\,\nabla f(\theta + \varepsilon v)\Big|_{\varepsilon=0}
          = \texttt{jax.jvp(jax.grad(f), (θ,), (v,))[1]} .$$

        Since the transposed convolution is bilinear in $(x, w)$, $H$ has cross terms
        $\partial^2 f / \partial x\,\partial w$, and the product is taken in both arguments at
        once. Checks: the central difference of the gradient,
        $(\nabla f(\theta + \varepsilon v) - \nabla f(\theta - \varepsilon v)) / 2\varepsilon$;
        the `lax` formulation; and the symmetry $\langle u, Hv\rangle = \langle Hu, v\rangle$.
        """
    ),
    code(
        """
        grad_f = jax.grad(f, argnums=(0, 1))


        def hvp(fun_grad, theta, v):
            return jax.jvp(fun_grad, theta, v)[1]


        v = (rng.standard_normal(x.shape), rng.standard_normal(w.shape))
        u = (rng.standard_normal(x.shape), rng.standard_normal(w.shape))
        Hv = hvp(grad_f, (x, w), v)
        Hv_lax = hvp(jax.grad(f_lax, argnums=(0, 1)), (x, w), v)
        eps = 1e-5
        Hv_fd = [(a - b) / (2 * eps) for a, b in zip(grad_f(x + eps * v[0], w + eps * v[1]),
                                                     grad_f(x - eps * v[0], w - eps * v[1]))]
        Hu = hvp(grad_f, (x, w), u)
        dot = lambda p, q: sum(float(jnp.vdot(a, b)) for a, b in zip(p, q))

        for name, Hv_ref in [("finite differences of grad", Hv_fd), ("lax formulation", Hv_lax)]:
            err = max(float(abs(a - b).max() / abs(b).max()) for a, b in zip(Hv, Hv_ref))
            print(f"Hv vs {name:27s} max rel. error {err:.1e}")
            assert err < 1e-8
        print(f"<u, Hv> = {dot(u, Hv):.12f}\\n<Hu, v> = {dot(Hu, v):.12f}")
        assert abs(dot(u, Hv) - dot(Hu, v)) < 1e-10 * abs(dot(u, Hv))
        """
    ),
    md(
        r"""
        ## The same through the PyTorch-style API

        `jconv.torch.conv_transpose2d` takes PyTorch's layouts: data $(N, C, H, W)$, weight
        $(C_\text{in}, C_\text{out}, k_h, k_w)$, a bias, `padding` $p$ cropped from each side and
        `output_padding` added at the end. Written in plain `lax`, it is a convolution of the
        input with `lhs_dilation` $= s$ ($s - 1$ zeros between elements), the kernel flipped in
        both spatial axes, and padding $\big(k - 1 - p,\; k - 1 - p + \text{output\_padding}\big)$;
        the weight's layout is `"IOHW"` in `lax`'s notation. The forward values, the gradients
        with respect to input, weight and bias, and a Hessian-vector product are compared.
        """
    ),
    code(
        """
        def torch_style_lax(x, w, b, s, p, op):
            \"\"\"F.conv_transpose2d in plain lax (groups 1, dilation 1).\"\"\"
            k = w.shape[2]
            y = lax.conv_general_dilated(x, w[:, :, ::-1, ::-1], (1, 1), [(k - 1 - p, k - 1 - p + op)] * 2,
                                         lhs_dilation=(s, s),
                                         dimension_numbers=("NCHW", "IOHW", "NCHW"))
            return y + b[:, None, None]


        xp = rng.standard_normal((2, 3, 4, 5))        # (N, C_in, H, W)
        wp = rng.standard_normal((3, 2, 3, 3))        # (C_in, C_out, k, k)
        bp = rng.standard_normal(2)
        s, p, op = 2, 1, 1
        yp = jt.conv_transpose2d(xp, wp, bp, stride=s, padding=p, output_padding=op)
        np.testing.assert_allclose(yp, torch_style_lax(xp, wp, bp, s, p, op), atol=1e-13)
        gp = rng.standard_normal(yp.shape)
        print("output", yp.shape, "= ((4 - 1) * 2 - 2 + 3 + 1, (5 - 1) * 2 - 2 + 3 + 1); "
              "forward equal to the lax formulation")


        def f_torch(x, w, b):
            return jnp.sum(gp * jnp.tanh(jt.conv_transpose2d(x, w, b, stride=s, padding=p,
                                                              output_padding=op)))


        def f_torch_lax(x, w, b):
            return jnp.sum(gp * jnp.tanh(torch_style_lax(x, w, b, s, p, op)))


        theta = (xp, wp, bp)
        grads = jax.grad(f_torch, argnums=(0, 1, 2))(*theta)
        grads_lax = jax.grad(f_torch_lax, argnums=(0, 1, 2))(*theta)
        for name, a, b in zip(["input", "weight", "bias"], grads, grads_lax):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
            print(f"grad wrt {name:6s} {str(a.shape):14s} == lax formulation "
                  f"(max diff {float(abs(a - b).max()):.1e})")

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
        """
    ),
    md(
        r"""
        ## The gradient of a transposed convolution is a convolution

        Write the forward convolution `conv2d(u, w)` (stride $s$, padding $\text{lo}$ before the
        input) and the transposed convolution `conv2d_transpose(x, w)` with the *same* filter
        $w[t, c, o]$ — for `conv2d_transpose` TF's filter is $(k, k, C_\text{out}, C_\text{in})$,
        which is exactly the forward filter $(k, k, c, o)$:

        $$\operatorname{conv2d}(u, w)[b, i, o] = \sum_{t, c} u_\text{pad}[b,\, is + t,\, c]\; w[t, c, o],
        \qquad
        \operatorname{conv2d\_transpose}(x, w)[b, j, c] = \sum_{\substack{i, t \\ is + t - \text{lo} = j}} \sum_o x[b, i, o]\; w[t, c, o].$$

        Take a loss with output gradient $g$, $L(x, w) = \sum g \odot \operatorname{conv2d\_transpose}(x, w)$.
        Substituting and collecting the sum over $j$:

        $$L = \sum_{b, i, t, c, o} g_\text{pad}[b,\, is + t,\, c]\; x[b, i, o]\; w[t, c, o] .$$

        Reading off the coefficients:

        * **input gradient** — $\partial L / \partial x[b, i, o] = \sum_{t,c} g_\text{pad}[b, is + t, c]\, w[t, c, o]$,
          which is the *forward* convolution of $g$ with the same filter, same strides, same
          padding:
          $$\frac{\partial L}{\partial x} = \operatorname{conv2d}(g, w, s, \text{padding});$$
        * **filter gradient** — $\partial L / \partial w[t, c, o] = \sum_{b,i} g_\text{pad}[b, is + t, c]\, x[b, i, o]$.
          That is the filter gradient of a forward convolution whose *input* is $g$ and whose
          *output gradient* is $x$ (notebook 2: $dw[t,c,o] = \sum_{b,i} u_\text{pad}[b, is+t, c]\, dy[b,i,o]$):
          $$\frac{\partial L}{\partial w} = \operatorname{conv2d\_backprop\_filter}(g,\; w.\text{shape},\; x,\; s, \text{padding}).$$

        In matrix terms: `conv2d_transpose` is $C^\top$ ($C$ the matrix of `conv2d(·, w)`), so
        $L = \langle g, C^\top x\rangle = \langle Cg, x\rangle$ and $\nabla_x L = Cg$. The gradient
        of a transposed convolution is a convolution, just as (notebook 2) the gradient of a
        convolution is a transposed convolution. A decoder's backward pass therefore runs strided
        *forward* convolutions, and its speed depends on both kinds of op.

        On integer-valued data every product and sum is exact, so the check is `==`, over strides
        1, 2 and (2, 3), `SAME` and `VALID`, odd and even kernels, and output sizes at both ends
        of the legal range:
        """
    ),
    code(
        """
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
        print(f"{'m':8s} {'n':8s} {'kernel':8s} {'strides':8s} {'padding':8s} "
              "dL/dx == conv2d(g, w)   dL/dw == backprop_filter(g, w.shape, x)")
        for m, n, k, strides, padding in configs:
            x_i, w_i = ints(2, *m, 3), ints(*k, 2, 3)
            out = (2, *n, 2)
            g_i = ints(*out)
            dx, dw = jax.grad(loss_T, argnums=(0, 1))(x_i, w_i, g_i, out, strides=strides,
                                                      padding=padding)
            as_conv = jconv.conv2d(g_i, w_i, strides=strides, padding=padding)
            as_filter_grad = jconv.conv2d_backprop_filter(g_i, w_i.shape, x_i, strides=strides,
                                                          padding=padding)
            np.testing.assert_array_equal(dx, as_conv)
            np.testing.assert_array_equal(dw, as_filter_grad)
            print(f"{str(m):8s} {str(n):8s} {str(k):8s} {str(strides):8s} {padding:8s} "
                  f"{'exact':22s} exact")
        """
    ),
    md(
        r"""
        JAX's own transpose rule says the same. With `method="dilate"` the transposed convolution
        is one `lax.conv_general_dilated` with `lhs_dilation` $= s$ (zeros inserted into $x$) and
        window stride 1. In the program `jax.grad` builds, the backward pass is a
        `conv_general_dilated` with window stride $s$ and no `lhs_dilation`: a strided forward
        convolution.
        """
    ),
    code(
        """
        x_i, w_i, g_i = ints(1, 4, 5, 3), ints(3, 3, 2, 3), ints(1, 8, 10, 2)


        def L_dilate(x):
            y = jconv.conv2d_transpose(x, w_i, (1, 8, 10, 2), strides=2, padding="SAME",
                                       method="dilate")
            return jnp.sum(g_i * y)


        def convs(jaxpr):
            \"\"\"The conv_general_dilated equations of a jaxpr, sub-jaxprs included.\"\"\"
            for eqn in jaxpr.eqns:
                if eqn.primitive.name == "conv_general_dilated":
                    yield eqn
                for param in eqn.params.values():
                    inner = getattr(param, "jaxpr", None)
                    if inner is not None:
                        yield from convs(getattr(inner, "jaxpr", inner))


        for label, eqn in zip(["forward ", "backward"],
                              convs(jax.make_jaxpr(jax.grad(L_dilate))(x_i).jaxpr)):
            print(label, {k: eqn.params[k] for k in ("window_strides", "lhs_dilation", "padding")})
        """
    ),
    md(
        r"""
        ## Training a tiny decoder

        A decoder turns a small code into an image by upsampling. The task here: draw a Gaussian
        blob at a given position $p = (p_y, p_x)$ on a 16×16 canvas,

        $$t_p[u, v] = \exp\!\Big(-\frac{(u + \tfrac12 - p_y)^2 + (v + \tfrac12 - p_x)^2}{2\sigma^2}\Big),
        \qquad \sigma = 1.2 \text{ pixels},$$

        from a coarse code $z_p$ of shape $(4, 4, 8)$: the same position drawn on a 4×4 grid (a
        quarter of the resolution) as 8 Gaussian maps of widths $0.3 \cdot 1.3^c$ grid cells,
        $c = 0, \dots, 7$. The decoder has to upsample by 4 and sharpen:

        $$h = \operatorname{relu}\big(\operatorname{conv2d\_transpose}(z, w_1) + b_1\big) \in \mathbb{R}^{8 \times 8 \times 16},
        \qquad
        \hat t = \operatorname{conv2d\_transpose}(h, w_2) + b_2 \in \mathbb{R}^{16 \times 16 \times 1},$$

        both with 4×4 kernels, stride 2 and `SAME` padding (2,321 parameters in all). The loss is
        the mean squared error over a minibatch of 64 random positions, minimised with Adam written
        out by hand: with gradient $g_i$ at step $i$,

        $$m_i = \beta_1 m_{i-1} + (1 - \beta_1)\, g_i, \quad
          v_i = \beta_2 v_{i-1} + (1 - \beta_2)\, g_i^2, \quad
          \theta_i = \theta_{i-1} - \eta\, \frac{m_i / (1 - \beta_1^i)}{\sqrt{v_i / (1 - \beta_2^i)} + \epsilon},$$

        $\eta = 3\cdot 10^{-3}$, $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$. The
        parameters are a dict, and `jax.tree.map` applies the update to each array. Everything is
        float32; one jit-compiled step computes the loss, the gradients and the update. By the
        previous section's identity, the backward pass through the two transposed convolutions is
        two filter gradients plus one strided convolution, which carries the gradient from the
        output back to $h$.
        """
    ),
    code(
        """
        def blobs(pos, size=16, sigma=1.2):
            \"\"\"(N, size, size, 1) Gaussian blobs centred at pos (N, 2), in pixels.\"\"\"
            r = np.arange(size) + 0.5
            d2 = ((r[None, :, None] - pos[:, 0, None, None]) ** 2
                  + (r[None, None, :] - pos[:, 1, None, None]) ** 2)
            return np.exp(-d2 / (2 * sigma**2))[..., None].astype(np.float32)


        WIDTHS = 0.3 * 1.3 ** np.arange(8)   # in coarse grid cells


        def codes(pos, size=4, scale=4):
            \"\"\"(N, 4, 4, 8): the positions on the coarse grid, blurred at 8 widths.\"\"\"
            r = np.arange(size) + 0.5
            d2 = ((r[None, :, None] - pos[:, 0, None, None] / scale) ** 2
                  + (r[None, None, :] - pos[:, 1, None, None] / scale) ** 2)
            return np.exp(-d2[..., None] / (2 * WIDTHS**2)).astype(np.float32)


        pos_train = rng.uniform(2, 14, size=(512, 2))
        pos_test = rng.uniform(2, 14, size=(256, 2))
        z_train, t_train = codes(pos_train), blobs(pos_train)
        z_test, t_test = codes(pos_test), blobs(pos_test)


        def init(key):
            k1, k2 = jax.random.split(key)
            he = lambda shape: (2 / (shape[0] * shape[1] * shape[3])) ** 0.5  # fan-in k*k*C_in
            return {"w1": jax.random.normal(k1, (4, 4, 16, 8), jnp.float32) * he((4, 4, 16, 8)),
                    "b1": jnp.zeros(16, jnp.float32),
                    "w2": jax.random.normal(k2, (4, 4, 1, 16), jnp.float32) * he((4, 4, 1, 16)),
                    "b2": jnp.zeros(1, jnp.float32)}


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
                lambda p, m, v: p - lr * (m / (1 - b1**i)) / (jnp.sqrt(v / (1 - b2**i)) + eps),
                params, m, v)
            return params, m, v, loss


        params = init(jax.random.key(0))
        print("parameters:", sum(p.size for p in jax.tree.leaves(params)),
              {k: p.shape for k, p in params.items()})
        m = jax.tree.map(jnp.zeros_like, params)
        v = jax.tree.map(jnp.zeros_like, params)
        eval_loss = jax.jit(loss_fn)
        train_losses, test_losses = [], []
        steps = 1500
        for i in range(1, steps + 1):
            batch = rng.choice(len(pos_train), 64, replace=False)
            params, m, v, loss = adam_step(params, m, v, jnp.float32(i), z_train[batch],
                                           t_train[batch])
            train_losses.append(float(loss))
            if i == 1 or i % 50 == 0:
                test_losses.append((i, float(eval_loss(params, z_test, t_test))))
        print(f"minibatch loss: step 1 {train_losses[0]:.2e}, step {steps} {train_losses[-1]:.2e}")
        print(f"test loss (256 unseen positions): {test_losses[-1][1]:.2e}; "
              f"mean squared target {np.mean(t_test**2):.2e}")
        """
    ),
    code(
        """
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
        """
    ),
    md(
        r"""
        Eight unseen positions: the code the decoder gets (channel $c = 3$ of 8, at 4×4),
        the target and the decoder's output. The cross marks the position asked for.
        """
    ),
    code(
        """
        show = slice(0, 8)
        outputs = np.asarray(decode(params, z_test[show]))
        rows = [("code, channel 3 (4×4)", z_test[show, :, :, 3]),
                ("target (16×16)", t_test[show, :, :, 0]),
                ("decoder output", outputs[:, :, :, 0])]
        fig, axes = plt.subplots(3, 8, figsize=(12, 4.8))
        for r, (label, images) in enumerate(rows):
            for c in range(8):
                ax = axes[r, c]
                ax.imshow(images[c], cmap="magma", vmin=0, vmax=1,
                          extent=(0, 16, 16, 0))
                py, px = pos_test[c]
                ax.plot(px, py, "+", color="cyan", ms=8, mew=1.5)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[r, 0].set_ylabel(label, fontsize=8)
        plt.tight_layout()
        plt.show()
        err = np.abs(outputs - t_test[show]).max()
        print(f"largest pixel error over these 8: {err:.3f} (targets peak at about 1)")
        """
    ),
    md(
        r"""
        ## Speed: `jconv` against `jax.lax.conv_transpose`

        The decoder above spends its time in exactly two kinds of op: transposed convolutions
        forward, and their gradients — strided convolutions and filter gradients — backward.
        `jconv.bench` times both on decoder-shaped workloads, as a **forward** transposed
        convolution and as a **training step**: the value and the gradients with respect to the
        input and the kernel of $\sum \operatorname{conv\_transpose}(x, w)^2$, the same loss in
        every framework. The peers are `jax.lax.conv_transpose(..., transpose_kernel=True)` with
        the padding that makes it equal to TensorFlow's, and PyTorch's `F.conv_transpose2d` and
        TensorFlow's `tf.nn.conv2d_transpose` when those are installed. Each framework runs in its
        own subprocess, one after the other; every time is the median of at least 3 runs after
        warm-up. The workloads are the small (quarter-batch) set, float32:
        """
    ),
    code(
        """
        import importlib.util
        import os

        import jconv.bench

        names = ["patch2d", "unet2d"]
        for name in names:
            wl = jconv.bench.SMALL_WORKLOADS[name]
            print(f"{name:8s} {wl.description:20s} {str(wl.input_shape):18s} -> "
                  f"{str(wl.output_shape):18s} kernel {wl.kernel}, stride {wl.strides}, "
                  f"{wl.padding:5s} {wl.gflop:.2f} GFLOP")

        # PyTorch and TensorFlow only if installed (checked without importing them here).
        frameworks = ["jconv", "lax"] + [
            name for name, module in [("torch", "torch"), ("tf", "tensorflow")]
            if importlib.util.find_spec(module) is not None
        ]
        print("frameworks:", frameworks, "  backend:", jax.default_backend(),
              "  CPU cores:", os.cpu_count())
        """
    ),
    code(
        """
        rows = jconv.bench.run(names, frameworks=frameworks, small=True, repeats=3)

        print(f"{'workload':9s} {'op':8s} {'impl':6s} {'median ms':>10s} {'runs':>5s} "
              f"{'GFLOP/s':>8s} {'peer / jconv':>13s}")
        for r in rows:
            print(f"{r['workload']:9s} {r['op']:8s} {r['impl']:6s} {r['ms']:10.2f} {r['runs']:5d} "
                  f"{r['gflops']:8.1f} {r['jconv_speedup']:13.2f}")
        print("\\ngeometric mean of peer ms / jconv ms over the workloads (above 1: jconv faster):")
        for op, ratios in jconv.bench.geomeans(rows).items():
            print(f"  {op:8s}", "  ".join(f"{impl} {ratio:.2f}" for impl, ratio in ratios.items()))
        """
    ),
    code(
        """
        impls = [i for i in jconv.bench.FRAMEWORKS if any(r["impl"] == i for r in rows)]
        colors = {"jconv": "tab:blue", "lax": "tab:orange", "vjp": "tab:purple",
                  "torch": "tab:red", "tf": "tab:green"}
        width = 0.8 / len(impls)
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
        for ax, op in zip(axes, jconv.bench.OPS):
            for j, impl in enumerate(impls):
                ms = [next(r["ms"] for r in rows if (r["workload"], r["op"], r["impl"])
                           == (name, op, impl)) for name in names]
                pos = np.arange(len(names)) + (j - (len(impls) - 1) / 2) * width
                ax.bar(pos, ms, width, label=impl, color=colors[impl])
                for p_, t_ in zip(pos, ms):
                    ax.text(p_, t_ * 1.08, f"{t_:.3g}", ha="center", va="bottom", fontsize=7)
            ax.set_yscale("log")
            ax.set_xticks(np.arange(len(names)), names)
            ax.set_ylabel("median time (ms, log scale)")
            ax.set_title("forward transposed conv" if op == "forward"
                         else "training step: loss + gradients wrt input and kernel")
            ax.margins(y=0.15)
            ax.grid(axis="y", alpha=0.3, which="both")
        axes[0].legend(fontsize=8)
        fig.suptitle(f"jconv.bench, small workloads, float32, {jax.default_backend()} "
                     f"({os.cpu_count()} cores); lower is better")
        plt.tight_layout()
        plt.show()
        """
    ),
    md(
        r"""
        Reading the chart (the numbers above are from the run stored with this notebook; on
        another machine they differ, and busy cores inflate all of them):

        * **Forward.** Both are one XLA computation. On CPU `jconv`'s `method="auto"` uses
          `"col2im"` for these strided convolutions: one matmul
          $z[b, i, t, c] = \sum_o x[b, i, o]\, w[t, c, o]$ makes every tap's contribution with
          exactly the kernel's multiplies (none touches an inserted zero), and each tap's rows
          are added at output rows $i s + t$, phase by phase; `lax` runs one convolution with
          `lhs_dilation`.
        * **Training step.** JAX differentiates `lax.conv_transpose` with its own transpose rules:
          the input gradient becomes a strided convolution (as derived above) and the kernel
          gradient a convolution whose window is the whole output-gradient image. XLA's CPU
          backend runs such convolutions far below matmul speed, so the step costs many times
          the forward pass. Everything in `"col2im"` after its matmul is slices, pads and adds,
          so JAX's own gradient of it is matmuls (the im2col form of the forward convolution
          and of the filter gradient), and its step stays within a small multiple of its forward
          time, as the FLOP count (three forward-sized products) says it should.
        * PyTorch and TensorFlow, where installed, run their own CPU kernels; they are the
          outside yardstick, and the geometric means above summarise the comparison.
        * On GPU and TPU, `method="auto"` picks `"dilate"`, the same XLA lowering as `lax`.
        """
    ),
    md(
        r"""
        ## Summary

        * `jax.grad`, `jax.jacfwd`, `jax.jacrev` and Hessian-vector products (`jax.jvp` of
          `jax.grad`) go through `jconv.conv2d`, `jconv.conv2d_transpose` and
          `jconv.torch.conv_transpose2d`; in float64 they match central finite differences to about
          $10^{-10}$ and the plain `lax` formulations to rounding.
        * For $L = \sum g \odot \operatorname{conv2d\_transpose}(x, w)$:
          $\partial L / \partial x = \operatorname{conv2d}(g, w)$ with the same filter, strides and
          padding, and $\partial L / \partial w = \operatorname{conv2d\_backprop\_filter}(g,
          w.\text{shape}, x)$ — the forward input and output gradient swap roles. Exact on
          integer data.
        * A two-layer transposed-convolution decoder trains with a hand-written Adam step under
          one `jax.jit`.
        * `jconv.bench.run` compares forward and training-step times with `lax.conv_transpose`
          (and PyTorch/TensorFlow where installed); `python -m jconv bench` runs the full-size
          workloads.
        """
    ),
]

NOTEBOOKS = {
    "01_why_67": WHY_67,
    "02_four_ops_one_conv": FOUR_OPS,
    "03_output_sizes_and_conventions": SIZES_AND_CONVENTIONS,
    "04_gradients_and_speed": GRADIENTS_AND_SPEED,
}

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def build(name: str, cells: list[tuple[str, str]]):
    import nbformat

    nb = nbformat.v4.new_notebook()
    for i, (kind, source) in enumerate(cells):
        new = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(new(source, id=f"cell-{i:02d}"))
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return nb


def kernel_env() -> None:
    """Put the working tree first on the kernel's path (the kernel inherits os.environ)."""
    parts = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))


def coalesce_streams(outputs):
    """Merge consecutive stdout (stderr) chunks: how a print is split depends on timing."""
    merged = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.output_type == "stream" and prev is not None and prev.output_type == "stream"
                and prev.name == out.name):
            prev.text += out.text
        else:
            merged.append(out)
    return merged


def execute(nb, timeout: int = CELL_TIMEOUT_S, cwd: Path = HERE) -> None:
    from nbclient import NotebookClient

    kernel_env()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                print(f"  warning: stderr output in {cell.id}: {out['text'][:200]!r}")


def main(argv: list[str]) -> int:
    import nbformat

    run = "--no-execute" not in argv
    names = [a for a in argv if not a.startswith("--")] or list(NOTEBOOKS)
    for name in names:
        nb = build(name, NOTEBOOKS[name])
        start = time.perf_counter()
        if run:
            execute(nb)
        path = HERE / f"{name}.ipynb"
        nbformat.write(nb, path)
        seconds, kib = time.perf_counter() - start, path.stat().st_size / 1024
        print(f"{path.name}: {seconds:.1f} s, {kib:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
