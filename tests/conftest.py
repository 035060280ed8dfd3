import os

import jax
import pytest
from hypothesis import settings

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
