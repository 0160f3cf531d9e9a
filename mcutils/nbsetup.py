"""Notebook conveniences that must not run on ``import mcutils``.

Lectures call ``jax, jnp = mcutils.nbsetup.jax64()`` to compare with JAX: it selects the
CPU platform before JAX starts (so no accelerator-probing warnings reach the stored
outputs) and turns on float64, so that JAX and mcutils agree to ~1e-15.
"""

from __future__ import annotations

import os


def jax64():
    """Import JAX in float64 on the CPU, quietly; return ``(jax, jax.numpy)``."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax, jax.numpy
