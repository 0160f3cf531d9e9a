"""Forward-mode automatic differentiation with dual numbers (lecture 7).

A dual number a + bε obeys ε² = 0, so every smooth f satisfies

    f(a + bε) = f(a) + f'(a) b ε

exactly: carry the pair (value, tangent) through a computation and the tangent
comes out as the derivative.  The course's view of the derivative as a linear
operator makes the same statement for matrices: f(X + ε dX) = f(X) + ε f'(X)[dX], so
the tangent of a :class:`Dual` is an array of the *value's shape* and forward mode is
"apply the linear operator f'(X) to dX".

Plain NumPy code differentiates unchanged: a ``Dual`` implements Python's operators
and NumPy's dispatch protocols (``__array_ufunc__``, ``__array_function__``), and each
NumPy operation looks up its jvp in :mod:`mcutils.forward_rules`.

    >>> import numpy as np, mcutils as mc
    >>> mc.derivative(lambda x: x * np.sin(x), 1.0)          # sin 1 + cos 1
    np.float64(1.3817732906760363)
    >>> X, dX = np.eye(2) * 2, np.ones((2, 2))
    >>> mc.jvp(np.linalg.inv, X, dX)[1]                      # −X⁻¹ dX X⁻¹
    array([[-0.25, -0.25],
           [-0.25, -0.25]])

Nesting.  Each :func:`derivative`/:func:`jvp` call tags its ε with a new *level*
(:mod:`mcutils._core`); an operation is handled by the highest-level tracer among its
arguments and lower ones are constants to it, so ε₁ε₂ ≠ 0 and nested derivatives never
confuse their perturbations.  Values and tangents may themselves be Duals (second
derivatives) or reverse-mode Boxes (Hessian–vector products).

Conventions.  ``float(d)``/``int(d)`` raise (they would drop the tangent); ``bool`` and
comparisons use the value.  At non-differentiable points a rule returns a subgradient
(|x|' = 0 at 0) or an infinity with NumPy's RuntimeWarning (√x at 0), never a silent
NaN.  ``expm`` differentiates the matrix exponential through its Fréchet derivative
(``scipy.linalg.expm_frechet``); ``scipy.linalg.expm`` itself does not accept Duals.
"""

from __future__ import annotations

import numpy as np

from ._core import (
    Entry,
    Tracer,
    as_float_array,
    check_ufunc_kwargs,
    iter_tracers,
    lift,
    needs_lift,
    new_level,
    normalize_call,
    numpy_converts_result,
    top_tracer,
    unsupported,
)
from .forward_rules import FUNCTION_RULES, NONDIFF, UFUNC_RULES, register_scipy_special

__all__ = ["Dual", "derivative", "jvp", "expm"]

_SCALARS = (float, int, complex)
_alloc = object.__new__


def _shape(x):
    return x.shape if hasattr(x, "shape") else np.shape(x)


def _fit(t, v):
    """The tangent broadcast to the value's shape (a view, no copy)."""
    vs = _shape(v)
    return t if _shape(t) == vs else np.broadcast_to(t, vs)


def _new(v, t, level):
    d = _alloc(Dual)
    d.value = v
    d.tangent = t
    d._level = level
    return d


def _pack(y, dy, level):
    """Wrap the rule's (value, tangent) output; ``None`` tangents mean "constant"."""
    if dy is None:
        return y
    if isinstance(y, tuple):
        items = [_pack(a, b, level) for a, b in zip(y, dy, strict=True)]
        return type(y)(*items) if hasattr(y, "_fields") else tuple(items)
    if isinstance(y, list):
        return [_pack(a, b, level) for a, b in zip(y, dy, strict=True)]
    return _new(y, _fit(dy, y), level)


def _split(args, level):
    """Replace this level's Duals by their values; collect their tangents (None = constant)."""
    vals, tans = [], []
    for a in args:
        if type(a) is Dual and a._level == level:
            vals.append(a.value)
            tans.append(a.tangent)
        elif isinstance(a, (list, tuple)) and any(
                type(b) is Dual and b._level == level for b in a):
            vals.append([b.value if type(b) is Dual and b._level == level else b for b in a])
            tans.append([b.tangent if type(b) is Dual and b._level == level else None
                         for b in a])
        else:
            vals.append(a)
            tans.append(None)
    return vals, tans


def _apply_ufunc(ufunc, method, inputs, kwargs, level):
    if method != "__call__":
        return _ufunc_method(ufunc, method, inputs, kwargs)
    if kwargs:
        check_ufunc_kwargs(ufunc, kwargs, "forward mode")
        kwargs = {k: v for k, v in kwargs.items() if k != "out" and k != "where"}
    if ufunc is np.matmul:
        fused = _fused_matmul(inputs, level)
        if fused is not None:
            return fused
    rule = UFUNC_RULES.get(ufunc)
    if rule is None and register_scipy_special():
        rule = UFUNC_RULES.get(ufunc)
    if rule is None:
        raise unsupported("forward mode (Dual)", ufunc,
                          "add one line to UFUNC_RULES in mcutils/forward_rules.py, e.g. "
                          f"`np.{ufunc.__name__}: lambda y, x, dx: <f'(x) applied to dx>,` "
                          "(binary ufuncs: a pair of partial jvps).")
    if len(inputs) == 1:
        x = inputs[0]
        y = ufunc(x.value, **kwargs)
        if rule is NONDIFF:
            return y
        return _new(y, _fit(rule(y, x.value, x.tangent), y), level)
    vals = [a.value if type(a) is Dual and a._level == level else a for a in inputs]
    y = ufunc(*vals, **kwargs)
    if rule is NONDIFF:
        return y
    dy = None
    for i, a in enumerate(inputs):
        if type(a) is Dual and a._level == level:
            term = rule[i](y, *vals, a.tangent)
            dy = term if dy is None else dy + term
    return _new(y, _fit(dy, y), level)


def _fused_matmul(inputs, level):
    """W @ (x + ε dx) as one product W @ [x dx]: a single pass over the constant W.

    Same numbers as W @ x and W @ dx (the rule), but a matrix–vector product is limited
    by reading W from memory, so doing both columns at once nearly halves the cost.
    Only for plain arrays of one dtype with at most 2 dimensions, and a large W (for a
    small one, stacking costs more than it saves); otherwise None.
    """
    a, b = inputs
    if type(a) is np.ndarray and a.size < 4096 or type(b) is np.ndarray and b.size < 4096:
        return None
    if type(b) is Dual and type(a) is np.ndarray and a.ndim == 2:
        v, t = b.value, b.tangent
        if (type(v) is np.ndarray and type(t) is np.ndarray and v.dtype == t.dtype
                and a.dtype == v.dtype and 1 <= v.ndim <= 2 and a.shape[1] == v.shape[0]):
            if v.ndim == 1:
                out = a @ np.stack([v, t], axis=1)
                return _new(out[:, 0], out[:, 1], level)
            k = v.shape[1]
            out = a @ np.concatenate([v, t], axis=1)
            return _new(out[:, :k], out[:, k:], level)
    elif type(a) is Dual and type(b) is np.ndarray and b.ndim == 2:
        v, t = a.value, a.tangent
        if (type(v) is np.ndarray and type(t) is np.ndarray and v.dtype == t.dtype
                and b.dtype == v.dtype and 1 <= v.ndim <= 2 and v.shape[-1] == b.shape[0]):
            if v.ndim == 1:
                out = np.stack([v, t]) @ b
                return _new(out[0], out[1], level)
            k = v.shape[0]
            out = np.concatenate([v, t], axis=0) @ b
            return _new(out[:k], out[k:], level)
    return None


_UFUNC_METHODS = {
    (np.add, "reduce"): np.sum, (np.add, "accumulate"): np.cumsum,
    (np.multiply, "reduce"): np.prod, (np.maximum, "reduce"): np.max,
    (np.minimum, "reduce"): np.min,
}


def _ufunc_method(ufunc, method, inputs, kwargs):
    func = _UFUNC_METHODS.get((ufunc, method))
    if func is None:
        raise TypeError(
            f"mcutils forward mode: np.{ufunc.__name__}.{method} is not supported on Duals "
            + ("(it writes into an array in place; build a new array instead)" if method == "at"
               else "(use the corresponding NumPy function, e.g. np.sum for np.add.reduce)"))
    return func(*inputs, **kwargs)


def _apply_function(func, args, kwargs, level):
    rule = FUNCTION_RULES.get(func)
    if rule is None:
        raise unsupported("forward mode (Dual)", func,
                          "add one line to FUNCTION_RULES in mcutils/forward_rules.py, e.g. "
                          f"`np.{getattr(func, '__name__', 'f')}: unary(lambda y, x, dx: "
                          "<f'(x) applied to dx>),` (see the builders linear, multilinear, "
                          "unary, frule there).")
    args, kwargs = normalize_call(func, args, kwargs, rule is not NONDIFF)
    if getattr(rule, "compose", False):
        return rule(*args, **kwargs)
    for k, v in kwargs.items():
        if any(type(t) is Dual and t._level == level for t in iter_tracers(v)):
            raise TypeError(
                f"mcutils forward mode: pass the Dual argument {k}= of "
                f"{getattr(func, '__name__', func)} positionally (rules differentiate "
                "positional arguments; keyword arguments are parameters).")
    kw = kwargs
    vals, tans = _split(args, level)
    if rule is NONDIFF:
        return func(*vals, **kw)
    y, dy = rule(func, vals, tans, kw)
    return _pack(y, dy, level)


def _fmt(x, spec=""):
    if isinstance(x, np.ndarray):
        if spec:
            return np.array2string(x, formatter={"all": lambda v: format(v, spec)})
        return repr(x)
    if isinstance(x, Dual):
        return format(x, spec)
    if isinstance(x, np.generic):
        return format(x, spec) if spec else str(x)
    return format(x, spec) if spec else repr(x)


class Dual(Tracer):
    """A dual number ``value + tangent·ε`` with ε² = 0, so that
    f(a + bε) = f(a) + f'(a) b ε: the ε-part of any computation is its derivative.
    (Example: (a + bε)² = a² + 2ab ε + b² ε² = a² + 2ab ε.)

    ``value`` and ``tangent`` are scalars or arrays of one shape (a matrix dual
    X + ε dX has an n×m tangent).  Pass a Dual to ordinary NumPy code; read the
    result's ``.value`` and ``.tangent``.  Usually you let :func:`derivative` and
    :func:`jvp` build the Duals; ``Dual(a, b)`` directly is for experiments::

        >>> import numpy as np, mcutils as mc
        >>> mc.Dual(2.0, 1.0) ** 0.5
        Dual(1.4142135623730951, 0.35355339059327373)

    ``np.array([a, b])`` of Duals is an object array whose entries carry the tangents;
    traced operations and :func:`jvp` turn it into one Dual (see :mod:`mcutils._core`).
    ``np.stack([a, b])`` builds the Dual directly (and is faster).  A numeric dtype
    (``np.array([a, b], dtype=float)``), ``float(d)`` and ``int(d)`` raise, since they would
    drop the tangent; comparisons and ``if d > 0:`` use the value.
    """

    __slots__ = ("value", "tangent", "_level")

    def __init__(self, value, tangent, level=0):
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        if isinstance(tangent, (list, tuple)):
            tangent = np.asarray(tangent)
        if tangent is None or value is None:
            raise TypeError("Dual(value, tangent) needs both parts; a constant c is "
                            "Dual(c, 0.0) (or just c).")
        if _shape(value) != _shape(tangent):
            raise ValueError(
                f"Dual value has shape {_shape(value)} but tangent has shape "
                f"{_shape(tangent)}; the tangent dx lives in the same space as x, so the "
                "shapes must be equal.")
        self.value = value
        self.tangent = tangent
        self._level = level

    # ── array-like attributes ──
    @property
    def shape(self):
        return _shape(self.value)

    @property
    def ndim(self):
        return len(_shape(self.value))

    @property
    def size(self):
        return int(np.prod(_shape(self.value)))

    @property
    def dtype(self):
        if numpy_converts_result():     # np.mean([d1, d2]): see _core.numpy_converts_result
            return np.dtype(object)
        dv = self.value.dtype if hasattr(self.value, "dtype") else np.result_type(self.value)
        dt = (self.tangent.dtype if hasattr(self.tangent, "dtype")
              else np.result_type(self.tangent))
        return np.result_type(dv, dt)

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        for i in range(len(self.value)):
            yield self[i]

    def __getitem__(self, idx):
        return _new(self.value[idx], self.tangent[idx], self._level)

    def __setitem__(self, idx, val):
        raise TypeError("Duals are immutable: in-place assignment would lose track of the "
                        "tangent. Build a new array instead (np.where, np.concatenate, "
                        "np.stack).")

    # ── conversions: refuse to drop the tangent ──
    def __float__(self):
        raise TypeError(
            "float() of a Dual would silently drop its tangent (the derivative); this also "
            "happens when a Dual is written into a NumPy array (A[i] = d): build the array "
            "with np.stack([...]) or np.where instead. Use d.value for the number itself, or "
            "keep computing with the Dual.")

    def __int__(self):
        raise TypeError("int() of a Dual would silently drop its tangent; use d.value.")

    def __complex__(self):
        raise TypeError("complex() of a Dual would silently drop its tangent; use d.value.")

    def __index__(self):
        raise TypeError("a Dual cannot be used as an index (it is a real number with a "
                        "tangent, not an integer); use d.value.")

    # np.array(d) / np.array([d1, d2]): an object array of Entries (Tracer.__array__ in
    # _core.py); a numeric dtype raises, since it would drop the tangent.

    def item(self):
        raise TypeError("Dual.item() would drop the tangent; use d.value.item().")

    def tolist(self):
        raise TypeError("Dual.tolist() would drop the tangent; use d.value.tolist().")

    def __bool__(self):
        return bool(self.value)

    # ── printing ──
    def __repr__(self):
        return self.__format__("")

    def __format__(self, spec):
        v, t = _fmt(self.value, spec), _fmt(self.tangent, spec)
        if not isinstance(self.value, np.ndarray) and "\n" not in v + t:
            return f"Dual({v}, {t})"
        pad = " " * 5
        return "Dual(" + v.replace("\n", "\n" + pad) + ",\n" + pad + \
            t.replace("\n", "\n" + pad) + ")"

    __str__ = __repr__

    # ── NumPy protocols ──
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if needs_lift(inputs):       # np.array([...]) of traced values among the inputs
            return getattr(ufunc, method)(*lift(inputs), **kwargs)
        top, level = None, -1
        for a in inputs:
            if isinstance(a, Tracer) and a._level > level:
                top, level = a, a._level
        if kwargs:
            t = top_tracer((), kwargs)
            if t is not None and t._level > level:
                top, level = t, t._level
        if type(top) is not Dual:
            return NotImplemented
        return _apply_ufunc(ufunc, method, inputs, kwargs, level)

    def __array_function__(self, func, types, args, kwargs):
        if needs_lift(args) or kwargs and needs_lift(kwargs):
            return func(*lift(args), **lift(kwargs))
        top = top_tracer(args, kwargs)
        if type(top) is not Dual:
            return NotImplemented
        return _apply_function(func, args, kwargs, top._level)

    # ── Python operators (fast paths for scalars and same-level Duals) ──
    def __add__(self, o):
        if type(o) is Dual and o._level == self._level:
            return _new(self.value + o.value, self.tangent + o.tangent, self._level)
        if type(o) in _SCALARS:
            return _new(self.value + o, self.tangent, self._level)
        return _binop(np.add, self, o)

    def __radd__(self, o):
        if type(o) in _SCALARS:
            return _new(o + self.value, self.tangent, self._level)
        return _binop(np.add, o, self)

    def __sub__(self, o):
        if type(o) is Dual and o._level == self._level:
            return _new(self.value - o.value, self.tangent - o.tangent, self._level)
        if type(o) in _SCALARS:
            return _new(self.value - o, self.tangent, self._level)
        return _binop(np.subtract, self, o)

    def __rsub__(self, o):
        if type(o) in _SCALARS:
            return _new(o - self.value, -self.tangent, self._level)
        return _binop(np.subtract, o, self)

    def __mul__(self, o):
        if type(o) is Dual and o._level == self._level:
            return _new(self.value * o.value,
                        self.tangent * o.value + self.value * o.tangent, self._level)
        if type(o) in _SCALARS:
            return _new(self.value * o, self.tangent * o, self._level)
        return _binop(np.multiply, self, o)

    def __rmul__(self, o):
        if type(o) in _SCALARS:
            return _new(o * self.value, o * self.tangent, self._level)
        return _binop(np.multiply, o, self)

    def __truediv__(self, o):
        if type(o) is Dual and o._level == self._level:
            v = self.value / o.value
            return _new(v, (self.tangent - v * o.tangent) / o.value, self._level)
        if type(o) in _SCALARS:
            return _new(self.value / o, self.tangent / o, self._level)
        return _binop(np.divide, self, o)

    def __rtruediv__(self, o):
        if type(o) in _SCALARS:
            v = o / self.value
            return _new(v, -v * self.tangent / self.value, self._level)
        return _binop(np.divide, o, self)

    def __pow__(self, o):
        if type(o) is int and o >= 1:
            # d(xⁿ) = n xⁿ⁻¹ dx  (integer n ≥ 1: no trouble at x = 0)
            v = self.value
            return _new(v ** o, o * v ** (o - 1) * self.tangent, self._level)
        return _binop(np.power, self, o)

    def __rpow__(self, o):
        return _binop(np.power, o, self)

    def __matmul__(self, o):
        if type(o) is Dual and o._level == self._level:
            return _new(self.value @ o.value,
                        self.tangent @ o.value + self.value @ o.tangent, self._level)
        return _binop(np.matmul, self, o)

    def __rmatmul__(self, o):
        return _binop(np.matmul, o, self)

    def __mod__(self, o):
        return _binop(np.remainder, self, o)

    def __rmod__(self, o):
        return _binop(np.remainder, o, self)

    def __floordiv__(self, o):
        return _binop(np.floor_divide, self, o)

    def __rfloordiv__(self, o):
        return _binop(np.floor_divide, o, self)

    def __neg__(self):
        return _new(-self.value, -self.tangent, self._level)

    def __pos__(self):
        return self

    def __abs__(self):
        return np.abs(self)

    # comparisons act on the value (a Dual is "the number x, moving in direction dx")
    def __lt__(self, o):
        return _binop(np.less, self, o)

    def __le__(self, o):
        return _binop(np.less_equal, self, o)

    def __gt__(self, o):
        return _binop(np.greater, self, o)

    def __ge__(self, o):
        return _binop(np.greater_equal, self, o)

    def __eq__(self, o):
        return False if o is None else _binop(np.equal, self, o)

    def __ne__(self, o):
        return True if o is None else _binop(np.not_equal, self, o)

    __hash__ = None

    # ndarray-style methods (T, sum, reshape, ...) come from Tracer in _core.py
    def copy(self):
        return _new(np.copy(self.value), np.copy(self.tangent), self._level)

    def astype(self, dtype, **k):
        return _new(self.value.astype(dtype, **k) if hasattr(self.value, "astype")
                    else np.asarray(self.value).astype(dtype, **k)[()],
                    self.tangent, self._level)


def _binop(ufunc, a, b):
    """A Python operator routed through the ufunc machinery, respecting levels."""
    if type(a) is Entry or type(b) is Entry or needs_lift(a) or needs_lift(b):
        return ufunc(lift(a), lift(b))
    la = a._level if isinstance(a, Tracer) else -1
    lb = b._level if isinstance(b, Tracer) else -1
    top = a if la >= lb else b
    if type(top) is not Dual:
        return NotImplemented  # a higher-level tracer of another kind handles it
    return _apply_ufunc(ufunc, "__call__", (a, b), {}, top._level)


# ───────────────────────── user-facing transforms ─────────────────────────

def _out(y, level):
    """Split a function's output into (value, tangent) for the given level."""
    if needs_lift(y):                # np.array([...]) of Duals: one Dual (see _core.py)
        y = lift(y)
    if type(y) is Dual and y._level == level:
        t = y.tangent
        if isinstance(t, np.ndarray) and 0 in t.strides and t.size > 1:
            t = t.copy()  # a broadcast view: give the caller an ordinary array
        return y.value, t
    if isinstance(y, tuple):
        pairs = [_out(a, level) for a in y]
        vals = [p[0] for p in pairs]
        tans = [p[1] for p in pairs]
        if hasattr(y, "_fields"):
            return type(y)(*vals), type(y)(*tans)
        return tuple(vals), tuple(tans)
    if isinstance(y, list):
        pairs = [_out(a, level) for a in y]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    # f did not depend on the input at this level: the derivative is zero
    dtype = y.dtype if hasattr(y, "dtype") else np.result_type(y)
    z = np.zeros(_shape(y), dtype=dtype)
    return y, (z[()] if z.ndim == 0 else z)


def derivative(f, x):
    """f'(x) for a scalar x (real, or complex with f holomorphic); f may return an array.

    Evaluates f(x + ε) with a dual number and returns the ε-part::

        >>> import numpy as np, mcutils as mc
        >>> mc.derivative(lambda x: x**3, 2.0)
        12.0
        >>> mc.derivative(np.exp, 1j * np.pi)               # e^z at z = iπ
        np.complex128(-1+1.2246467991473532e-16j)

    Nested calls are safe: ``mc.derivative(lambda x: mc.derivative(f, x), x0)`` is f''(x0).
    """
    if isinstance(x, Tracer):
        pass
    elif type(x) in (float, complex):
        pass
    else:
        a = as_float_array(x)
        if a.ndim != 0:
            raise ValueError(
                f"mc.derivative needs a scalar x, got shape {a.shape}; for array inputs use "
                "mc.jvp(f, x, dx) (a directional derivative) or mc.jacobian(f, x).")
        x = a.item()
    level = new_level()
    return _out(f(_new(x, 1.0, level)), level)[1]


def jvp(f, x, dx):
    """(f(x), f'(x)[dx]): the value and the directional derivative along dx, in one pass.

    ``x`` and ``dx`` are arrays of one shape (integers are promoted to float)::

        >>> import numpy as np, mcutils as mc
        >>> X = np.array([[2.0, 1.0], [0.0, 3.0]]); dX = np.eye(2)
        >>> y, dy = mc.jvp(lambda X: X @ X, X, dX)        # d(X²) = X dX + dX X
        >>> dy
        array([[4., 2.],
               [0., 6.]])
    """
    x = as_float_array(x, "x")
    dx = as_float_array(dx, "dx")
    if _shape(x) != _shape(dx):
        raise ValueError(f"mc.jvp: x has shape {_shape(x)} but dx has shape {_shape(dx)}; "
                         "the direction dx must have the shape of x.")
    level = new_level()
    return _out(f(_new(x, dx, level)), level)


def expm(A):
    """The matrix exponential e^A, differentiable in forward mode.

    Plain arrays give ``scipy.linalg.expm(A)``.  For a Dual A + ε dA the tangent is the
    Fréchet derivative  d e^A = ∫₀¹ e^{sA} dA e^{(1−s)A} ds,  computed by
    ``scipy.linalg.expm_frechet`` (or, for nested tracers, from the block identity
    exp([[A, dA], [0, A]]) = [[e^A, d e^A], [0, e^A]]).
    """
    top = top_tracer((A,))
    if top is None:
        import scipy.linalg

        return scipy.linalg.expm(A)
    if type(top) is not Dual:
        out = top.__array_function__(expm, (type(top),), (A,), {})
        if out is NotImplemented:
            raise unsupported(type(top).__name__, expm, "register mcutils.expm in its table.")
        return out
    V, T, level = A.value, A.tangent, A._level
    if type(V) is np.ndarray and type(T) is np.ndarray:
        import scipy.linalg

        E, L = scipy.linalg.expm_frechet(V, T)
        return _new(E, L, level)
    n = _shape(V)[-1]
    Z = np.zeros(_shape(V), dtype=np.result_type(A.dtype))
    M = np.concatenate([np.concatenate([V, T], axis=1), np.concatenate([Z, V], axis=1)],
                       axis=0)
    big = expm(M)
    return _new(big[:n, :n], big[:n, n:], level)
