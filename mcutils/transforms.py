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
    output entry (choose the side with fewer entries).  Example::

        >>> import numpy as np, mcutils as mc
        >>> mc.jacobian(lambda x: x**2, np.array([1.0, 2.0]))
        array([[2., 0.],
               [0., 4.]])

    Complex numbers.  For complex ``x`` the Jacobian is the complex matrix f'(x) of a
    *holomorphic* ``f`` (dy = J dx); for a real-valued ``f`` of complex ``x`` the reverse
    mode returns the gradient convention instead (∂f/∂Re x + i ∂f/∂Im x, as ``mc.grad``).
    For real ``x`` and complex ``y``, J = ∂y/∂x is complex and both modes agree.
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
        real_x, real_y = not np.iscomplexobj(x), not np.iscomplexobj(y)
        rows = []
        for k in range(y.size):
            e = np.zeros(y.size, dtype=y.dtype)
            e[k] = 1
            e = e.reshape(y.shape)
            row = np.asarray(pullback(e))          # x̄ = Jᴴ e_k (Re⟨·,·⟩ convention)
            if real_x and not real_y:
                # x̄ = Re(Jᴴ ȳ) loses Im J_k; a second pullback with ȳ = i e_k recovers it
                row = row + 1j * np.asarray(pullback(1j * e))
            elif not real_x and not real_y:
                row = np.conj(row)                 # holomorphic f: row k of J = conj(Jᴴ e_k)
            rows.append(row)
        if not rows:
            return np.zeros(y.shape + x.shape, dtype=np.result_type(y, x))
        return np.stack(rows, axis=0).reshape(y.shape + x.shape)
    raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")


def hessian(f, x):
    """Hessian of a real scalar ``f`` at real ``x``, shape ``x.shape + x.shape``.

    Computed forward-over-reverse: column k is the jvp of ``grad(f)`` along e_k, i.e.
    ``hvp(f, x, e_k)``; n jvps of one reverse pass each.  Example::

        >>> import numpy as np, mcutils as mc
        >>> mc.hessian(lambda x: x[0] ** 2 * x[1], np.array([1.0, 2.0]))
        array([[4., 2.],
               [2., 0.]])
    """
    return jacobian(grad(f), as_float_array(x), mode="forward")


def hvp(f, x, v):
    """Hessian–vector product ∇²f(x)[v] = d/dα ∇f(x + αv)|₀, without forming the Hessian.

    One forward-mode jvp of the reverse-mode gradient: about the cost of a few gradients,
    whatever the size of x.  Example::

        >>> import numpy as np, mcutils as mc
        >>> mc.hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
        array([ 6., 12.])
    """
    return jvp(grad(f), as_float_array(x), as_float_array(v, "v"))[1]
