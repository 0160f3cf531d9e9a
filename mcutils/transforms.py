"""Derived operators, each a line or two on top of the two primitives.

* ``jvp(f, x, dx)`` (forward mode) pushes one input direction through ``f``;
* ``vjp(f, x)`` (reverse mode) pulls one output cotangent back.

A Jacobian is a stack of either (one jvp per *input* entry, or one vjp per *output*
entry: pick the cheaper side); a Hessian is the Jacobian of the gradient, computed
forward-over-reverse; a Hessian–vector product is a single jvp of the gradient and
never forms the n×n matrix.
"""

from __future__ import annotations

import functools

import numpy as np

from ._core import Tracer, as_float_array
from .forward import jvp
from .reverse import grad, vjp

_CURRY = object()   # jacobian(f) without x: the function x ↦ J(x)


def _shape(v):
    return v.shape if isinstance(v, Tracer) else np.shape(v)


def _dtype(v):
    while isinstance(v, Tracer):
        v = v.value
    return np.result_type(v)


def _arr(v):
    """A plain value as an ndarray; a tracer (an outer derivative in progress) unchanged."""
    return v if isinstance(v, Tracer) else np.asarray(v)


def _jacobian_fn(f, mode):
    @functools.wraps(f)
    def jacobian_of_f(x):
        return jacobian(f, x, mode=mode)

    return jacobian_of_f


def jacobian(f, x=_CURRY, mode="forward"):
    """Jacobian of ``f`` at ``x`` as an array of shape ``f(x).shape + x.shape``.

    ``mode="forward"`` costs one jvp per input entry, ``mode="reverse"`` one vjp per
    output entry (choose the side with fewer entries).  Example::

        >>> import numpy as np, mcutils as mc
        >>> mc.jacobian(lambda x: x**2, np.array([1.0, 2.0]))
        array([[2., 0.],
               [0., 4.]])

    Without ``x``, ``jacobian(f)`` is the function x ↦ J(x).  It is built from jvp/vjp
    and NumPy operations only, so it can be differentiated and nested like any other code:
    ``mc.jacobian(mc.jacobian(f))(x)`` is the second-derivative tensor of a vector
    function (shape ``f(x).shape + x.shape + x.shape``), and ``mc.grad`` of a function
    that calls ``mc.jacobian`` inside works::

        >>> f = lambda x: np.stack([x[0] * x[1], x[1] ** 3])
        >>> mc.jacobian(mc.jacobian(f))(np.array([1.0, 2.0]))[1]     # ∂²(x₁³)
        array([[ 0.,  0.],
               [ 0., 12.]])
        >>> mc.grad(lambda x: np.trace(mc.jacobian(f, x)))(np.array([1.0, 2.0]))  # ∇(x₁ + 3x₁²)
        array([ 0., 13.])

    Complex numbers.  For complex ``x`` the Jacobian is the complex matrix f'(x) of a
    *holomorphic* ``f`` (dy = J dx); for a real-valued ``f`` of complex ``x`` the reverse
    mode returns the gradient convention instead (∂f/∂Re x + i ∂f/∂Im x, as ``mc.grad``).
    For real ``x`` and complex ``y``, J = ∂y/∂x is complex and both modes agree.
    """
    if mode not in ("forward", "reverse"):
        raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")
    if x is _CURRY:
        return _jacobian_fn(f, mode)
    x = as_float_array(x)
    xshape, xsize = np.shape(x) if not isinstance(x, Tracer) else x.shape, x.size
    xdtype = x.dtype
    if mode == "forward":
        y = None
        cols = []
        for k in range(xsize):
            e = np.zeros(xsize, dtype=xdtype)
            e[k] = 1
            y, dy = jvp(f, x, e.reshape(xshape))
            cols.append(dy)             # a tangent has the shape of y (jvp sees to it)
        if y is None:  # empty input
            y = _arr(f(x))
            return np.zeros(np.shape(y) + xshape, dtype=np.result_type(_dtype(y), xdtype))
        yshape = _shape(y)
        if any(isinstance(c, Tracer) for c in cols):
            J = np.stack([c if _shape(c) == yshape else c + np.zeros(yshape) for c in cols],
                         axis=-1)
        else:
            J = np.stack([np.broadcast_to(c, yshape) for c in cols], axis=-1)
        return np.reshape(J, yshape + xshape)
    y, pullback = vjp(f, x)
    y = _arr(y)
    yshape, ysize, ydtype = _shape(y), int(np.prod(_shape(y))), _dtype(y)
    real_x, real_y = np.dtype(xdtype).kind != "c", np.dtype(ydtype).kind != "c"
    rows = []
    for k in range(ysize):
        e = np.zeros(ysize, dtype=ydtype)
        e[k] = 1
        e = e.reshape(yshape)
        row = pullback(e)                  # x̄ = Jᴴ e_k (Re⟨·,·⟩ convention)
        if real_x and not real_y:
            # x̄ = Re(Jᴴ ȳ) loses Im J_k; a second pullback with ȳ = i e_k recovers it
            row = row + 1j * pullback(1j * e)
        elif not real_x and not real_y:
            row = np.conj(row)             # holomorphic f: row k of J = conj(Jᴴ e_k)
        rows.append(row)
    if not rows:
        return np.zeros(yshape + xshape, dtype=np.result_type(ydtype, xdtype))
    if not any(isinstance(r, Tracer) for r in rows):
        rows = [np.asarray(r) for r in rows]
    return np.reshape(np.stack(rows, axis=0), yshape + xshape)


def hessian(f, x=_CURRY):
    """Hessian of a real scalar ``f`` at real ``x``, shape ``x.shape + x.shape``.

    Computed forward-over-reverse: column k is the jvp of ``grad(f)`` along e_k, i.e.
    ``hvp(f, x, e_k)``; n jvps of one reverse pass each.  Without ``x``, ``hessian(f)`` is
    the function x ↦ ∇²f(x); like :func:`jacobian` it can be differentiated again.
    Example::

        >>> import numpy as np, mcutils as mc
        >>> mc.hessian(lambda x: x[0] ** 2 * x[1], np.array([1.0, 2.0]))
        array([[4., 2.],
               [2., 0.]])
    """
    if x is _CURRY:
        @functools.wraps(f)
        def hessian_of_f(x):
            return hessian(f, x)

        return hessian_of_f
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
