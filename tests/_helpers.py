"""Helpers shared by test modules."""

import contextlib

import jax


@contextlib.contextmanager
def count_compiles():
    """Collect one entry per XLA backend compile while the block runs."""
    events = []

    def listener(name, duration, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            events.append(name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
