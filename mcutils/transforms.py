"""Derived operators, each a line or two on top of the two primitives.

* ``jvp(f, x, dx)`` (forward mode) pushes one input direction through ``f``;
* ``vjp(f, x)`` (reverse mode) pulls one output cotangent back.

A Jacobian is a stack of either (one jvp per *input* entry, or one vjp per *output*
entry: pick the cheaper side); a Hessian is the Jacobian of the gradient, computed
forward-over-reverse; a Hessian–vector product is a single jvp of the gradient and
never forms the n×n matrix.
"""

from __future__ import annotations

import numpy as np

from ._core import as_float_array
from .forward import jvp
from .reverse import grad, vjp


def jacobian(f, x, mode="forward"):
    """Jacobian of ``f`` at ``x`` as an array of shape ``f(x).shape + x.shape``.

    ``mode="forward"`` costs one jvp per input entry, ``mode="reverse"`` one vjp per
    output entry. Example::

        >>> import numpy as np, mcutils as mc
        >>> mc.jacobian(lambda x: x**2, np.array([1.0, 2.0]))
        array([[2., 0.],
               [0., 4.]])
    """
    x = as_float_array(x)
    if mode == "forward":
        y = None
        cols = []
        for k in range(x.size):
            e = np.zeros(x.size, dtype=x.dtype)
            e[k] = 1
            y, dy = jvp(f, x, e.reshape(x.shape))
            cols.append(np.asarray(dy))
        if y is None:  # empty input
            y = np.asarray(f(x))
            return np.zeros(y.shape + x.shape, dtype=np.result_type(y, x))
        y = np.asarray(y)
        J = np.stack([np.broadcast_to(c, y.shape) for c in cols], axis=-1)
        return J.reshape(y.shape + x.shape)
    if mode == "reverse":
        y, pullback = vjp(f, x)
        y = np.asarray(y)
        rows = []
        for k in range(y.size):
            e = np.zeros(y.size, dtype=y.dtype)
            e[k] = 1
            rows.append(np.asarray(pullback(e.reshape(y.shape))))
        if not rows:
            return np.zeros(y.shape + x.shape, dtype=np.result_type(y, x))
        J = np.stack(rows, axis=0)
        if np.iscomplexobj(J) and not (np.iscomplexobj(y) or np.iscomplexobj(x)):
            J = J.real
        # vjp returns conj(J)ᵀ ȳ for complex maps; undo the conjugation row by row.
        return np.conj(J).reshape(y.shape + x.shape) if np.iscomplexobj(J) else J.reshape(y.shape + x.shape)
    raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")


def hessian(f, x):
    """Hessian of scalar ``f`` at ``x``, shape ``x.shape + x.shape`` (forward-over-reverse)."""
    return jacobian(grad(f), as_float_array(x), mode="forward")


def hvp(f, x, v):
    """Hessian–vector product ∇²f(x)[v] = d/dα ∇f(x + αv)|₀, without forming the Hessian."""
    return jvp(grad(f), as_float_array(x), as_float_array(v, "v"))[1]
