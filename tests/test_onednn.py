"""oneDNN's direct convolution through XLA:CPU's ``__onednn$convolution`` call (jconv._onednn).

float32 only (the rest of the suite mostly runs in float64, where jconv never emits the call), on
integer-valued data, so every sum is exact and results compare with ``assert_array_equal``.
"""

import functools
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jconv
from jconv import _core, _onednn, derivations, reference
from jconv.derivations import auto

needs_onednn = pytest.mark.skipif(
    not _onednn.supported_here(), reason="oneDNN's custom call is only emitted on verified jaxlibs"
)


def _ints(rng, shape):
    return jnp.asarray(rng.integers(-3, 4, shape).astype(np.float32))


CONVS = [  # (x shape, w shape, padding)
    ((2, 7, 3), (3, 3, 4), ((1, 1),)),
    ((2, 5, 6, 3), (2, 3, 3, 5), ((1, 0), (0, 2))),
    ((1, 4, 4, 8), (1, 1, 8, 16), ((0, 0), (0, 0))),
    ((2, 4, 5, 3, 2), (2, 2, 3, 2, 6), ((1, 1), (0, 1), (2, 0))),
]


@pytest.mark.parametrize("x_shape, w_shape, padding", CONVS, ids=lambda v: str(v))
def test_conv_equals_numpy_loop(x_shape, w_shape, padding):
    rng = np.random.default_rng(0)
    x, w = _ints(rng, x_shape), _ints(rng, w_shape)
    want = reference.conv(np.asarray(x, np.float64), np.asarray(w, np.float64), 1, list(padding))
    np.testing.assert_array_equal(jax.jit(_onednn.conv, static_argnums=2)(x, w, padding), want)
    np.testing.assert_array_equal(_onednn.conv(x, w, padding), want)  # eager


@pytest.mark.parametrize("x_shape, w_shape, padding", CONVS[1:], ids=lambda v: str(v))
def test_conv_transforms_equal_patches(x_shape, w_shape, padding):
    """vmap over the input and over the kernel, both gradients and a jvp: as conv_patches."""
    rng = np.random.default_rng(1)
    x, w = _ints(rng, x_shape), _ints(rng, w_shape)
    ct = _ints(rng, _core.conv_patches(x, w, padding).shape)

    def results(f):
        loss = lambda a, b: jnp.vdot(ct, f(a, b))  # noqa: E731
        return jax.jit(
            lambda a, b: (
                jax.vmap(f, (0, None))(jnp.stack([a, -a, 2 * a]), b),
                jax.vmap(f, (None, 0))(a, jnp.stack([b, -b])),
                *jax.grad(loss, (0, 1))(a, b),
                jax.jvp(f, (a, b), (a[::-1], b[..., ::-1]))[1],
            )
        )(x, w)

    got = results(lambda a, b: _onednn.conv(a, b, padding))
    want = results(lambda a, b: _core.conv_patches(a, b, padding))
    for label, a, b in zip(("vmap x", "vmap w", "d/dx", "d/dw", "jvp"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=label)


@needs_onednn
def test_enabled_and_emitted():
    """On a verified jaxlib the first-use check passes and the call is in the compiled program."""
    assert _onednn.enabled()
    x, w = jnp.zeros((1, 4, 4, 4, 2)), jnp.zeros((2, 2, 2, 2, 3))
    f = jax.jit(lambda a, b: _onednn.conv(a, b, ((1, 0),) * 3))
    assert "__onednn$convolution" in f.lower(x, w).compile().as_text()


@needs_onednn
def test_first_use_check_runs_on_this_process_device(monkeypatch):
    """In a multi-process run ``jax.devices()`` lists every process's devices, process 0's
    first; the check must use this process's own device, or it fails off process 0 and the
    processes trace different programs (a collective that never completes). Here
    ``jax.devices`` answers with a device of another process."""

    class OtherProcessDevice:
        platform, process_index = "cpu", 1

    monkeypatch.setattr(jax, "devices", lambda *a, **k: [OtherProcessDevice()])
    assert _onednn.enabled.__wrapped__()


PHASE_CASES = [  # (rank, out sizes, kernel, strides, padding, C_in, C_out)
    (2, (10, 9), (3, 3), (2, 2), "SAME", 3, 4),
    (2, (8, 8), (4, 4), (2, 2), "SAME", 2, 5),
    (2, (6, 7), (3, 2), (1, 1), "VALID", 3, 2),
    (3, (8, 6, 8), (4, 4, 4), (2, 2, 2), "SAME", 3, 2),
    (3, (7, 5, 6), (3, 2, 3), (2, 1, 3), "VALID", 2, 3),
]


def _phase_results(method, case, monkeypatch=None):
    rank, n, k, s, p, cin, cout = case
    rng = np.random.default_rng(2)
    d = (1,) * rank
    m = jconv.conv_output_shape(n, k, s, p, d)
    p_dims = [p] * rank
    pads = tuple(jconv._shapes.resolve_padding(pi, *a) for pi, a in zip(p_dims, zip(n, k, s, d)))
    dy, w = _ints(rng, (2, *m, cout)), _ints(rng, (*k, cin, cout))
    ct = _ints(rng, (2, *n, cin))
    settings = dict(out_sizes=n, strides=s, padding=pads, dilations=d, groups=1)
    op = functools.partial(derivations.TRANSPOSE[method], **settings)
    loss = lambda a, b: jnp.vdot(ct, op(a, b))  # noqa: E731
    f = jax.jit(
        lambda a, b: (
            op(a, b),
            *jax.grad(loss, argnums=(0, 1))(a, b),
            jax.jvp(op, (a, b), (a[::-1], b[..., ::-1]))[1],
            jax.vmap(op, in_axes=(0, None))(jnp.stack([a, -a]), b),
        )
    )
    return f(dy, w), f.lower(dy, w).compile().as_text()


@pytest.mark.parametrize("case", PHASE_CASES, ids=lambda c: f"{c[0]}d-k{c[2]}-s{c[3]}-{c[4]}")
def test_phase_float32_equals_dilate(case):
    """ "phase" in float32 (its correlations through oneDNN where enabled): value, both
    gradients, a jvp and a vmap equal "dilate" exactly."""
    got, text = _phase_results("phase", case)
    want, _ = _phase_results("dilate", case)
    assert ("__onednn$convolution" in text) == _onednn.enabled()
    for label, a, b in zip(("value", "d/d dy", "d/d w", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=label)


@needs_onednn
def test_phase_col2im_2d_values_through_onednn():
    """A 2-D "phase+col2im" with k % s != 0 takes its values from "phase" (so oneDNN), where
    "col2im" never calls it; results equal "dilate"."""
    case = PHASE_CASES[0]
    want, _ = _phase_results("dilate", case)
    got, text = _phase_results("col2im", case)
    assert "__onednn$convolution" not in text
    got, text = _phase_results("phase+col2im", case)
    assert "__onednn$convolution" in text
    for label, a, b in zip(("value", "d/d dy", "d/d w", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=label)


FILTER_GRAD_CHUNK_CASES = [  # (x shape, kernel sizes, strides, dilations, padding, groups, C_out)
    ((5, 9, 3), (3,), (2,), (1,), ((1, 1),), 1, 4),
    ((6, 7, 6, 4), (3, 2), (2, 1), (1, 2), ((1, 0), (0, 2)), 2, 6),
    ((4, 5, 4, 6, 2), (2, 3, 2), (1, 2, 1), (1, 1, 2), ((1, 1), (0, 1), (1, 0)), 1, 3),
]


@needs_onednn
@pytest.mark.parametrize("case", FILTER_GRAD_CHUNK_CASES, ids=lambda c: f"{len(c[1])}d-n{c[0][0]}")
def test_onednn_filter_grad_in_batch_chunks_equals_patches(case, monkeypatch):
    """ "onednn" sums the batch in chunks of examples (lax.map) once x and dy exceed
    ONEDNN_FILTER_GRAD_SPLIT_BYTES: with both budgets one byte (chunks of 2 examples, an odd
    batch leaves a chunk of 1 outside the loop) the traced op loops over oneDNN's conv, and its
    value, gradients, jvp and vmap equal "patches" exactly."""
    xs, k, s, d, p, g, cout = case
    rng = np.random.default_rng(9)
    m = [
        (n + lo + hi - (u - 1) * e - 1) // st + 1
        for n, (lo, hi), u, st, e in zip(xs[1:-1], p, k, s, d)
    ]
    x, dy = _ints(rng, xs), _ints(rng, (xs[0], *m, cout))
    ct = _ints(rng, (*k, xs[-1] // g, cout))
    settings = dict(kernel_sizes=k, strides=s, padding=p, dilations=d, groups=g)

    def results(method):
        op = functools.partial(derivations.FILTER_GRAD[method], **settings)
        loss = lambda a, b: jnp.vdot(ct, op(a, b))  # noqa: E731
        f = jax.jit(
            lambda a, b: (
                op(a, b),
                *jax.grad(loss, argnums=(0, 1))(a, b),
                jax.jvp(op, (a, b), (a[::-1], b[::-1]))[1],
                jax.vmap(op, in_axes=(None, 0))(a, jnp.stack([b, -b])),
            )
        )
        return f(x, dy), str(jax.make_jaxpr(op)(x, dy))

    want, _ = results("patches")
    _, text = results("onednn")
    assert "scan" not in text
    monkeypatch.setattr(derivations.filter_grad, "ONEDNN_FILTER_GRAD_SPLIT_BYTES", 0)
    monkeypatch.setattr(derivations.filter_grad, "ONEDNN_FILTER_GRAD_CHUNK_BYTES", 1)
    got, text = results("onednn")
    assert "scan" in text and "onednn" in text
    for label, a, b in zip(("value", "d/d x", "d/d dy", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=label)


DEPTHWISE_CASES = [  # (x shape, kernel sizes, dilations, padding): stride 1, C groups
    ((3, 7, 6, 4), (3, 2), (1, 2), ((1, 1), (0, 2))),
    ((1, 6, 5, 2), (3, 3), (1, 1), ((1, 1), (1, 1))),
    ((2, 5, 4, 6, 3), (2, 3, 2), (1, 1, 2), ((1, 0), (1, 1), (0, 1))),
]


@needs_onednn
@pytest.mark.parametrize("case", DEPTHWISE_CASES, ids=lambda c: f"{len(c[1])}d-n{c[0][0]}")
def test_onednn_depthwise_filter_grad_per_example_equals_patches(case, monkeypatch):
    """ "onednn" sums a stride-1 depthwise filter gradient example by example (each a depthwise
    conv of x[b] with dy[b] as its kernel), never through the grouped batch layout, and its
    value, gradients, jvp and vmap equal "patches" exactly; auto picks it."""
    xs, k, d, p = case
    rank, c = len(k), xs[-1]
    rng = np.random.default_rng(4)
    m = [n + lo + hi - (u - 1) * e for n, (lo, hi), u, e in zip(xs[1:-1], p, k, d)]
    x, dy = _ints(rng, xs), _ints(rng, (xs[0], *m, c))
    ct = _ints(rng, (*k, 1, c))
    settings = dict(kernel_sizes=k, strides=(1,) * rank, padding=p, dilations=d, groups=c)
    assert auto.filter_grad_method_for(x, dy, k, c, (1,) * rank) == "onednn"

    def results(method):
        op = functools.partial(derivations.FILTER_GRAD[method], **settings)
        loss = lambda a, b: jnp.vdot(ct, op(a, b))  # noqa: E731
        return jax.jit(
            lambda a, b: (
                op(a, b),
                *jax.grad(loss, argnums=(0, 1))(a, b),
                jax.jvp(op, (a, b), (a[::-1], b[::-1]))[1],
                jax.vmap(op, in_axes=(None, 0))(a, jnp.stack([b, -b])),
            )
        )(x, dy)

    want = results("patches")
    monkeypatch.setattr(derivations.filter_grad, "_onednn_filter_grad_whole", None)
    got = results("onednn")
    for label, a, b in zip(("value", "d/d x", "d/d dy", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=label)


FOLDED_CASES = [  # (x shape, kernel sizes, strides, dilations, padding, groups, C_out)
    ((1, 17, 4, 5, 3), (3, 2, 2), (1, 2, 1), (1, 1, 2), ((1, 1), (0, 1), (1, 0)), 1, 2),
    ((1, 34, 5, 4), (3, 2), (2, 1), (1, 1), ((0, 0), (1, 0)), 2, 4),
]


@needs_onednn
@pytest.mark.parametrize("case", FOLDED_CASES, ids=lambda c: f"{len(c[1])}d")
def test_onednn_filter_grad_folded_equals_patches(case, monkeypatch):
    """A "onednn" filter gradient of one example folds its first dim into the batch (one
    filter gradient of one rank lower per tap of that dim; the 2-D case is grouped and its
    padded input cropped by a row), never one conv of the full rank, and its value, gradients,
    jvp and vmap equal "patches" exactly."""
    xs, k, s, d, p, g, cout = case
    rng = np.random.default_rng(5)
    m = [
        (n + lo + hi - (u - 1) * e - 1) // t + 1
        for n, (lo, hi), u, e, t in zip(xs[1:-1], p, k, d, s)
    ]
    x, dy = _ints(rng, xs), _ints(rng, (xs[0], *m, cout))
    ct = _ints(rng, (*k, xs[-1] // g, cout))
    settings = dict(kernel_sizes=k, strides=s, padding=p, dilations=d, groups=g)
    assert derivations.filter_grad.folded_form(len(k), xs[0], depthwise=False)
    assert auto.filter_grad_method_for(x, dy, k, g, s) == "onednn"

    def results(method):
        op = functools.partial(derivations.FILTER_GRAD[method], **settings)
        loss = lambda a, b: jnp.vdot(ct, op(a, b))  # noqa: E731
        return jax.jit(
            lambda a, b: (
                op(a, b),
                *jax.grad(loss, argnums=(0, 1))(a, b),
                jax.jvp(op, (a, b), (a[::-1], b[::-1]))[1],
                jax.vmap(op, in_axes=(None, 0))(a, jnp.stack([b, -b])),
            )
        )(x, dy)

    want = results("patches")
    whole = derivations.filter_grad._onednn_filter_grad_whole

    def two_d_only(x, dy, **settings):
        assert x.ndim == len(k) + 1, x.shape  # the folded convs are of one rank lower
        return whole(x, dy, **settings)

    monkeypatch.setattr(derivations.filter_grad, "_onednn_filter_grad_whole", two_d_only)
    got = results("onednn")
    for label, a, b in zip(("value", "d/d x", "d/d dy", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=label)


def test_switched_off_by_environment(tmp_path):
    """``JCONV_ONEDNN=0``: never emitted, and "phase" computes the same (in a fresh process)."""
    code = (
        "import jax, jax.numpy as jnp, numpy as np, jconv\n"
        "from jconv import _onednn\n"
        "assert not _onednn.enabled()\n"
        "rng = np.random.default_rng(3)\n"
        "x = jnp.asarray(rng.integers(-3, 4, (1, 4, 4, 4, 2)).astype(np.float32))\n"
        "w = jnp.asarray(rng.integers(-3, 4, (4, 4, 4, 3, 2)).astype(np.float32))\n"
        "f = jax.jit(lambda a: jconv.conv3d_transpose(a, w, (1, 8, 8, 8, 3), 2, 'SAME',"
        " method='phase'))\n"
        "assert '__onednn' not in f.lower(x).compile().as_text()\n"
        "np.save(__import__('sys').argv[1], np.asarray(f(x)))\n"
    )
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.integers(-3, 4, (1, 4, 4, 4, 2)).astype(np.float32))
    w = jnp.asarray(rng.integers(-3, 4, (4, 4, 4, 3, 2)).astype(np.float32))
    here = jconv.conv3d_transpose(x, w, (1, 8, 8, 8, 3), 2, "SAME", method="phase")
    env = dict(os.environ, JCONV_ONEDNN="0")
    path = str(tmp_path / "off.npy")
    run = [sys.executable, "-c", code, path]
    out = subprocess.run(run, env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    np.testing.assert_array_equal(np.load(path), here)


_STRESS = r"""
import sys
import numpy as np, jax
from jconv import _onednn, reference
assert _onednn.enabled()
rng = np.random.default_rng(int(sys.argv[1]))
done = 0
while done < int(sys.argv[2]):
    r = int(rng.integers(1, 4))
    g = int(rng.choice([1, 1, 2, 3]))
    cin, cout = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
    if rng.random() < 0.25:  # depthwise, with a channel multiplier
        g = cin
        cout = cin * int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 4, r))
    s = tuple(int(v) for v in rng.integers(1, 4, r))
    d = tuple(int(v) for v in rng.integers(1, 3, r))
    if rng.random() < 0.5:  # stride 1, undilated: the padding stays in oneDNN's kernel
        s, d = (1,) * r, (1,) * r
    n = tuple(int(v) for v in rng.integers(1, 7, r))
    p = tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (r, 2)))
    if any(m + a + b < (u - 1) * e + 1 for m, (a, b), u, e in zip(n, p, k, d)):
        continue
    x = rng.integers(-3, 4, (int(rng.integers(1, 3)), *n, cin)).astype(np.float32)
    w = rng.integers(-3, 4, (*k, cin // g, cout)).astype(np.float32)
    got = jax.jit(lambda a, b: _onednn.conv(a, b, p, s, d, g))(x, w)
    want = reference.conv(x, w, s, p, d)  # NumPy loops: no second compile per config
    if not np.array_equal(np.asarray(got), np.asarray(want)):
        print("DIFFERS", x.shape, w.shape, s, p, d, g)
        sys.exit(1)
    done += 1
print("ok", done)
"""


@needs_onednn
def test_random_strided_grouped_padded_convs_finish_and_match():
    """oneDNN's kernels on this jaxlib hang on some padded grouped convs with strides or
    dilations and read uninitialised memory on some strided one-channel convs;
    :func:`jconv._onednn.conv` writes the padding into the input there and adds a zero channel
    (stride-1 convs keep their padding in oneDNN). Random small
    configurations (ranks 1-3, groups, depthwise, strides, dilations, padding; half of them at
    stride 1) run in a subprocess with a timeout, so a hang fails the test instead of stopping
    the suite."""
    proc = subprocess.run(
        [sys.executable, "-c", _STRESS, "7", "80"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0 and "ok 80" in proc.stdout, proc.stdout + proc.stderr[-2000:]
