"""Every refusal: the exception type and a message naming the function and the argument."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jconv

X = jnp.ones((1, 5, 5, 4))
W = jnp.ones((3, 3, 4, 6))
DY = jnp.ones((1, 3, 3, 6))  # conv2d(X, W, strides=2, padding="SAME")


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: jconv.conv2d(X, W, strides=0), ValueError, ["jconv.conv2d", "strides", ">= 1"]),
        (lambda: jconv.conv2d(X, W, strides=(1, -2)), ValueError, ["strides"]),
        (lambda: jconv.conv2d(X, W, strides=(1, 2, 3)), ValueError, ["strides", "entries"]),
        (
            lambda: jconv.conv2d(X, W, strides=[2, 2, 2, 2]),
            ValueError,
            ["strides", "batch or channel"],
        ),
        (lambda: jconv.conv2d(X, W, strides=1.5), TypeError, ["strides", "int"]),
        (lambda: jconv.conv2d(X, W, dilations=0), ValueError, ["dilations", ">= 1"]),
        (lambda: jconv.conv2d(X, W, padding="FULL"), ValueError, ["padding", "'FULL'", "SAME"]),
        (
            lambda: jconv.conv2d(X, W, padding=[(1, 1), (-1, 0)]),
            ValueError,
            ["padding", "negative"],
        ),
        (
            lambda: jconv.conv2d(X, W, padding=[(0, 0), (1, 1), (1, 1), (1, 0)]),
            ValueError,
            ["padding", "batch or channel"],
        ),
        (lambda: jconv.conv2d(X, W, padding=[(1, 1)]), ValueError, ["padding", "pairs"]),
        (lambda: jconv.conv2d(X, W, padding=[(1, 2, 3), (1, 1)]), ValueError, ["padding", "pair"]),
        (lambda: jconv.conv2d(X, W, padding=3), TypeError, ["padding"]),
        (lambda: jconv.conv2d(X[0], W), ValueError, ["input", "4 dims"]),
        (lambda: jconv.conv2d(X, W[0]), ValueError, ["filters", "4 dims"]),
        (lambda: jconv.conv2d(jnp.ones((1, 5, 5, 5)), W), ValueError, ["channels", "divide"]),
        (lambda: jconv.conv2d(X, jnp.ones((3, 3, 2, 5))), ValueError, ["groups", "out_channels 5"]),
        (
            lambda: jconv.conv2d(jnp.ones((1, 1, 1, 4)), W),
            ValueError,
            ["jconv.conv2d", "window", "larger", "height", "negative"],
        ),
        (lambda: jconv.conv2d(X, jnp.ones((3, 3, 4, 6)), dilations=3), ValueError, ["window"]),
        (lambda: jconv.conv2d(X, jnp.ones((0, 3, 4, 6))), ValueError, ["filters", "zero taps"]),
        (lambda: jconv.conv2d(jnp.ones((1, 5, 5, 0)), W[:, :, :0]), ValueError, ["depth of 0"]),
        (lambda: jconv.conv2d(X, W, data_format="NDHWC"), ValueError, ["data_format", "NCHW"]),
        (lambda: jconv.conv2d(X, W, data_format=4), TypeError, ["data_format"]),
        (lambda: jconv.conv2d(X.astype(jnp.int32), W), TypeError, ["input", "dtype"]),
        (lambda: jconv.conv2d(X, W.astype(jnp.float16)), TypeError, ["dtype", "filters"]),
        (lambda: jconv.conv2d(X, W, precision="fast"), ValueError, ["precision"]),
        (
            lambda: jconv.conv1d(jnp.ones((1, 5, 2)), jnp.ones((3, 2, 2)), stride=0),
            ValueError,
            ["jconv.conv1d", "stride"],
        ),
        (
            lambda: jconv.conv(jnp.ones((5, 2)), jnp.ones((3, 2, 2))),
            ValueError,
            ["jconv.conv", "input"],
        ),
        # transposes
        (
            lambda: jconv.conv2d_transpose(DY, W, (1, 11, 5, 4), strides=2),
            ValueError,
            ["jconv.conv2d_transpose", "output_shape height 11", "valid heights are 5..6"],
        ),
        (
            lambda: jconv.conv2d_transpose(DY, W, (1, 5, 9, 4), strides=2),
            ValueError,
            ["output_shape width 9", "5..6"],
        ),
        (
            lambda: jconv.conv2d_transpose(DY, W, (2, 5, 5, 4), strides=2),
            ValueError,
            ["output_shape", "batch 2"],
        ),
        (
            lambda: jconv.conv2d_transpose(DY, W, (5, 5, 4), strides=2),
            ValueError,
            ["output_shape", "entries"],
        ),
        (
            lambda: jconv.conv2d_transpose(DY, W, (1, 5, 5, 6), strides=2),
            ValueError,
            ["output_shape", "not a multiple"],
        ),
        (
            lambda: jconv.conv2d_transpose(DY, jnp.ones((3, 3, 4, 5)), strides=2),
            ValueError,
            ["filters.shape[-1]", "6 channels"],
        ),
        (
            lambda: jconv.conv2d_transpose(DY, W, strides=2, method="fast"),
            ValueError,
            ["method", "'fast'", "dilate"],
        ),
        (
            lambda: jconv.conv2d_transpose(
                jnp.ones((1, 3, 3, 6)), jnp.ones((3, 3, 2, 6)), (1, 6, 6, 8), strides=2
            ),
            ValueError,
            ["4 groups", "not divisible"],
        ),
        (
            lambda: jconv.conv2d_transpose(
                DY, W, (1, 5, 5, 4), strides=2, padding=[(9, 9), (0, 0)]
            ),
            ValueError,
            ["no height is reachable"],
        ),
        (
            lambda: jconv.conv2d_transpose(DY, W, (1, 5.0, 5, 4), strides=2),
            TypeError,
            ["output_shape", "int"],
        ),
        (lambda: jconv.conv2d_backprop_input(None, W, DY), TypeError, ["input_sizes"]),
        (
            lambda: jconv.conv2d_backprop_input((1, 9, 5, 4), W, DY, strides=2, padding="SAME"),
            ValueError,
            ["input_sizes height 9", "5..6"],
        ),
        # filter gradient
        (
            lambda: jconv.conv2d_backprop_filter(
                X, (3, 3, 4, 6), jnp.ones((1, 2, 3, 6)), strides=2, padding="SAME"
            ),
            ValueError,
            ["out_backprop height 2", "forward output height 3"],
        ),
        (
            lambda: jconv.conv2d_backprop_filter(X, (3, 3, 4, 5), DY, strides=2, padding="SAME"),
            ValueError,
            ["filter_sizes", "out_channels 5"],
        ),
        (
            lambda: jconv.conv2d_backprop_filter(X, (3, 3, 4), DY, strides=2),
            ValueError,
            ["filter_sizes"],
        ),
        (
            lambda: jconv.conv2d_backprop_filter(X, (3, 3, 3, 6), DY, strides=2, padding="SAME"),
            ValueError,
            ["not a multiple"],
        ),
        (
            lambda: jconv.conv2d_backprop_filter(
                jnp.ones((2, 5, 5, 4)), (3, 3, 4, 6), DY, strides=2, padding="SAME"
            ),
            ValueError,
            ["batch"],
        ),
        (
            lambda: jconv.conv2d_backprop_filter(
                X, (3, 3, 4, 6), DY, strides=2, padding="SAME", method="dilate"
            ),
            ValueError,
            ["method"],
        ),
        (
            lambda: jconv.conv2d_backprop_filter(
                X, (3, 3, 4, 6), DY.astype(jnp.float16), strides=2, padding="SAME"
            ),
            TypeError,
            ["dtype"],
        ),
        # shape helpers
        (lambda: jconv.conv_output_shape((1, 1), 3), ValueError, ["window"]),
        (lambda: jconv.conv_transpose_output_shapes((2,), 3, 0), ValueError, ["strides"]),
    ],
)
def test_refusals(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_traced_output_shape_is_refused():
    def f(dy, size):
        return jconv.conv2d_transpose(dy, W, size, strides=2)

    with pytest.raises(TypeError, match="output_shape must be static"):
        jax.jit(f)(DY, jnp.array([1, 5, 5, 4]))


def test_accepted_forms_agree():
    """int, per-dim and full-rank strides; string case; per-dim and full-rank padding."""
    base = jconv.conv2d(X, W, strides=2, padding="SAME")
    np.testing.assert_array_equal(jconv.conv2d(X, W, strides=(2, 2), padding="same"), base)
    np.testing.assert_array_equal(jconv.conv2d(X, W, strides=[1, 2, 2, 1], padding="Same"), base)
    np.testing.assert_array_equal(
        jconv.conv2d(X, W, strides=np.array([2, 2]), padding=[(1, 1), (1, 1)]), base
    )
    np.testing.assert_array_equal(
        jconv.conv2d(X, W, strides=2, padding=[[0, 0], [1, 1], [1, 1], [0, 0]]), base
    )
    xc = jnp.transpose(X, (0, 3, 1, 2))
    yc = jconv.conv2d(
        xc, W, strides=[1, 1, 2, 2], padding=[[0, 0], [0, 0], [1, 1], [1, 1]], data_format="NCHW"
    )
    np.testing.assert_array_equal(jnp.transpose(yc, (0, 2, 3, 1)), base)


def test_formerly_refused_zero_size_results():
    """What TensorFlow returns where jconv used to refuse (docs/zero_size.md): an empty input
    with SAME padding, a window that misses the padded input by less than the stride."""
    assert jconv.conv2d(jnp.ones((1, 0, 5, 4)), W, padding="SAME").shape == (1, 0, 5, 6)
    assert jconv.conv2d(jnp.ones((1, 2, 2, 4)), W).shape == (1, 0, 0, 6)
    assert jconv.conv_output_shape((2, 2), 3) == (0, 0)


@pytest.mark.parametrize(
    "mode, padding, words",
    [
        ("mirror", 1, ["padding_mode must be one of 'zeros', 'reflect'", "'mirror'"]),
        (None, 1, ["padding_mode", "None"]),
        ("reflect", 3, ["'reflect' needs the padding smaller than", "width", "size 3", "most 2"]),
        ("circular", (1, 4), ["'circular' needs the padding at most", "width", "(4, 4)"]),
    ],
)
def test_torch_padding_mode_refusals(mode, padding, words):
    import jconv.torch as jt

    with pytest.raises(ValueError) as info:
        jt.conv2d(
            jnp.ones((1, 2, 5, 3)), jnp.ones((2, 2, 3, 3)), padding=padding, padding_mode=mode
        )
    for word in ["jconv.torch.conv2d", *words]:
        assert word in str(info.value), str(info.value)
