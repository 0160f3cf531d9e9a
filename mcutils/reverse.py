"""Reverse-mode AD on a tape: ``grad``, ``value_and_grad`` and ``vjp`` of plain NumPy code.

The idea in three steps (Lecture 8):

1. **Record.**  The input is wrapped in a :class:`Box`.  Every NumPy operation applied to
   a Box computes its ordinary value *and* appends one entry to a list, the **tape**
   (a Wengert list): which earlier entries it read, and its *pullback* — the linear map
   ȳ ↦ x̄ = f'(x)ᵀ[ȳ] taking a cotangent of its output to cotangents of its inputs.
2. **Seed.**  The output's cotangent is ȳ (1 for a scalar loss).
3. **Sweep back.**  Walk the tape from the last entry to the first; each entry pulls its
   accumulated cotangent back to the entries it read, where contributions are *added*
   (the multivariable chain rule).  The tape is already in topological order — an entry
   is appended after everything it reads — so the sweep is a plain loop: no recursion,
   no sorting, any length.

The rules themselves ("given the answer and the inputs, return the pullback") live in one
table, :mod:`mcutils.reverse_rules`; this module is the engine that records and sweeps.

Conventions
-----------
* ``grad(f)(x)`` has the shape of ``x`` and is defined by f'(x)[dx] = ⟨∇f, dx⟩.
* **Complex inputs.**  For a real-valued ``f`` of complex ``x``, ``grad`` returns
  ∂f/∂Re x + i ∂f/∂Im x (= 2∂f/∂x̄, the direction of steepest ascent); ``vjp`` uses the
  real inner product Re⟨x̄, dx⟩ = Re Σ conj(x̄) dx, so ``pullback(ȳ)`` is the x̄ with
  Re⟨ȳ, f'(x)[dx]⟩ = Re⟨x̄, dx⟩ for every dx.  (Internally the rules are written with plain
  transposes, x̄ᵀ = f'(x)ᵀ ȳᵀ, which makes holomorphic rules read exactly like the real
  ones; the two conventions differ by a complex conjugation applied once at the ends.)
* **Integer inputs** are promoted to float64 (an ``np.arange`` input is almost always meant
  as real numbers).
* **Nesting.**  Each call of ``grad``/``vjp`` opens a new *level* (see :mod:`mcutils._core`);
  a Box of an outer level is a constant to an inner one, so
  ``grad(lambda x: x * grad(lambda y: x * y)(2.0))(3.0) == 6``.  Forward-over-reverse
  (``mc.hvp``, ``mc.hessian``) puts Duals inside Boxes; the rules are written with NumPy
  operations only, so they run on Duals too.

Code that traces.  Anything built from NumPy operators and functions with a rule works
unchanged, with arguments passed positionally or by keyword (both mean what NumPy means;
see :func:`mcutils._core.normalize_call`).  ``np.array([a, b])`` of traced values, ``np.r_``
and lists handed to ``np.sum``/``np.mean``/… work too (object arrays of traced entries,
lifted to one Box; see :mod:`mcutils._core`).  What cuts a value off the tape raises a
TypeError that says what to write instead: a numeric dtype (``np.array([a, b],
dtype=float)``; write ``np.stack``), writing into arrays (``x[i] = ...``; build a new array
with ``np.where``/``np.concatenate``), ``out=``, and ``float(x)``.  The matrix exponential is
``mc.expm`` (SciPy's ``expm`` cannot be traced).

Example::

    >>> import numpy as np, mcutils as mc
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> mc.grad(lambda X: np.linalg.slogdet(X)[1])(A)    # ∇ log det = A⁻ᵀ
    array([[ 0.6, -0.2],
           [-0.2,  0.4]])
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from . import reverse_rules as R
from ._core import (
    Entry,
    Tracer,
    as_float_array,
    check_ufunc_kwargs,
    lift,
    needs_lift,
    new_level,
    normalize_call,
    numpy_converts_result,
    top_tracer,
    unsupported,
)

__all__ = ["Box", "grad", "value_and_grad", "vjp"]

_HOW = ("register a pullback in mcutils/reverse_rules.py, e.g. "
        "defvjp(np.sin, lambda g, ans, x: g * np.cos(x)), "
        "or rewrite the code with operations that have rules.")


_RULES = R.RULES


class _Trace:
    """One reverse-mode derivative in progress: its level and its tape."""

    __slots__ = ("level", "tape")

    def __init__(self):
        self.level = new_level()
        # tape[i] = (parents, pullback, n_out): parents is a tuple of (index, output
        # position or None); pullback maps the output cotangent to a list of parent ones.
        self.tape = []


class Box(Tracer):
    """A value being traced by reverse mode: ``value`` plus its place on the tape.

    Boxes behave like the arrays they wrap (``shape``, ``.T``, indexing, operators, NumPy
    functions); comparisons and ``bool`` use the value.  Converting a Box to a Python
    number or writing into it would cut it off from the tape, so both raise.
    """

    __slots__ = ("value", "_level", "_trace", "_idx", "_out")

    def __init__(self, value, trace, idx, out=None):
        self.value = value
        self._level = trace.level
        self._trace = trace
        self._idx = idx
        self._out = out

    # ---- what the wrapped value looks like -------------------------------------------
    shape = property(lambda self: np.shape(self.value) if not isinstance(self.value, Tracer)
                     else self.value.shape)
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape)))
    @property
    def dtype(self):
        if numpy_converts_result():     # np.mean([b1, b2]): see _core.numpy_converts_result
            return np.dtype(object)
        return _dtype(self.value)

    def __len__(self):
        return len(self.value)

    def __repr__(self):
        return f"Box({self.value!r}, level={self._level})"

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self.value)

    def __float__(self):
        raise TypeError(
            "float() of a traced value would drop its derivative (this also happens when a "
            "traced value is written into a NumPy array, A[i] = x); keep it an array "
            "(np.sum, indexing, np.stack, np.where ...) or, to read the number, use "
            "mc.value_and_grad")

    __int__ = __complex__ = __index__ = item = tolist = __float__

    # np.array(b) / np.array([b1, b2]): an object array of Entries (Tracer.__array__ in
    # _core.py); a numeric dtype raises, since it would drop the derivative.

    def __setitem__(self, key, val):
        raise TypeError(
            "mcutils reverse mode cannot trace in-place assignment (x[...] = ... on a traced "
            "array); build a new array instead, e.g. with np.where, np.concatenate, "
            "np.stack or x + np.eye(...) * v")

    # ---- NumPy's protocols ------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:      # the common case, kept fast
            if len(inputs) == 1:
                return _unary(ufunc, self)
            if len(inputs) == 2:
                return _binary(ufunc, *inputs)
        if needs_lift(inputs):       # np.array([...]) of traced values among the inputs
            return getattr(ufunc, method)(*lift(inputs), **kwargs)
        top = top_tracer(inputs, kwargs)
        if type(top) is not Box:     # a higher-level Dual handles it
            return NotImplemented
        if method != "__call__":
            func = _UFUNC_METHODS.get((ufunc, method))
            if func is None:
                raise unsupported("reverse mode", _UfuncMethod(ufunc, method), _HOW)
            return func(*inputs, **kwargs)
        check_ufunc_kwargs(ufunc, kwargs, "reverse mode")
        return _apply(ufunc, inputs, kwargs, top._trace, ufunc=True)

    def __array_function__(self, func, types, args, kwargs):
        # NumPy asks one Box per call (the first), which need not be the innermost one:
        # find the highest-level tracer and let its trace record the operation.
        if needs_lift(args) or kwargs and needs_lift(kwargs):
            return func(*lift(args), **lift(kwargs))
        top = self
        for a in args:               # fast scan; nested sequences take the general path
            if isinstance(a, Tracer):
                if a._level > top._level:
                    top = a
            elif isinstance(a, (list, tuple)) or kwargs:
                top = top_tracer(args, kwargs)
                break
        if type(top) is not Box:
            return NotImplemented
        return _apply(func, args, kwargs, top._trace)

    # ---- operators ----------------------------------------------------------------------
    def __add__(self, o):
        return _binary(np.add, self, o)

    def __radd__(self, o):
        return _binary(np.add, o, self)

    def __sub__(self, o):
        return _binary(np.subtract, self, o)

    def __rsub__(self, o):
        return _binary(np.subtract, o, self)

    def __mul__(self, o):
        return _binary(np.multiply, self, o)

    def __rmul__(self, o):
        return _binary(np.multiply, o, self)

    def __truediv__(self, o):
        return _binary(np.true_divide, self, o)

    def __rtruediv__(self, o):
        return _binary(np.true_divide, o, self)

    def __pow__(self, o):
        return _binary(np.power, self, o)

    def __rpow__(self, o):
        return _binary(np.power, o, self)

    def __matmul__(self, o):
        return _binary(np.matmul, self, o)

    def __rmatmul__(self, o):
        return _binary(np.matmul, o, self)

    def __mod__(self, o):            # x % y (rule: mcutils/reverse_rules.py, issue 13)
        return _binary(np.remainder, self, o)

    def __rmod__(self, o):
        return _binary(np.remainder, o, self)

    def __floordiv__(self, o):
        return _binary(np.floor_divide, self, o)

    def __rfloordiv__(self, o):
        return _binary(np.floor_divide, o, self)

    def __neg__(self):
        return _apply(np.negative, (self,), {}, self._trace)

    def __pos__(self):
        return self

    def __abs__(self):
        return _apply(np.abs, (self,), {}, self._trace)

    def __getitem__(self, idx):
        if any(isinstance(t, Tracer) for t in (idx if isinstance(idx, tuple) else (idx,))):
            raise TypeError("indices must be plain integers, slices or arrays, not traced values")
        return _apply(R.getitem, (self, idx), {}, self._trace)

    # comparisons act on values and return plain booleans/arrays
    def __eq__(self, o):
        return self.value == _val(o)

    def __ne__(self, o):
        return self.value != _val(o)

    def __lt__(self, o):
        return self.value < _val(o)

    def __le__(self, o):
        return self.value <= _val(o)

    def __gt__(self, o):
        return self.value > _val(o)

    def __ge__(self, o):
        return self.value >= _val(o)

    __hash__ = None

    # ndarray-style methods (T, sum, reshape, ...) come from Tracer in _core.py
    def copy(self):
        return self

    def astype(self, dtype, **kwargs):
        if np.dtype(dtype).kind not in "fc":
            raise TypeError(f"casting a traced value to {np.dtype(dtype)} drops its derivative")
        return np.real(self) if np.dtype(dtype).kind == "f" and self.dtype.kind == "c" else self


_UFUNC_METHODS = {
    (np.add, "reduce"): np.sum, (np.add, "accumulate"): np.cumsum,
    (np.multiply, "reduce"): np.prod, (np.maximum, "reduce"): np.max,
    (np.minimum, "reduce"): np.min,
}


class _UfuncMethod:
    """Names ``np.add.reduce`` and friends in error messages."""

    def __init__(self, ufunc, method):
        self.__name__ = f"{ufunc.__name__}.{method}"
        self.__module__ = "numpy"


def _val(x):
    return x.value if isinstance(x, Box) else x


def _dtype(v):
    while isinstance(v, Tracer):
        v = v.value
    return np.result_type(v)


def _unary(func, x):
    """One-argument ufuncs: the fast path of :func:`_apply`."""
    rule = _RULES.get(func)
    if rule is None or rule[0] != "each" or rule[2] is not None:
        return _apply(func, (x,), {}, x._trace)
    xv = x.value
    ans = func(xv)
    vjp = rule[1][0]
    trace = x._trace
    tape = trace.tape
    tape.append((((x._idx, x._out),), lambda g: (_fit(vjp(g, ans, xv), xv),), 0))
    return Box(ans, trace, len(tape) - 1)


def _binary(func, a, b):
    """Operators and two-argument ufuncs: the fast path of :func:`_apply`."""
    ta, tb = type(a), type(b)
    if ta is Entry or tb is Entry or ta is np.ndarray and a.dtype.hasobject and needs_lift(a) \
            or tb is np.ndarray and b.dtype.hasobject and needs_lift(b):
        return func(lift(a), lift(b))    # np.array([...]) of traced values (see _core.py)
    la = a._level if isinstance(a, Tracer) else 0
    lb = b._level if isinstance(b, Tracer) else 0
    top = a if la >= lb else b
    if type(top) is not Box:
        return NotImplemented
    rule = _RULES.get(func)
    if rule is None or rule[2] is not None or rule[0] not in ("each", "joint"):
        return _apply(func, (a, b), {}, top._trace)
    trace = top._trace
    level = trace.level
    ina, inb = la == level, lb == level
    av = a.value if ina else a
    bv = b.value if inb else b
    ans = func(av, bv)
    if rule[0] == "joint":           # matmul: one function gives both cotangents
        vj = rule[1]
        if ina and inb:
            parents = ((a._idx, a._out), (b._idx, b._out))

            def pullback(g):
                ga, gb = vj(g, ans, (0, 1), av, bv)
                return _fit(ga, av), _fit(gb, bv)
        elif ina:
            parents = ((a._idx, a._out),)

            def pullback(g):
                return (_fit(vj(g, ans, (0,), av, bv)[0], av),)
        else:
            parents = ((b._idx, b._out),)

            def pullback(g):
                return (_fit(vj(g, ans, (1,), av, bv)[1], bv),)
    else:
        va, vb = rule[1]
        if ina and inb:
            parents = ((a._idx, a._out), (b._idx, b._out))

            def pullback(g):
                return _fit(va(g, ans, av, bv), av), _fit(vb(g, ans, av, bv), bv)
        elif ina:
            parents = ((a._idx, a._out),)

            def pullback(g):
                return (_fit(va(g, ans, av, bv), av),)
        else:
            parents = ((b._idx, b._out),)

            def pullback(g):
                return (_fit(vb(g, ans, av, bv), bv),)
    tape = trace.tape
    tape.append((parents, pullback, 0))
    return Box(ans, trace, len(tape) - 1)


def _apply(func, args, kwargs, trace, ufunc=False):
    """Evaluate ``func`` on the unwrapped values and record its pullback on the tape.

    Function calls are first put in the canonical form of :func:`mcutils._core.normalize_call`
    (keywords of positional-or-keyword parameters become positional), so a rule sees the
    same arguments however the caller spelled them.  Ufunc keywords (``dtype=``) shape the
    value only and are not passed to the pullbacks.
    """
    rule = _RULES.get(func)
    if rule is None:
        if not R.register_scipy_special() or func not in R.RULES:
            raise unsupported("reverse mode", func, _HOW)
        rule = R.RULES[func]
    kind = rule[0]
    ufunc_kwargs = None
    if ufunc:
        ufunc_kwargs = {k: v for k, v in kwargs.items() if k != "out" and k != "where"}
        kwargs = {}
    elif kwargs or len(args) > 2:
        args, kwargs = normalize_call(func, args, kwargs, kind != "const")
    if kind == "composite":          # written in terms of other traced operations
        return rule[1](*args, **kwargs)
    level = trace.level
    if kind == "seq":                # np.stack(seq, axis): the sequence becomes *args
        if len(args) > 1:
            kwargs = {"axis": args[1], **kwargs}
        args = tuple(args[0])
        kind = "joint"
    for v in kwargs.values():
        if type(v) is Box and v._level == level:
            raise TypeError(f"pass traced arrays to {getattr(func, '__name__', func)} "
                            "positionally, not as keyword arguments")
    vals = list(args)
    argnums = []
    parents = []
    for i, a in enumerate(args):
        if type(a) is Box and a._level == level:
            vals[i] = a.value
            argnums.append(i)
            parents.append((a._idx, a._out))
    if kind == "const":             # derivative zero (sign, floor, argmax, shape, ...)
        return rule[1](*vals, **kwargs)
    impl = rule[2]
    if ufunc_kwargs:
        ans = saved = func(*vals, **ufunc_kwargs)
    elif impl is None:
        ans = saved = func(*vals, **kwargs)
    else:
        ans, saved = impl(*vals, **kwargs)
    vjps = rule[1]

    if kind == "each":               # one pullback per argument
        def pullback(g):
            return [_fit(vjps[i](g, saved, *vals, **kwargs), vals[i]) for i in argnums]
    else:                            # one pullback for all arguments (shares work)
        def pullback(g):
            out = vjps(g, saved, argnums, *vals, **kwargs)
            return [_fit(out[i], vals[i]) for i in argnums]

    tape = trace.tape
    idx = len(tape)
    if isinstance(ans, tuple):       # several outputs: one tape entry, one Box per output
        tape.append((tuple(parents), pullback, len(ans)))
        boxes = [Box(a, trace, idx, k) for k, a in enumerate(ans)]
        return type(ans)(*boxes) if hasattr(ans, "_fields") else tuple(boxes)
    tape.append((tuple(parents), pullback, 0))
    return Box(ans, trace, idx)


# --------------------------------------------------------------------------- cotangents
def _shape(v):
    try:                             # arrays, NumPy scalars and tracers
        return v.shape
    except AttributeError:           # Python numbers
        return np.shape(v)


def _is_complex(v):
    while isinstance(v, Tracer):
        v = v.value
    try:
        return v.dtype.kind == "c"
    except AttributeError:
        return isinstance(v, complex)


def _fit(g, x):
    """Make the cotangent ``g`` match the input ``x``: undo broadcasting, drop imaginary
    parts for real inputs.  The one place where broadcasting is undone."""
    if g is None:
        return None
    try:                             # fast path: arrays of the same shape and kind
        if g.shape == x.shape and (g.dtype.kind != "c" or x.dtype.kind == "c"):
            return g
    except AttributeError:
        pass
    gs, xs = _shape(g), _shape(x)
    if gs != xs:
        g = unbroadcast(g, xs)
    if not _is_complex(x) and _is_complex(g):
        g = np.real(g)
    return g


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched to reach ``g.shape``
    from ``shape`` (the adjoint of broadcasting is summation)."""
    gs = _shape(g)
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gs[lead + i] != 1)
    if axes:
        g = np.sum(g, axis=axes)
    if _shape(g) != tuple(shape):
        g = np.reshape(g, shape)
    return g


def _backward(trace, out, gbar, leaves):
    """Sweep the tape backwards from ``out`` with cotangent ``gbar``.

    Returns the cotangents of the ``leaves`` (None where the output does not depend on
    them).  Cotangents live in a dict local to this call, so a pullback may be called any
    number of times and always gives the same answer.
    """
    tape = trace.tape
    cot = {}
    get = cot.get
    stop = min(b._idx for b in leaves)
    if out._out is None:
        cot[out._idx] = gbar
    else:
        slots = [None] * tape[out._idx][2]
        slots[out._out] = gbar
        cot[out._idx] = slots
    for i in range(out._idx, stop - 1, -1):
        g = get(i)
        if g is None:
            continue
        parents, pullback, _ = tape[i]
        if not parents:              # an input: keep its cotangent
            continue
        del cot[i]
        for (p, k), gp in zip(parents, pullback(g), strict=True):
            if gp is None:
                continue
            if k is None:            # accumulate: the chain rule sums over paths
                old = get(p)
                cot[p] = gp if old is None else old + gp
            else:                    # one output of a multi-output operation
                slots = get(p)
                if slots is None:
                    slots = cot[p] = [None] * tape[p][2]
                slots[k] = gp if slots[k] is None else slots[k] + gp
    return [cot.get(b._idx) for b in leaves]


# ------------------------------------------------------------------------------- API
def _start(f, args, kwargs, argnums):
    trace = _Trace()
    args = list(args)
    leaves = []
    for i in argnums:
        x = as_float_array(args[i], f"argument {i}")
        if isinstance(x, np.ndarray) and x.ndim == 0 and not isinstance(args[i], np.ndarray):
            x = x[()]                # a Python/NumPy scalar stays a scalar
        b = Box(x, trace, len(trace.tape))
        trace.tape.append(((), None, 0))
        args[i] = b
        leaves.append(b)
    y = f(*args, **kwargs)
    if needs_lift(y):                # np.array([...]) of traced values: one Box
        y = lift(y)
    return trace, leaves, y


def _finish(g, leaf):
    """The user-facing cotangent of an input: zero if unreached, conjugated back to the
    Re⟨·,·⟩ convention if complex, scalars for scalar inputs."""
    x = leaf.value
    if g is None:                    # f does not depend on x: zeros of x's shape and dtype
        g = np.zeros_like(x) if not isinstance(x, Tracer) else x * 0.0
    else:
        g = _fit(g, x)
        if _is_complex(x):
            # complex x: the gradient is complex (∂f/∂Re x + i ∂f/∂Im x), also when its
            # imaginary part vanishes, so its dtype never depends on the function
            g = np.conj(g) if _is_complex(g) else g + 0j
    if isinstance(g, np.ndarray):
        if 0 in g.strides and g.size > 1:   # a broadcast view: hand back an ordinary array
            g = g.copy()
        if g.ndim == 0 and not isinstance(x, np.ndarray):
            g = g[()]
    return g


def _vjp(f, args, kwargs, argnums):
    trace, leaves, y = _start(f, args, kwargs, argnums)

    def pullback(ybar):
        if not isinstance(ybar, Tracer):
            ybar = np.asarray(ybar)
        if isinstance(y, Box) and y._level == trace.level:
            if _shape(ybar) != _shape(y):
                raise ValueError(f"the cotangent has shape {_shape(ybar)} but f(x) has shape "
                                 f"{_shape(y)}; they must match")
            if _is_complex(ybar):
                ybar = np.conj(ybar)
            gs = _backward(trace, y, ybar, leaves)
        else:                        # f does not depend on x
            gs = [None] * len(leaves)
        return [_finish(g, b) for g, b in zip(gs, leaves, strict=False)]

    value = y.value if isinstance(y, Box) and y._level == trace.level else y
    if isinstance(value, tuple) or isinstance(y, tuple):
        raise TypeError("mcutils.vjp needs f to return one array; stack several outputs "
                        "with np.concatenate or np.stack")
    return value, pullback


def vjp(f, *primals):
    """Value and pullback of ``f`` at ``primals``: ``y, pullback = vjp(f, x)``.

    ``pullback(ȳ)`` returns x̄ = f'(x)ᵀ[ȳ], the vector–Jacobian product, with the shape of
    ``x`` (a tuple of cotangents if several primals were given).  ȳ must have the shape of
    ``y``.  For complex values the inner product is Re⟨x̄, dx⟩ (see the module docstring).
    Calling the pullback again with another ȳ reuses the same tape.

        >>> import numpy as np, mcutils as mc
        >>> y, pb = mc.vjp(lambda x: x ** 2, np.array([1.0, 2.0, 3.0]))
        >>> pb(np.array([1.0, 0.0, 1.0]))
        array([2., 0., 6.])
    """
    y, pb = _vjp(f, primals, {}, range(len(primals)))
    if len(primals) == 1:
        return y, lambda ybar: pb(ybar)[0]
    return y, lambda ybar: tuple(pb(ybar))


def value_and_grad(f, argnum=0):
    """Like :func:`grad`, but the returned function gives ``(f(x), ∇f(x))``."""
    many = not isinstance(argnum, numbers.Integral)
    argnums = tuple(argnum) if many else (argnum,)

    @functools.wraps(f)
    def value_and_gradient(*args, **kwargs):
        for i in argnums:
            if not -len(args) <= i < len(args):
                raise ValueError(f"argnum {i} is out of range for {len(args)} arguments")
        nums = [i % len(args) for i in argnums]
        trace, leaves, y = _start(f, args, kwargs, nums)
        mine = isinstance(y, Box) and y._level == trace.level
        value = y.value if mine else y
        if isinstance(value, (tuple, list)):
            raise ValueError(
                f"grad needs f to return a scalar, but it returned a {type(value).__name__}"
                f" of {len(value)} values; differentiate one of them (lambda x: f(x)[0]) or "
                "use mc.vjp / mc.jacobian for several outputs")
        shape = _shape(value)
        if shape != ():
            if int(np.prod(shape)) != 1:
                raise ValueError(
                    f"grad needs f to return a scalar, but it returned an array of shape "
                    f"{shape}: the gradient is defined for scalar functions only. For a "
                    "vector-valued f use mc.vjp(f, x) (one vector–Jacobian product ȳᵀf'(x)) "
                    "or mc.jacobian(f, x); for the gradient of a sum write "
                    "mc.grad(lambda x: np.sum(f(x))).")
            # one entry, shape (1,) or (1, 1) (xᵀAx with x a column): that number's gradient
            if mine:
                y = np.reshape(y, ())
        if _is_complex(value):
            raise ValueError("grad needs f to return a real scalar, but it returned a "
                             "complex number; take a real part or an absolute value, or "
                             "use mc.vjp for a complex output")
        if mine:
            dt = _dtype(value)
            gs = _backward(trace, y, np.ones((), dtype=dt), leaves)
        else:
            gs = [None] * len(leaves)
        gs = [_finish(g, b) for g, b in zip(gs, leaves, strict=False)]
        return value, (tuple(gs) if many else gs[0])

    return value_and_gradient


def grad(f, argnum=0):
    """The gradient of a scalar function: ``grad(f)(x)`` is ∇f(x), the shape of ``x``.

    ``f`` is ordinary NumPy code; ``argnum`` picks the argument (a tuple of ints gives a
    tuple of gradients).  ``grad(f)`` is itself differentiable (nest it for second
    derivatives, or use :func:`mcutils.hessian` / :func:`mcutils.hvp`).

        >>> import numpy as np, mcutils as mc
        >>> mc.grad(lambda x: np.sum(np.sin(x)))(np.array([0.0, np.pi]))
        array([ 1., -1.])
        >>> mc.grad(lambda x: x * mc.grad(lambda y: x * y)(2.0))(3.0)
        np.float64(6.0)

    Complex ``x`` (real-valued ``f``): the result is ∂f/∂Re x + i ∂f/∂Im x, always a
    complex array (also where the imaginary part is 0).

    Output shape.  ``f`` must return a real scalar; an array with exactly one entry
    (shape ``(1,)`` or ``(1, 1)``, e.g. ``x.T @ A @ x`` for a column ``x``) counts as that
    scalar, and ``value_and_grad`` returns the value in the shape ``f`` gave it.  Any other
    shape raises a ValueError that points to :func:`vjp` and :func:`mcutils.jacobian`.
    """
    vg = value_and_grad(f, argnum)

    @functools.wraps(f)
    def gradient(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return gradient
