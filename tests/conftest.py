import os

import jax
import pytest
from hypothesis import settings

# TensorFlow, an oracle in test_tf_live.py and test_zero_size.py, turns its oneDNN CPU kernels on
# by default only on CPUs with AVX-512 VNNI/BF16 or AMX; without them (an AVX2-only host) its
# Eigen kernels refuse the gradients of grouped convs and of dilated ones, and test_tf_live.py
# would find no route for those configurations. Its float32 oracle is the oneDNN kernel on every
# host. Set before any test module imports TensorFlow.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=int(os.environ.get("JCONV_EXAMPLES", 40))
)
settings.load_profile("ci")


def pytest_configure(config):
    config.addinivalue_line("markers", "notebooks: executes the notebooks (slow)")


@pytest.fixture
def x64():
    """Enable float64 for one test and restore the previous setting."""
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


# make_golden.py needs TensorFlow and PyTorch and writes files: a script, not a test module.
collect_ignore = ["data"]
