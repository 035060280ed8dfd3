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
# # Output sizes and conventions
#
# A transposed convolution undoes the *shape* change of a forward convolution. This notebook
# covers which output sizes are possible, how `SAME`, `VALID` and explicit padding decide
# them (and where an odd pad goes), and how TensorFlow, PyTorch and `jax.lax` each spell the
# same operation: filter layout, kernel flip, padding.
#
# Notation per spatial dimension: forward input size $n$ (the transposed conv's output),
# forward output size $m$ (its input), kernel $k$, dilation $d$ with
# $k_\text{eff} = (k - 1)d + 1$, stride $s$, padding $(\text{lo}, \text{hi})$. The forward
# convolution produces
#
# $$m = \left\lfloor \frac{n + \text{lo} + \text{hi} - k_\text{eff}}{s} \right\rfloor + 1 .$$

# %%
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from jax import lax

import jconv
from jconv import reference

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "font.size": 9})
np.set_printoptions(linewidth=110, suppress=True)

# %% [markdown]
# ## Which sizes a stride-2 transposed convolution can produce
#
# For $s > 1$ the floor makes $n \mapsto m$ many-to-one: up to $s$ input sizes give the same
# $m$. A transposed convolution from $m$ can return any of them:
#
# * `VALID`: $(m - 1)s + k_\text{eff} \le n \le (m - 1)s + k_\text{eff} + s - 1$;
# * `SAME` ($m = \lceil n / s \rceil$): $(m - 1)s + 1 \le n \le ms$, independent of $k$;
# * explicit $(\text{lo}, \text{hi})$: the `VALID` range shifted by
#   $-(\text{lo} + \text{hi})$.
#
# `jconv.conv_transpose_output_shapes` returns the inclusive range per dimension:

# %%
ms, ks = range(1, 6), range(1, 6)
for padding in ["VALID", "SAME"]:
    print(f"{padding}, stride 2: legal n for input size m (rows) and kernel k (columns)")
    print("m \\ k " + "".join(f"{k:>8d}" for k in ks))
    for m in ms:
        cells = []
        for k in ks:
            ((lo, hi),) = jconv.conv_transpose_output_shapes((m,), k, strides=2, padding=padding)
            cells.append(f"{lo}..{hi}")
        print(f"{m:5d}  " + "".join(f"{c:>8s}" for c in cells))
    print()

# %% [markdown]
# The staircase behind the table: the forward output size $m$ as a function of $n$ for
# $k = 3$, $s = 2$. Each flat step is one $m$; its width is the set of $n$ a transposed
# convolution from that $m$ may produce.

# %%
ns = np.arange(1, 15)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)
for ax, padding in zip(axes, ["VALID", "SAME"]):
    valid_ns = [n for n in ns if padding == "SAME" or n >= 3]
    m_of_n = [jconv.conv_output_shape((n,), 3, strides=2, padding=padding)[0] for n in valid_ns]
    ax.step(valid_ns, m_of_n, where="mid", color="tab:blue")
    ax.plot(valid_ns, m_of_n, "o", color="tab:blue")
    for m in sorted(set(m_of_n)):
        ((lo, hi),) = jconv.conv_transpose_output_shapes((m,), 3, strides=2, padding=padding)
        ax.annotate(
            f"n = {lo}..{hi}",
            ((lo + hi) / 2, m),
            textcoords="offset points",
            xytext=(0, -13),
            ha="center",
            fontsize=8,
            color="tab:red",
        )
    ax.set_title(f"{padding}, k = 3, s = 2")
    ax.set_xlabel("forward input n = transposed output")
    ax.set_xticks(ns)
    ax.set_ylim(0.2, 7.5)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("forward output m")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Unreachable output sizes
#
# Asking for a size outside the range raises a `ValueError` that names the argument, the
# value and the legal range — never a silent clamp or crop. Without `output_shape`, `jconv`
# follows Keras: `SAME` gives $ms$, `VALID` gives $ms + \max(k_\text{eff} - s, 0)$, explicit
# padding the smallest legal size (PyTorch's `output_padding=0`).

# %%
dy = np.ones((1, 3, 3, 1), np.float32)
w = np.ones((3, 3, 1, 1), np.float32)
for padding, shape in [
    ("VALID", (1, 9, 7, 1)),
    ("SAME", (1, 6, 4, 1)),
    ([(1, 1), (1, 1)], (1, 5, 8, 1)),
]:
    try:
        jconv.conv2d_transpose(dy, w, output_shape=shape, strides=2, padding=padding)
    except ValueError as err:
        print("ValueError:", err)

for padding in ["VALID", "SAME", [(1, 1), (1, 1)]]:
    print(
        f"default output for padding={padding!r}:",
        jconv.conv2d_transpose(dy, w, strides=2, padding=padding).shape,
    )

# %% [markdown]
# ## `SAME`, `VALID`, explicit padding, and where the odd pad goes
#
# * `VALID`: no padding; windows that would run past the end are dropped, so trailing
#   inputs can go unread.
# * `SAME` (TensorFlow): $m = \lceil n/s \rceil$. The padded input must hold the last window,
#   which starts at $(m - 1)s$:
#   $$\text{total} = \max\big((m - 1)s + k_\text{eff} - n,\ 0\big),\qquad
#     \text{lo} = \lfloor \text{total}/2 \rfloor,\qquad
#     \text{hi} = \text{total} - \text{lo}.$$
#   When the total is odd, the extra zero goes **after** the input.
# * Explicit: `padding=[(lo, hi), ...]`, one pair per spatial dimension (PyTorch's `padding=p`
#   is $(p, p)$).
#
# Example: $n = 5$, $k = 4$, $s = 2$ gives $m = 3$, total $= 2\cdot 2 + 4 - 5 = 3$, so
# $(\text{lo}, \text{hi}) = (1, 2)$. Numerically, `SAME` equals explicit `(1, 2)` and not
# `(2, 1)`:

# %%
x1 = np.arange(1.0, 6.0, dtype=np.float32).reshape(1, 5, 1)  # n = 5
w1 = np.array([1.0, 10.0, 100.0, 1000.0], np.float32).reshape(4, 1, 1)  # k = 4
same = jconv.conv1d(x1, w1, stride=2, padding="SAME")
for pads in ([(1, 2)], [(2, 1)]):
    other = jconv.conv1d(x1, w1, stride=2, padding=pads)
    print(
        f"padding={pads}: {np.asarray(other)[0, :, 0]}   equal to SAME:",
        bool(np.array_equal(same, other)),
    )
print("SAME:            ", np.asarray(same)[0, :, 0])
valid = jconv.conv1d(x1, w1, stride=2, padding="VALID")
print("VALID:           ", np.asarray(valid)[0, :, 0])


# %%
def draw_windows(ax, n, k, s, lo, hi, title):
    m = (n + lo + hi - k) // s + 1
    for p in range(n + lo + hi):
        is_pad = p < lo or p >= lo + n
        ax.add_patch(
            plt.Rectangle(
                (p, 0),
                0.95,
                0.95,
                fc="0.85" if is_pad else "tab:blue",
                ec="black",
                hatch="//" if is_pad else None,
            )
        )
        ax.text(
            p + 0.47,
            0.47,
            "0" if is_pad else f"x{p - lo}",
            ha="center",
            va="center",
            color="black" if is_pad else "white",
            fontsize=8,
        )
    for i in range(m):
        ax.add_patch(
            plt.Rectangle((i * s, -0.9 - 0.7 * i), k - 0.05, 0.5, fc="tab:orange", alpha=0.8)
        )
        ax.text(i * s - 0.2, -0.65 - 0.7 * i, f"y{i}", ha="right", va="center", fontsize=8)
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

# %% [markdown]
# The transposed convolution with the same settings runs this picture backwards: each
# $y_i$ stamps the kernel onto the window it came from, and stamps landing in the padding
# (grey) are dropped. So padding in a transposed convolution *crops* its output: PyTorch's
# `ConvTranspose2d(padding=p)` removes $p$ rows from each end of the full overlay.
#
# ## Conventions side by side
#
# * **TF `tf.nn.conv2d_transpose` and `jconv.conv2d_transpose`**
#   * filter shape: $(k_h, k_w, C_\text{out}, C_\text{in})$, the forward conv's filter;
#   * kernel flip: none by the caller; the op is the transpose of a correlation with $w$ (it
#     correlates with $\operatorname{rot180}(w)$ internally);
#   * output size: `output_shape`, within the legal range.
# * **PyTorch `nn.ConvTranspose2d` and `jconv.torch.conv_transpose2d`**
#   * filter shape: `weight` $(C_\text{in}, C_\text{out}/g, k_h, k_w)$;
#   * kernel flip: as in TF;
#   * output size: $(m-1)s - 2p + d(k-1) + \mathrm{output\_padding} + 1$.
# * **`jax.lax.conv_transpose`**
#   * filter shape: set by `dimension_numbers`;
#   * kernel flip: with `transpose_kernel=False` (the default) the zero-inserted input is
#     *correlated* with the kernel as given — no flip, no channel swap; `transpose_kernel=True`
#     flips both spatial axes and swaps I/O, the gradient semantics of TF and PyTorch;
#   * output size: its own rule, `SAME` $ms$, `VALID` $ms + \max(k - s, 0)$.
#
# ### `jax.lax.conv_transpose`
#
# Passing TF's filter with `dimension_numbers=('NHWC', 'HWIO', 'NHWC')` and
# `transpose_kernel=True` reproduces `jconv.conv2d_transpose` whenever the two agree on the
# output size. Over a grid of kernel sizes, strides and input sizes, in 1-D:

# %%
rng = np.random.default_rng(0)


def ints(*shape):
    return rng.integers(-4, 5, size=shape).astype(np.float32)


agree = total = 0
for padding in ["VALID", "SAME"]:
    for s in [1, 2, 3]:
        for k in [1, 2, 3, 4, 5]:
            for m in [1, 2, 3, 4]:
                dy, w = ints(1, m, 2), ints(k, 3, 2)  # TF filter (k, out, in)
                a = lax.conv_transpose(
                    dy,
                    w,
                    (s,),
                    padding,
                    dimension_numbers=("NWC", "WIO", "NWC"),
                    transpose_kernel=True,
                )
                b = jconv.conv1d_transpose(dy, w, a.shape, strides=s, padding=padding)
                agree += bool(np.array_equal(a, b))
                total += 1
print(
    f"lax.conv_transpose(transpose_kernel=True) == jconv.conv1d_transpose: "
    f"{agree}/{total} configurations"
)

# %% [markdown]
# And the 2-D call of the classic Stack Overflow `conv2d_transpose` example from notebook 1
# (stride 2, `VALID`, output 5×5). Without
# `transpose_kernel` the kernel is used as given: the TF filter's channel axes are then in
# the wrong order (an error unless $C_\text{in} = C_\text{out}$), and with them swapped the
# result is the transposed convolution of $\operatorname{rot180}(w)$ — the naive 603.

# %%
dn = ("NHWC", "HWIO", "NHWC")
x = np.array([[-67.0, -77.0], [-117.0, -127.0]], np.float32).reshape(1, 2, 2, 1)
f = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0], [-7.0, 8.0, -9.0]], np.float32).reshape(
    3, 3, 1, 1
)
tf_like = jconv.conv2d_transpose(x, f, (1, 5, 5, 1), strides=2, padding="VALID")
with_tk = lax.conv_transpose(x, f, (2, 2), "VALID", dimension_numbers=dn, transpose_kernel=True)
without = lax.conv_transpose(x, f, (2, 2), "VALID", dimension_numbers=dn)
np.testing.assert_array_equal(with_tk, tf_like)
print("transpose_kernel=True :", np.asarray(with_tk)[0, 0, :, 0])
print("transpose_kernel=False:", np.asarray(without)[0, 0, :, 0])
np.testing.assert_array_equal(
    without, jconv.conv2d_transpose(x, jconv.rot180(f), (1, 5, 5, 1), strides=2, padding="VALID")
)

# Multi-channel: without transpose_kernel the TF filter (k, k, C_out=2, C_in=5) needs
# its I/O axes swapped.
x5, w25 = ints(1, 3, 4, 5), ints(3, 3, 2, 5)
try:
    lax.conv_transpose(x5, w25, (2, 2), "VALID", dimension_numbers=dn)
except (TypeError, ValueError) as err:
    print(type(err).__name__ + ":", str(err).splitlines()[0])
np.testing.assert_array_equal(
    lax.conv_transpose(x5, w25, (2, 2), "VALID", dimension_numbers=dn, transpose_kernel=True),
    jconv.conv2d_transpose(x5, w25, (1, 7, 9, 2), strides=2, padding="VALID"),
)
print("5 -> 2 channels, transpose_kernel=True: equal to jconv.conv2d_transpose")
swapped = lax.conv_transpose(x5, jnp.swapaxes(w25, 2, 3), (2, 2), "VALID", dimension_numbers=dn)
np.testing.assert_array_equal(
    swapped,
    jconv.conv2d_transpose(x5, jconv.rot180(w25), swapped.shape, strides=2, padding="VALID"),
)
print("with I/O swapped and no transpose_kernel: conv2d_transpose of rot180(w)")


# %% [markdown]
# ### PyTorch `ConvTranspose2d`
#
# PyTorch stores the weight as $(C_\text{in}, C_\text{out}/g, k_h, k_w)$ — input channels of
# the *transposed* op first — and, like TF, does not flip it: `ConvTranspose2d` is the
# input gradient of `Conv2d` with the same weight. To port a weight to TF's
# $(k_h, k_w, C_\text{out}, C_\text{in})$ (groups = 1):
#
# $$w_\text{tf} = \texttt{np.transpose}(w_\text{torch}, (2, 3, 1, 0)),$$
#
# data goes from NCHW to NHWC, `padding=p` becomes explicit $(p, p)$ per dimension, and the
# output size is $n = (m - 1)s - 2p + d(k - 1) + \mathrm{output\_padding} + 1$. The port is
# checked against the NumPy loop reference; if PyTorch is installed, also against PyTorch
# itself.


# %%
def torch_out_size(m, k, s, p, d, output_padding):
    return (m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


w_torch = ints(5, 2, 3, 3)  # (C_in, C_out, k, k) of ConvTranspose2d(5, 2, 3)
x_nchw = ints(1, 5, 3, 4)
w_tf = np.transpose(w_torch, (2, 3, 1, 0))
x_nhwc = np.transpose(x_nchw, (0, 2, 3, 1))

cases = [
    dict(s=2, p=0, d=1, op=0),
    dict(s=2, p=1, d=1, op=0),
    dict(s=2, p=1, d=1, op=1),
    dict(s=3, p=2, d=2, op=2),
]
ported = {}
for c in cases:
    n = tuple(torch_out_size(m, 3, c["s"], c["p"], c["d"], c["op"]) for m in (3, 4))
    kw = dict(strides=c["s"], padding=[(c["p"], c["p"])] * 2, dilations=c["d"])
    got = np.asarray(jconv.conv2d_transpose(x_nhwc, w_tf, n, **kw))
    np.testing.assert_array_equal(got, reference.conv_transpose(x_nhwc, w_tf, n, **kw))
    ported[tuple(c.values())] = got
    print(
        f"s={c['s']} p={c['p']} d={c['d']} output_padding={c['op']}: output {n}, "
        "jconv == NumPy reference"
    )

# %%
try:
    import torch
except ImportError:
    print("torch is not installed; skipping the live PyTorch comparison")
else:
    for (s, p, d, op), got in ported.items():
        layer = torch.nn.ConvTranspose2d(
            5, 2, 3, stride=s, padding=p, dilation=d, output_padding=op, bias=False
        )
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w_torch))
            want = layer(torch.from_numpy(x_nchw)).numpy()
        np.testing.assert_array_equal(np.transpose(want, (0, 2, 3, 1)), got)
        print(
            f"s={s} p={p} d={d} output_padding={op}: torch.nn.ConvTranspose2d == "
            "jconv.conv2d_transpose(ported weight)"
        )

# %% [markdown]
# ### One picture
#
# A 1-D transposed convolution of $y = [1, 2]$ with the kernel $w = [1, 2, 3]$ at stride 2.
# TensorFlow, `jconv`, PyTorch and `lax.conv_transpose(transpose_kernel=True)` stamp $w$ as
# written, $1\cdot[1,2,3]$ at 0 and $2\cdot[1,2,3]$ at 2, giving $[1, 2, 5, 4, 6]$.
# `lax.conv_transpose` without `transpose_kernel` stamps the reversed kernel,
# $[3, 2, 7, 4, 2]$. PyTorch's `padding=1` crops one element from each end of the same
# overlay.

# %%
y1 = np.array([1.0, 2.0], np.float32).reshape(1, 2, 1)
k1 = np.array([1.0, 2.0, 3.0], np.float32).reshape(3, 1, 1)
dn1 = ("NWC", "WIO", "NWC")
conventions = {
    "TF / jconv.conv1d_transpose": jconv.conv1d_transpose(y1, k1, (5,), strides=2, padding="VALID"),
    "lax.conv_transpose, transpose_kernel=True": lax.conv_transpose(
        y1, k1, (2,), "VALID", dimension_numbers=dn1, transpose_kernel=True
    ),
    "lax.conv_transpose, default (no flip)": lax.conv_transpose(
        y1, k1, (2,), "VALID", dimension_numbers=dn1
    ),
    "PyTorch ConvTranspose1d(padding=1), ported": jconv.conv1d_transpose(
        y1, np.transpose(k1.reshape(1, 1, 3), (2, 1, 0)), (3,), strides=2, padding=[(1, 1)]
    ),
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
    np.testing.assert_array_equal(
        live, np.asarray(conventions["PyTorch ConvTranspose1d(padding=1), ported"]).ravel()
    )

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

# %% [markdown]
# ## Summary
#
# * A stride-$s$ transposed convolution has up to $s$ legal output sizes; ask
#   `jconv.conv_transpose_output_shapes` for the range, pass one as `output_shape`.
# * TF's `SAME` puts the smaller half of the padding first: $\text{lo} = \lfloor
#   \text{total}/2 \rfloor$, the odd pad after.
# * TF and PyTorch agree on the operation (no flip by the caller) and differ in layout:
#   `w_tf = np.transpose(w_torch, (2, 3, 1, 0))`, `padding=p` is `[(p, p)] * 2`.
# * `jax.lax.conv_transpose` matches them only with `transpose_kernel=True`.
