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
