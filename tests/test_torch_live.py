"""``jconv.torch`` against PyTorch itself, live: ``torch.nn.functional`` and ``torch.nn.grad``.

Forty configurations are drawn with a fixed seed (the first forty legal draws; nothing tuned):
every op kind, rank 1-3, groups 1-3, strides 1-3, dilations 1-2, int/tuple/"same"/"valid"
padding, every legal ``output_padding`` (including ``>= stride`` when ``dilation > stride``),
bias or not, batched or unbatched where PyTorch takes both. Each runs

* in float64 on integer-valued data: exact equality;
* in float32 on random normal data: ``rtol=1e-5`` (PyTorch's CPU kernels sum in another order);

under ``jax.jit`` (settings closed over) with every method in one compiled function per dtype, and
eagerly with ``method="auto"`` in float64. PyTorch runs on one thread.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jconv
import jconv.torch as jt

torch = pytest.importorskip("torch")
F = torch.nn.functional
torch.set_num_threads(1)

SEED = 20240613
KINDS = ("conv", "conv_transpose", "conv_input", "conv_weight")


def _form(rng, values):
    """An int when all dims agree (half the time), else the tuple."""
    values = tuple(int(v) for v in values)
    return values[0] if len(set(values)) == 1 and rng.random() < 0.5 else values


def _per_dim(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


def _draw(rng, kind):
    """One random configuration, or None when PyTorch would refuse it (drawn again)."""
    rank = int(rng.integers(1, 4))
    top = 8 if rank == 1 else 6 if rank == 2 else 5
    groups = int(rng.integers(1, 4))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 4, rank))
    s = _form(rng, rng.integers(1, 4, rank))
    d = _form(rng, rng.integers(1, 3, rank))
    ss, ds = _per_dim(s, rank), _per_dim(d, rank)
    cfg = dict(
        kind=kind,
        rank=rank,
        groups=groups,
        cin=cin,
        cout=cout,
        k=k,
        stride=s,
        dilation=d,
        batch=int(rng.integers(1, 3)),
        bias=False,
        unbatched=False,
    )
    if kind == "conv_transpose":
        m = tuple(int(v) for v in rng.integers(1, 5, rank))
        p = _form(rng, rng.integers(0, 3, rank))
        op = _form(rng, [rng.integers(0, max(a, b)) for a, b in zip(ss, ds)])
        n = [
            (a - 1) * st - 2 * pp + dd * (kk - 1) + o + 1
            for a, st, pp, dd, kk, o in zip(m, ss, _per_dim(p, rank), ds, k, _per_dim(op, rank))
        ]
        if min(n) < 1:
            return None
        cfg.update(
            m=m,
            padding=p,
            output_padding=op,
            bias=bool(rng.random() < 0.5),
            unbatched=bool(rng.random() < 0.2),
        )
        return cfg
    n = tuple(int(v) for v in rng.integers(2, top, rank))
    choice = int(rng.integers(0, 4)) if kind == "conv" else int(rng.integers(0, 2))
    if choice == 3:  # "same" needs stride 1
        s, ss = 1, (1,) * rank
        cfg["stride"] = s
    p = (
        _form(rng, rng.integers(0, 3, rank))
        if choice in (0, 1)
        else "valid"
        if choice == 2
        else "same"
    )
    pads = (
        [(0, 0)] * rank
        if p == "valid"
        else [(dd * (kk - 1) // 2, dd * (kk - 1) - dd * (kk - 1) // 2) for kk, dd in zip(k, ds)]
        if p == "same"
        else [(v, v) for v in _per_dim(p, rank)]
    )
    m = [
        (a + lo + hi - dd * (kk - 1) - 1) // st + 1
        for a, kk, st, dd, (lo, hi) in zip(n, k, ss, ds, pads)
    ]
    if min(m) < 1:
        return None
    cfg.update(n=n, m=tuple(m), padding=p)
    if kind == "conv":
        cfg.update(bias=bool(rng.random() < 0.5), unbatched=bool(rng.random() < 0.2))
    return cfg


def _configs(count=40):
    rng = np.random.default_rng(SEED)
    out = []
    while len(out) < count:
        cfg = _draw(rng, KINDS[len(out) % len(KINDS)])
        if cfg is not None:
            out.append(cfg)
    return out


def _id(cfg):
    s = lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else str(v)  # noqa: E731
    parts = [
        f"{cfg['kind']}{cfg['rank']}d",
        f"k{s(cfg['k'])}",
        f"s{s(cfg['stride'])}",
        f"p{s(cfg['padding'])}",
        f"d{s(cfg['dilation'])}",
        f"g{cfg['groups']}",
    ]
    if "output_padding" in cfg:
        parts.append(f"op{s(cfg['output_padding'])}")
    parts.append(
        ("m" if cfg["kind"] == "conv_transpose" else "n")
        + s(cfg["m"] if cfg["kind"] == "conv_transpose" else cfg["n"])
    )
    parts += ["bias"] * cfg["bias"] + ["unbatched"] * cfg["unbatched"]
    return "-".join(parts)


CONFIGS = _configs()


def _arrays(cfg, rng, make):
    """The op's array arguments (NumPy, PyTorch layouts) in call order, bias last or None."""
    g = cfg["groups"]
    lead = () if cfg["unbatched"] else (cfg["batch"],)
    b = make(cfg["cout"]) if cfg["bias"] else None
    if cfg["kind"] == "conv":
        return [
            make(*lead, cfg["cin"], *cfg["n"]),
            make(cfg["cout"], cfg["cin"] // g, *cfg["k"]),
            b,
        ]
    if cfg["kind"] == "conv_transpose":
        return [
            make(*lead, cfg["cin"], *cfg["m"]),
            make(cfg["cin"], cfg["cout"] // g, *cfg["k"]),
            b,
        ]
    if cfg["kind"] == "conv_input":
        return [make(cfg["cout"], cfg["cin"] // g, *cfg["k"]), make(*lead, cfg["cout"], *cfg["m"])]
    return [make(*lead, cfg["cin"], *cfg["n"]), make(*lead, cfg["cout"], *cfg["m"])]


def _call(module, cfg):
    """``f(*arrays, **extra)`` running the config's op from ``jconv.torch`` or PyTorch."""
    r, kind = cfg["rank"], cfg["kind"]
    common = dict(
        stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"], groups=cfg["groups"]
    )
    grad = jt if module is jt else torch.nn.grad
    fns = jt if module is jt else F
    if kind == "conv":
        f = getattr(fns, f"conv{r}d")
        return lambda x, w, b, **e: f(x, w, b, **common, **e)
    if kind == "conv_transpose":
        f = getattr(fns, f"conv_transpose{r}d")
        return lambda x, w, b, **e: f(x, w, b, output_padding=cfg["output_padding"], **common, **e)
    if kind == "conv_input":
        f = getattr(grad, f"conv{r}d_input")
        size = (cfg["batch"], cfg["cin"], *cfg["n"])
        return lambda w, dy, **e: f(size, w, dy, **common, **e)
    f = getattr(grad, f"conv{r}d_weight")
    size = (cfg["cout"], cfg["cin"] // cfg["groups"], *cfg["k"])
    return lambda x, dy, **e: f(x, size, dy, **common, **e)


def _torch_value(cfg, arrays):
    call = _call(torch, cfg)
    tensors = [None if a is None else torch.from_numpy(a) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # padding='same' with an even kernel
        return call(*tensors).detach().numpy()


def _methods(kind):
    if kind == "conv":
        return [None]
    return list(jconv.FILTER_GRAD_METHODS if kind == "conv_weight" else jconv.TRANSPOSE_METHODS)


def _same(got, want, what):
    """Exact in float64 (integer data); ``rtol=1e-5`` in float32 (random normal data)."""
    assert got.dtype == want.dtype and got.shape == want.shape, (what, got.shape, want.shape)
    if want.dtype == np.float64:
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=what)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_matches_pytorch(cfg, x64):
    call = _call(jt, cfg)
    methods = _methods(cfg["kind"])
    rng = np.random.default_rng([SEED, CONFIGS.index(cfg)])
    for dtype in (np.float64, np.float32):
        if dtype == np.float64:
            make = lambda *shape: rng.integers(-3, 4, shape).astype(np.float64)  # noqa: E731
        else:
            make = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
        arrays = _arrays(cfg, rng, make)
        want = _torch_value(cfg, arrays)

        jx = [None if a is None else jnp.asarray(a) for a in arrays]
        # eagerly the default method (float64 only); every method under one jit (the named
        # methods run the same inner jitted functions either way, and each eager call costs a
        # compile)
        if dtype == np.float64:
            extra = {} if methods == [None] else {"method": "auto"}
            _same(call(*jx, **extra), want, f"eager {dtype.__name__} {extra}")
        jitted = jax.jit(
            lambda *a: [call(*a, **({} if m is None else {"method": m})) for m in methods]
        )(*jx)
        for method, got in zip(methods, jitted):
            _same(got, want, f"jit {dtype.__name__} {method}")


@pytest.mark.parametrize(
    "name", ["conv{r}d", "conv_transpose{r}d", "conv{r}d_input", "conv{r}d_weight"]
)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_signatures_match_pytorch(name, rank):
    """Positional names, order and defaults equal PyTorch's (``torch.nn.functional``'s are C
    builtins: their signature is the first line of the docstring)."""
    from test_torch import positional_signature

    name = name.format(r=rank)
    ours = positional_signature(getattr(jt, name))
    if name.endswith(("_input", "_weight")):
        theirs = positional_signature(getattr(torch.nn.grad, name))
    else:
        first_line = getattr(F, name).__doc__.strip().splitlines()[0]
        theirs = first_line[first_line.index("(") + 1 : first_line.index(")")]
    assert ours == theirs


def test_configs_cover_the_space():
    """The fixed draw is not tuned, but it must reach what the issue asks to test hard."""
    assert len({_id(c) for c in CONFIGS}) == len(CONFIGS) == 40
    assert {c["rank"] for c in CONFIGS} == {1, 2, 3}
    assert {c["groups"] for c in CONFIGS} == {1, 2, 3}
    assert {c["kind"] for c in CONFIGS} == set(KINDS)
    assert any(c["kind"] == "conv_weight" and c["groups"] > 1 for c in CONFIGS)
    assert {"same", "valid"} <= {c["padding"] for c in CONFIGS if isinstance(c["padding"], str)}
    assert any(
        o >= s
        for c in CONFIGS
        if c["kind"] == "conv_transpose"
        for o, s in zip(_per_dim(c["output_padding"], c["rank"]), _per_dim(c["stride"], c["rank"]))
    )
    assert any(c["unbatched"] for c in CONFIGS)
