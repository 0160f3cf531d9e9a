"""Notebook conveniences that must not run on ``import mcutils``.

Lectures call ``jax, jnp = mcutils.nbsetup.jax64()`` to compare with JAX: it selects the
CPU platform before JAX starts (so no accelerator-probing warnings reach the stored
outputs) and turns on float64, so that JAX and mcutils agree to ~1e-15.

Importing this module also applies :func:`reuse_freed_memory` (on Linux with glibc): the
C allocator keeps freed memory for reuse, so gradients in a loop do not pay a page fault
per 4 KiB of every fresh array.  It changes no result; the process keeps up to 256 MiB of
freed memory.  Set ``MCUTILS_MALLOC=default`` before starting the kernel to keep the
allocator's defaults; ``ALLOCATOR_TUNED`` says whether the setting was applied.
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


class WidgetWithFallback:
    """A widget that readers without a kernel see as a sentence, not as its Python repr.

    A notebook stores a widget's output as two MIME types: the live view (which needs a
    running kernel and the widget state) and ``text/plain``.  GitHub, the course website and
    ``nbval`` only have the ``text/plain`` part, which for a bare widget is a repr such as
    ``interactive(children=(FloatSlider(...``.  This wrapper keeps the live view and replaces
    ``text/plain`` by ``text``: say what the control does and that a static figure follows.
    """

    def __init__(self, widget, text):
        self.widget = widget
        self.text = str(text)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        if isinstance(bundle, tuple):       # (data, metadata), as IPython also accepts
            data, metadata = bundle
        else:
            data, metadata = bundle, None
        data = dict(data or {})
        data["text/plain"] = self.text
        return (data, metadata) if metadata is not None else data

    def __repr__(self):
        return self.text


def show_widget(widget, text):
    """Display ``widget`` with a readable text fallback (see :class:`WidgetWithFallback`).

    Example::

        w = ipywidgets.interactive(draw, h=FloatLogSlider(..., continuous_update=False))
        show_widget(w, "[interactive: drag h to move the secant; a static figure follows]")
    """
    from IPython.display import display

    display(WidgetWithFallback(widget, text))
    return widget


# glibc's <malloc.h>: the mallopt parameters used by reuse_freed_memory
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MIB = 1024 * 1024


def reuse_freed_memory(mmap_threshold_mb=32, trim_threshold_mb=256):
    """Let the C allocator keep freed memory for reuse (glibc only; opt-in; a no-op elsewhere).

    Why.  By default glibc's ``malloc`` hands every array larger than about 128 KiB its own
    fresh pages from the operating system (``mmap``) and gives them back when the array is
    freed.  A gradient in a loop — ``for step in range(100): G = mc.grad(loss)(W)`` — creates
    new n×n arrays on every call, and touching fresh pages costs a page fault per 4 KiB: for
    the 500×500 MLP gradient in (W₁, W₂) this makes a sustained loop several times slower
    than the same gradient measured once (``benchmarks/bench_reverse.py`` prints both).
    After this call, arrays up to ``mmap_threshold_mb`` MiB come from the process's heap, and
    freed memory is returned to the system only when more than ``trim_threshold_mb`` MiB is
    free at its top, so the next gradient reuses the pages the previous one freed.

    The trade-off.  The process keeps memory it no longer uses: up to about
    ``trim_threshold_mb`` MiB of freed heap stays allocated (visible as resident memory), and
    a long-lived small object allocated after a large array can pin that array's memory
    until both are gone.  For a notebook kernel that is harmless; for a long-running service
    that alternates big and small workloads, leave the default.  It changes no result.

    Returns True if the setting was applied (Linux with glibc), False otherwise (macOS,
    Windows, musl: nothing is changed).  Call it once, early (e.g. in a notebook's first
    cell); it affects the whole process, NumPy's arrays included.  The equivalent for a
    script is the environment ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456``
    (note the trailing underscores), set before Python starts.
    """
    import platform
    import sys

    for name, value in (("mmap_threshold_mb", mmap_threshold_mb),
                        ("trim_threshold_mb", trim_threshold_mb)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number of MiB, got {value!r}")
    if trim_threshold_mb >= 2048:
        raise ValueError("trim_threshold_mb must be below 2048 (a C int of bytes); "
                         f"got {trim_threshold_mb!r}")
    if mmap_threshold_mb > 32:
        raise ValueError("glibc caps the mmap threshold at 32 MiB on 64-bit systems; "
                         f"got mmap_threshold_mb={mmap_threshold_mb!r}")
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # setting either one also turns off glibc's own adjustment of both thresholds
    ok = mallopt(_M_TRIM_THRESHOLD, int(trim_threshold_mb * _MIB)) == 1
    ok &= mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold_mb * _MIB)) == 1
    return bool(ok)


# Notebooks import this module for jax64/show_widget: they get the allocator setting too,
# unless MCUTILS_MALLOC=default is set in the environment.  `import mcutils` never does this.
ALLOCATOR_TUNED = (os.environ.get("MCUTILS_MALLOC", "").strip().lower() != "default"
                   and reuse_freed_memory())
