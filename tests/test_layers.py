"""The layers of ``jconv.nnx`` and ``jconv.equinox`` against PyTorch's ``torch.nn`` layers.

``tests/data/golden_layers.npz`` (made by ``tests/data/make_golden_layers.py`` with PyTorch) holds
29 layers with every constructor option and padding mode, their outputs on integer data and the
gradients of ``sum(layer(x) * r)`` with respect to the input, the weight and the bias, all exact
integers. Each case loads the stored weights into a jconv layer by ``load_state_dict`` and must
reproduce all four exactly; the cases alternate between NNX and Equinox (both libraries call the
same :mod:`jconv._layers`, and each gets every rank and both directions). With PyTorch installed,
one test recomputes the file's cases with live ``torch.nn`` layers.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

nnx = pytest.importorskip("flax.nnx")
eqx = pytest.importorskip("equinox")

import jconv.equinox  # noqa: E402
import jconv.nnx  # noqa: E402

GOLDEN = Path(__file__).parent / "data" / "golden_layers.npz"
LIBS = ("nnx", "equinox")


def load_cases():
    cases: dict[str, dict] = {}
    with np.load(GOLDEN) as z:
        for key in z.files:
            prefix, name = key.split("/")
            if prefix.startswith("case"):
                case = cases.setdefault(prefix, {})
                case[name] = json.loads(str(z[key])) if name == "config" else z[key]
    return [cases[k] for k in sorted(cases)]


CASES = load_cases()


def build(lib, cls, *args, dtype=jnp.float32, seed=0, **kwargs):
    if lib == "nnx":
        return getattr(jconv.nnx, cls)(*args, **kwargs, dtype=dtype, rngs=nnx.Rngs(seed))
    return getattr(jconv.equinox, cls)(*args, **kwargs, dtype=dtype, key=jax.random.key(seed))


def load(lib, layer, sd):
    if lib == "nnx":
        jconv.nnx.load_state_dict(layer, sd)
        return layer
    return jconv.equinox.load_state_dict(layer, sd)


def value_and_grads(lib, layer, x, r, output_size):
    """``layer(x)`` and the gradients of ``sum(layer(x) * r)`` for x, weight and bias, in one
    jitted call (eagerly each of jconv's ops would compile on its own; a layer's eager call is
    test_state_dict_loads_into_pytorch_and_back's)."""
    kwargs = {} if output_size is None else {"output_size": output_size}
    if lib == "nnx":
        graphdef, params = nnx.split(layer)

        @jax.jit
        def vjp_nnx(x, params, r):
            y, pull = jax.vjp(lambda x, p: nnx.merge(graphdef, p)(x, **kwargs), x, params)
            return y, pull(r)

        y, (gx, gp) = vjp_nnx(x, params, r)
        gp = nnx.merge(graphdef, gp)
        gw = gp.weight.get_value()
        gb = None if gp.bias is None else gp.bias.get_value()
    else:

        @jax.jit
        def vjp_eqx(x, layer, r):
            y, pull = jax.vjp(lambda x, m: m(x, **kwargs), x, layer)
            return y, pull(r)

        y, (gx, gm) = vjp_eqx(x, layer, r)
        gw, gb = gm.weight, gm.bias
    return y, gx, gw, gb


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c["config"]["id"] for c in CASES])
def test_layer_reproduces_pytorch_exactly(i, x64):
    case, lib = CASES[i], LIBS[i % 2]
    config = case["config"]
    layer = build(lib, config["cls"], *config["args"], **config["kwargs"], dtype=jnp.float64)
    sd = {"weight": case["weight"]}
    if "bias" in case:
        sd["bias"] = case["bias"]
    layer = load(lib, layer, sd)
    y, gx, gw, gb = value_and_grads(lib, layer, case["x"], case["r"], config["output_size"])
    np.testing.assert_array_equal(np.asarray(y), case["out"])
    np.testing.assert_array_equal(np.asarray(gx), case["grad_x"])
    np.testing.assert_array_equal(np.asarray(gw), case["grad_weight"])
    if "bias" in case:
        np.testing.assert_array_equal(np.asarray(gb), case["grad_bias"])
    else:
        assert gb is None


def test_golden_file_is_what_pytorch_computes():
    torch = pytest.importorskip("torch")
    with np.load(GOLDEN) as z:
        assert str(z["meta/torch"])
    assert len(CASES) >= 25
    for case in CASES:
        config = case["config"]
        layer = getattr(torch.nn, config["cls"])(
            *config["args"], **config["kwargs"], dtype=torch.float64
        )
        sd = {"weight": torch.from_numpy(case["weight"])}
        if "bias" in case:
            sd["bias"] = torch.from_numpy(case["bias"])
        layer.load_state_dict(sd)
        x = torch.from_numpy(case["x"]).requires_grad_()
        size = config["output_size"]
        y = layer(x) if size is None else layer(x, output_size=size)
        (y * torch.from_numpy(case["r"])).sum().backward()
        np.testing.assert_array_equal(y.detach().numpy(), case["out"], err_msg=config["id"])
        np.testing.assert_array_equal(x.grad.numpy(), case["grad_x"], err_msg=config["id"])
        np.testing.assert_array_equal(layer.weight.grad.numpy(), case["grad_weight"])


def test_cases_cover_every_option():
    configs = [c["config"] for c in CASES]
    kw = [c["kwargs"] for c in configs]
    assert {c["cls"] for c in configs} == {
        f"{k}{r}d" for k in ("Conv", "ConvTranspose") for r in (1, 2, 3)
    }
    modes = {k.get("padding_mode", "zeros") for k in kw}
    assert modes == {"zeros", "reflect", "replicate", "circular"}
    assert {"same", "valid"} <= {k["padding"] for k in kw if isinstance(k.get("padding"), str)}
    assert any(isinstance(k.get("padding"), list) for k in kw)
    for option in ("stride", "dilation", "groups", "output_padding"):
        assert any(k.get(option, 1) not in (0, 1) for k in kw), option
    assert any(k.get("bias") is False for k in kw)
    assert any(c["output_size"] for c in configs)
    rank = {c["cls"]: int(c["cls"][-2]) for c in configs}
    assert any(len(c["x_shape"]) == rank[c["cls"]] + 1 for c in configs)  # unbatched


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize(
    "cls, args",
    [("Conv2d", (16, 32, 3)), ("ConvTranspose3d", (8, 12, (2, 3, 2))), ("Conv1d", (16, 32, 5))],
)
def test_initialisation_is_pytorchs(lib, cls, args):
    """Weight and bias uniform in +-1/sqrt(fan_in), fan_in = weight.shape[1] * prod(k): the
    bounds hold and the spread is a uniform's (variance bound^2 / 3)."""
    groups = 2 if cls == "Conv1d" else 1
    layer = build(lib, cls, *args, groups=groups, seed=3)
    w = np.asarray(layer.weight if lib == "equinox" else layer.weight.get_value())
    b = np.asarray(layer.bias if lib == "equinox" else layer.bias.get_value())
    bound = 1 / math.sqrt(w.shape[1] * math.prod(w.shape[2:]))
    out_channels = args[1]
    assert b.shape == (out_channels,)
    for values in (w.ravel(), b):
        assert np.all(np.abs(values) <= bound)
    assert np.abs(w).max() > 0.98 * bound
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.1
    assert abs(w.mean()) < 0.05 * bound
    assert w.dtype == np.float32


def test_attributes_mirror_torch():
    layer = jconv.nnx.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2, rngs=nnx.Rngs(0))
    assert layer.kernel_size == (3, 3) and layer.stride == (2, 2) and layer.padding == (1, 1)
    assert layer.output_padding == (1, 1) and layer.groups == 2 and layer.transposed
    assert layer.weight.shape == (4, 3, 3, 3) and layer.bias.shape == (6,)
    conv = jconv.equinox.Conv3d(2, 4, (1, 2, 3), padding="same", key=jax.random.key(0))
    assert (
        conv.padding == "same"
        and conv.padding_mode == "zeros"
        and conv.weight.shape
        == (
            4,
            2,
            1,
            2,
            3,
        )
    )
    assert conv.bias.shape == (4,)


class NNXNet(nnx.Module):
    def __init__(self, rngs):
        self.stem = jconv.nnx.Conv2d(2, 4, 3, rngs=rngs)
        self.blocks = nnx.List([jconv.nnx.Conv2d(4, 4, 1, bias=False, rngs=rngs)])
        self.head = nnx.Sequential(jconv.nnx.ConvTranspose2d(4, 1, 2, stride=2, rngs=rngs))


class EqxNet(eqx.Module):
    stem: jconv.equinox.Conv2d
    blocks: list
    head: eqx.nn.Sequential

    def __init__(self, key):
        k = jax.random.split(key, 3)
        self.stem = jconv.equinox.Conv2d(2, 4, 3, key=k[0])
        self.blocks = [jconv.equinox.Conv2d(4, 4, 1, bias=False, key=k[1])]
        self.head = eqx.nn.Sequential([jconv.equinox.ConvTranspose2d(4, 1, 2, stride=2, key=k[2])])


KEYS = {
    "stem.weight": (4, 2, 3, 3),
    "stem.bias": (4,),
    "blocks.0.weight": (4, 4, 1, 1),
    "head.0.weight": (4, 1, 2, 2),
    "head.0.bias": (1,),
}


def net(lib):
    return NNXNet(nnx.Rngs(0)) if lib == "nnx" else EqxNet(jax.random.key(0))


@pytest.mark.parametrize("lib", LIBS)
def test_state_dict_keys_are_torchs_and_round_trip(lib):
    model = net(lib)
    sd = getattr(jconv, lib).state_dict(model)
    assert {k: v.shape for k, v in sd.items()} == KEYS
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    new = {k: np.full(v.shape, i, np.float64) for i, (k, v) in enumerate(sd.items())}
    loaded = load(lib, model, new)
    back = getattr(jconv, lib).state_dict(loaded)
    for k in KEYS:
        assert back[k].dtype == np.float32
        np.testing.assert_array_equal(back[k], new[k])


def test_state_dict_loads_into_pytorch_and_back():
    torch = pytest.importorskip("torch")
    tnet = torch.nn.Module()
    tnet.stem = torch.nn.Conv2d(2, 4, 3)
    tnet.blocks = torch.nn.ModuleList([torch.nn.Conv2d(4, 4, 1, bias=False)])
    tnet.head = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 1, 2, stride=2))
    model = net("nnx")
    tnet.load_state_dict(
        {k: torch.from_numpy(v) for k, v in jconv.nnx.state_dict(model).items()}, strict=True
    )
    other = net("equinox")
    other = jconv.equinox.load_state_dict(other, tnet.state_dict())  # torch tensors in
    x = np.random.default_rng(0).normal(size=(1, 2, 6, 6)).astype(np.float32)

    def run(m, x):
        y = m.stem(x)
        y = m.blocks[0](y)
        return m.head(y)

    want = run(tnet, torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(np.asarray(run(other, x)), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lib", LIBS)
def test_strict_loading_refuses_and_loads_nothing(lib):
    model = net(lib)
    before = getattr(jconv, lib).state_dict(model)
    good = {k: np.zeros(s) for k, s in KEYS.items()}
    bad = [
        ({k: v for k, v in good.items() if k != "stem.bias"}, r"missing key\(s\): 'stem.bias'"),
        ({**good, "head.1.weight": np.zeros(1)}, r"unexpected key\(s\): 'head.1.weight'"),
        (
            {**good, "stem.weight": np.zeros((4, 3, 3, 3))},
            r"size mismatch for stem.weight: copying a param with shape \(4, 3, 3, 3\) from the "
            r"state_dict, the shape in the module is \(4, 2, 3, 3\)",
        ),
    ]
    fn = f"jconv.{lib}.load_state_dict"
    for sd, message in bad:
        with pytest.raises(ValueError, match=message) as info:
            load(lib, model, sd)
        assert fn in str(info.value) and "nothing was loaded" in str(info.value)
    with pytest.raises(TypeError, match="expected a mapping"):
        load(lib, model, [("stem.weight", np.zeros(1))])
    with pytest.raises(TypeError, match=r"state_dict\['stem.bias'\] is a str"):
        load(lib, model, {**good, "stem.bias": "zeros"})
    after = getattr(jconv, lib).state_dict(model)
    for k in KEYS:
        np.testing.assert_array_equal(after[k], before[k])


@pytest.mark.parametrize("lib", LIBS)
def test_bad_constructor_arguments(lib):
    name = f"jconv.{lib}"
    bad = [
        ("Conv2d", (3, 4, 3), {"groups": 2}, "in_channels=3 must be divisible by groups=2"),
        ("Conv2d", (4, 3, 3), {"groups": 2}, "out_channels=3 must be divisible by groups=2"),
        ("Conv2d", (4, 4, 3), {"groups": 0}, "groups=0 must be a positive integer"),
        ("Conv2d", (2, 2, 3), {"padding_mode": "mirror"}, "padding_mode must be one of 'zeros'"),
        ("Conv2d", (2, 2, 3), {"padding": "full"}, "padding='full' is not 'same', 'valid'"),
        ("Conv2d", (2, 2, 3), {"stride": 2, "padding": "same"}, "not supported for strided"),
        ("Conv2d", (2, 2, 0), {}, r"kernel_size=0 must be >= 1"),
        ("Conv2d", (2, 2, 3), {"padding": (1, 2, 3)}, r"padding=\(1, 2, 3\) needs 1 or 2"),
        ("Conv1d", (2, 2, 3), {"padding": -1}, "padding=-1 must be >= 0"),
        ("Conv3d", (2, 2, 3), {"stride": 0}, "stride=0 must be >= 1"),
        ("Conv2d", (2, 2, 3), {"bias": "yes"}, "bias='yes' must be True or False"),
        ("ConvTranspose2d", (2, 2, 3), {"padding_mode": "reflect"}, "only padding_mode='zeros'"),
        ("ConvTranspose2d", (2, 2, 3), {"padding": "same"}, "a transposed conv takes an int"),
        ("ConvTranspose1d", (2, 2, 3), {"stride": 2, "output_padding": 2}, "must be smaller"),
        ("ConvTranspose3d", (2, 2.5, 3), {}, "out_channels"),
    ]
    for cls, args, kwargs, message in bad:
        with pytest.raises((ValueError, TypeError), match=message) as info:
            build(lib, cls, *args, **kwargs)
        assert f"{name}.{cls}" in str(info.value), str(info.value)


@pytest.mark.parametrize("lib", LIBS)
def test_bad_calls(lib):
    conv = build(lib, "Conv2d", 3, 4, 3, padding=2, padding_mode="reflect")
    up = build(lib, "ConvTranspose2d", 2, 2, 3, stride=2)
    with pytest.raises(ValueError, match=r"with 4 channels; this layer expects in_channels=3"):
        conv(jnp.ones((1, 4, 8, 8)))
    with pytest.raises(ValueError, match=r"expected 4 dims \(N, C, \*spatial\) or 3"):
        conv(jnp.ones((8, 8)))
    with pytest.raises(ValueError, match=r"padding_mode='reflect' needs the padding smaller"):
        conv(jnp.ones((3, 2, 8)))
    with pytest.raises(ValueError, match=r"requested an output size of \[12, 12\], but valid "):
        up(jnp.ones((1, 2, 4, 4)), output_size=(12, 12))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        up(jnp.ones((1, 2, 4, 4)), output_size=(10,))
    with pytest.raises(ValueError, match="output_size must have 2 or 3 elements"):
        up(jnp.ones((2, 4, 4)), output_size=(1, 2, 10, 10))
    assert up(jnp.ones((2, 4, 4)), output_size=(2, 10, 10)).shape == (2, 10, 10)


def test_import_jconv_needs_neither_library():
    """``import jconv`` works with Flax and Equinox hidden; the layer modules say what to
    install."""
    code = """
import sys
sys.modules["flax"] = sys.modules["flax.nnx"] = sys.modules["equinox"] = None
import jconv, jconv.torch
for name, extra in (("nnx", "jconv[flax]"), ("equinox", "jconv[equinox]")):
    try:
        __import__("jconv." + name)
    except ImportError as e:
        assert extra in str(e), e
    else:
        raise SystemExit(name + " imported")
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
