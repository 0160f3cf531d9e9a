"""Shared machinery for mcutils' two AD modes: levels, tracer discovery, input checks.

Forward mode (:mod:`mcutils.forward`, the :class:`~mcutils.Dual` number) and reverse
mode (:mod:`mcutils.reverse`, the tape) both work by *wrapping* values in a tracer
object that intercepts NumPy calls.  Derivatives can be nested — a Hessian–vector
product is forward mode applied to a reverse-mode gradient — so a value may be
wrapped several times, e.g. ``Box(Dual(x, v))``.

Each call of ``derivative``/``jvp``/``grad``/``vjp`` opens a new *level*, a number from
one global counter, and every tracer it creates carries that level.  The rule that
keeps nested derivatives apart ("perturbation confusion") is:

    when an operation sees several tracers, the one with the **highest level**
    (the innermost derivative being taken) handles it; tracers of lower levels are
    ordinary constants to it.

    >>> # d/dx [ x * d/dy (x + y) ] at x=1: the inner derivative is 1, not "x + y"
    >>> # confused with the outer ε.  Levels make the inner ε and outer ε distinct.

So a tracer's ``__array_ufunc__``/``__array_function__``/operator methods first call
:func:`top_tracer`; if another tracer outranks it they return ``NotImplemented`` and
Python/NumPy hand the operation to that one.
"""

from __future__ import annotations

import inspect
import itertools
import sys

import numpy as np

_levels = itertools.count(1)


def new_level() -> int:
    """A fresh, strictly increasing level number for one derivative computation."""
    return next(_levels)


class Tracer:
    """Base class of every wrapped value (``Dual``, the reverse-mode ``Box``).

    Subclasses set ``_level`` (an int from :func:`new_level`) and ``value`` (what the
    wrapped computation would have produced without differentiation).
    """

    __slots__ = ()
    __array_priority__ = 1000.0
    _level: int

    # ndarray-style methods and properties: each is the NumPy function of the same name, so
    # it goes through the tracer's __array_function__/__array_ufunc__ like any other call.
    T = property(lambda self: np.transpose(self))
    mT = property(lambda self: np.swapaxes(self, -1, -2))
    real = property(lambda self: np.real(self))
    imag = property(lambda self: np.imag(self))

    def conj(self):
        return np.conj(self)

    conjugate = conj

    def reshape(self, *shape, **kwargs):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return np.reshape(self, shape, **kwargs)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def swapaxes(self, a, b):
        return np.swapaxes(self, a, b)

    def ravel(self):
        return np.ravel(self)

    # NumPy's object loops call x.sin(), x.exp(), ... on the entries of an object array
    # (np.tanh(np.array([a, b]))): each is the ufunc applied to the tracer.

    flatten = ravel

    def squeeze(self, axis=None):
        return np.squeeze(self, axis)

    def sum(self, *args, **kwargs):
        return np.sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return np.mean(self, *args, **kwargs)

    def prod(self, *args, **kwargs):
        return np.prod(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        return np.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return np.min(self, *args, **kwargs)

    def cumsum(self, *args, **kwargs):
        return np.cumsum(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        return np.var(self, *args, **kwargs)

    def std(self, *args, **kwargs):
        return np.std(self, *args, **kwargs)

    def clip(self, lo=None, hi=None):
        return np.clip(self, lo, hi)

    def dot(self, other):
        return np.dot(self, other)

    def trace(self, offset=0, axis1=0, axis2=1):
        return np.trace(self, offset, axis1, axis2)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return np.diagonal(self, offset, axis1, axis2)

    # index-valued and boolean methods look at the value only (they have no derivative)
    def argmax(self, *args, **kwargs):
        return np.argmax(self.value, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return np.argmin(self.value, *args, **kwargs)

    def any(self, *args, **kwargs):
        return np.any(self.value, *args, **kwargs)

    def all(self, *args, **kwargs):
        return np.all(self.value, *args, **kwargs)


def _ufunc_method(u):
    def method(self, *others):
        return u(self, *others)
    method.__name__ = u.__name__
    return method


for _u in vars(np).values():
    if isinstance(_u, np.ufunc) and _u.nin == 1 and not hasattr(Tracer, _u.__name__):
        setattr(Tracer, _u.__name__, _ufunc_method(_u))


def iter_tracers(obj):
    """Yield every Tracer inside ``obj``, looking into tuples, lists and dicts."""
    if isinstance(obj, Tracer):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from iter_tracers(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from iter_tracers(item)


def top_tracer(args, kwargs=None):
    """The tracer with the highest level among ``args`` (and ``kwargs``), or None."""
    best = None
    for t in itertools.chain(iter_tracers(args), iter_tracers(kwargs or {})):
        if best is None or t._level > best._level:
            best = t
    return best


def as_float_array(x, name="x"):
    """Promote an input to a float (or complex) ndarray; integers become float64.

    Differentiating with respect to an integer array is almost always a mistake of
    type, not of intent (``np.arange(3)``), so inputs are promoted and documented so.
    Object arrays and strings raise a TypeError that says what was expected.
    """
    if isinstance(x, Tracer):
        return x
    a = np.asarray(x)
    if a.dtype.kind in "biu":
        return a.astype(np.float64)
    if a.dtype.kind in "fc":
        return a
    raise TypeError(
        f"{name} must be a real or complex number or array, got dtype {a.dtype} "
        f"(type {type(x).__name__})"
    )


def unsupported(kind: str, func, how: str) -> TypeError:
    """The error raised when a NumPy function has no derivative rule."""
    name = getattr(func, "__name__", repr(func))
    module = getattr(func, "__module__", None) or "numpy"
    return TypeError(
        f"mcutils {kind} has no derivative rule for {module}.{name}. "
        f"To add one: {how}"
    )


# ───────────────────── keyword arguments: one meaning, NumPy's ─────────────────────
#
# A NumPy function can be called ``np.clip(x, 0, 1)`` or ``np.clip(x, a_min=0, a_max=1)``;
# the rules must see the same thing either way.  Both engines (forward.py, reverse.py) pass
# every dispatched call through :func:`normalize_call` *before* looking at the arguments, so
# a rule never has to know how the user spelled them.  The canonical form is:
#
# * every positional-or-keyword parameter of the NumPy signature is **positional**, in
#   NumPy's order, up to the last one the caller gave; parameters skipped in between get
#   NumPy's default (NumPy's "<no value>" defaults are spelled as what they mean:
#   ``keepdims=False``, ``a_min=None``, ``a_max=None``);
# * keyword-only parameters stay keywords (only those the caller gave);
# * aliases are resolved (``np.clip(min=, max=)`` → ``a_min``/``a_max``,
#   ``np.var/np.std(correction=)`` → ``ddof``);
# * ``out=`` (not None) raises a TypeError naming the function: writing into an existing
#   array cannot be traced;
# * ``where=``, ``initial=`` (reductions) and ``mean=`` (var/std) raise a TypeError that
#   says what to write instead, unless the operation has no derivative anyway.
#
# So a rule written with NumPy's parameter order, ``vjp(g, ans, x, a_min=None, a_max=None)``
# or ``_params(vals[1:], kw, ("axis", None), ...)``, is right however it was called.  Rules
# added to forward_rules.py / reverse_rules.py need nothing else: list the parameters in
# NumPy's order (names may differ; positions must not), with NumPy's defaults.

_NOVALUE = np._NoValue
_CANONICAL_DEFAULT = {"keepdims": False, "a_min": None, "a_max": None}
_ALIASES = {
    np.clip: {"min": "a_min", "max": "a_max"},
    np.var: {"correction": "ddof"},
    np.std: {"correction": "ddof"},
}
_UNSUPPORTED = {
    "where": "apply the mask first, e.g. np.sum(np.where(mask, x, 0)) for "
             "np.sum(x, where=mask)",
    "initial": "combine the initial value explicitly, e.g. np.maximum(np.max(x), c) for "
               "np.max(x, initial=c), or c + np.sum(x)",
    "mean": "drop mean= (mcutils recomputes the mean, which is part of the derivative)",
}
_sig_cache: dict = {}


def _sig_info(func):
    """(names, defaults, varargs, kwonly, varkw, out_pos, special) of a function, cached;
    None when Python cannot see its signature (then calls pass through unchanged)."""
    try:
        return _sig_cache[func]
    except (KeyError, TypeError):
        pass
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        info = None
    else:
        names, defaults, posonly, kwonly = [], [], 0, set()
        varargs = varkw = False
        for p in sig.parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and not varargs:
                names.append(p.name)
                d = p.default
                if d is _NOVALUE:
                    d = _CANONICAL_DEFAULT.get(p.name, _NOVALUE)
                defaults.append(d)
                posonly += p.kind == p.POSITIONAL_ONLY
            elif p.kind == p.VAR_POSITIONAL:
                varargs = True
            elif p.kind == p.KEYWORD_ONLY:
                kwonly.add(p.name)
            elif p.kind == p.VAR_KEYWORD:
                varkw = True
        out_pos = names.index("out") if "out" in names else None
        special = min((i for i, n in enumerate(names) if n in _UNSUPPORTED), default=None)
        info = (tuple(names), tuple(defaults), posonly, varargs, frozenset(kwonly), varkw,
                out_pos, special)
    try:
        _sig_cache[func] = info
    except TypeError:
        pass
    return info


def _fname(func):
    name = getattr(func, "__name__", repr(func))
    module = getattr(func, "__module__", None) or "numpy"
    if module.startswith("numpy"):
        module = "np.linalg" if "linalg" in module else "np.fft" if "fft" in module else "np"
    return f"{module}.{name}"


def out_error(func) -> TypeError:
    """The error for ``out=``: an in-place write cannot be traced."""
    name = _fname(func)
    return TypeError(
        f"mcutils cannot differentiate {name}(..., out=...): out= is an in-place write into "
        f"an existing array, which cuts the result off from the derivative. Drop out= and use "
        f"the returned array (y = {name}(...)).")


def _check_unsupported(func, name, value):
    if value is _NOVALUE or value is None or (name == "where" and value is True):
        return
    raise TypeError(f"mcutils cannot differentiate {_fname(func)}(..., {name}=...): "
                    f"{_UNSUPPORTED[name]}.")


def _is_default(v, d, name):
    if v is d or v is _NOVALUE or (name == "where" and v is True):
        return True
    return type(v) is type(d) and type(v) in (bool, int, str) and v == d


def normalize_call(func, args, kwargs, differentiable=True):
    """``(args, kwargs)`` of a call of ``func`` in the canonical form described above.

    ``differentiable=False`` (operations with no derivative, e.g. ``np.any``) skips the
    checks of ``where=``/``initial=``/``mean=``.  Arguments NumPy itself would reject raise
    the TypeError NumPy would raise.
    """
    info = _sig_info(func)
    if info is None:
        return args, kwargs
    names, defaults, posonly, varargs, kwonly, varkw, out_pos, special = info
    n = len(args)
    if not kwargs and any(a is _NOVALUE for a in args):
        kwargs = {names[i]: a for i, a in enumerate(args) if i < len(names) and i >= posonly
                  and i >= 1}
        args = args[:max(1, posonly)]
        n = len(args)
    if not kwargs:                                    # the common case: nothing to move
        if out_pos is not None and n > out_pos and args[out_pos] is not None:
            raise out_error(func)
        if differentiable and special is not None and n > special:
            for i in range(special, min(n, len(names))):
                if names[i] in _UNSUPPORTED:
                    _check_unsupported(func, names[i], args[i])
        return args, kwargs
    kwargs = dict(kwargs)
    for alias, real in _ALIASES.get(func, {}).items():
        if alias in kwargs:
            if real in kwargs or (real in names and names.index(real) < n):
                raise TypeError(f"{_fname(func)}() got both {alias}= and {real}=")
            kwargs[real] = kwargs.pop(alias)
    pos = list(args)
    last = -1
    for i in range(n, len(names)):
        if names[i] in kwargs:
            last = i
    for name in kwargs:
        if name in names:
            i = names.index(name)
            if i < n:
                raise TypeError(f"{_fname(func)}() got multiple values for argument {name!r}")
            if i < posonly:
                raise TypeError(f"{_fname(func)}() got positional-only argument {name!r} "
                                "passed as a keyword")
        elif name not in kwonly and not varkw:
            raise TypeError(f"{_fname(func)}() got an unexpected keyword argument {name!r}")
    for i in range(n, last + 1):
        v = kwargs.pop(names[i]) if names[i] in kwargs else defaults[i]
        pos.append(defaults[i] if v is _NOVALUE else v)
    while len(pos) > max(n, 1) and _is_default(pos[-1], defaults[len(pos) - 1],
                                                 names[len(pos) - 1]):
        pos.pop()                                     # trailing defaults say nothing
    if out_pos is not None and len(pos) > out_pos and pos[out_pos] is not None:
        raise out_error(func)
    if kwargs.get("out") is not None:
        raise out_error(func)
    if differentiable:
        for i in range(special if special is not None else len(pos), len(pos)):
            if names[i] in _UNSUPPORTED:
                _check_unsupported(func, names[i], pos[i])
        for name in _UNSUPPORTED:
            if name in kwargs:
                _check_unsupported(func, name, kwargs[name])
    return tuple(pos), kwargs


# ufunc keyword arguments that change only the value's type, never the derivative
UFUNC_KWARGS = frozenset({"dtype", "casting", "order", "subok"})


def check_ufunc_kwargs(ufunc, kwargs, mode):
    """Raise for ufunc keywords a traced computation cannot honour (out=, where=, axes=)."""
    for k in kwargs:
        if k in UFUNC_KWARGS:
            continue
        if k == "out":
            v = kwargs[k]
            if v is None or isinstance(v, tuple) and all(o is None for o in v):
                continue
            raise out_error(ufunc)
        if k == "where":
            if kwargs[k] is True:
                continue
            raise TypeError(
                f"mcutils {mode}: np.{ufunc.__name__}(..., where=...) leaves the masked "
                "entries uninitialised; compute everywhere and select with "
                f"np.where(mask, np.{ufunc.__name__}(...), other) instead.")
        raise TypeError(f"mcutils {mode}: np.{ufunc.__name__}(..., {k}=...) is not supported "
                        "on traced values; call it without that keyword.")


# ───────────────────── arrays built from traced values: np.array([a, b]) ─────────────────────
#
# ``np.array`` is not dispatched by NumPy (no ``__array_function__`` for it), so
# ``np.array([x[0] * x[1], np.sin(x[2])])`` cannot return a tracer.  The design:
#
# 1. **NumPy builds an object array.**  ``Tracer.__array__()`` (no dtype, or dtype=object)
#    returns an object array whose entries are :class:`Entry` objects, one per scalar entry
#    of the tracer (``Entry(t[i, j])``).  So ``np.array([a, b])``, ``np.array([[a, b],
#    [c, d]])``, ``np.r_[...]``, ``np.c_[...]`` and a Python list handed to ``np.sum``,
#    ``np.mean``, ``np.std``, ``np.var``, ``np.linalg.norm`` all produce object arrays of
#    Entries, and NumPy's object loops compute on them entry by entry: arithmetic through
#    the Entry's operators, math ufuncs through its methods (``e.sin()``, NumPy's protocol
#    for object arrays), reductions through ``+``.  Every result is again an Entry (or an
#    object array of them), each holding a tracer, so the derivative is carried along.
#    Entries deliberately have no ``dtype``: NumPy's own ``mean``/``var``/``std`` would
#    otherwise convert their result with ``dtype.type(...)``, i.e. ``float()``.
# 2. **Traced operations and the AD boundary turn them into one tracer.**  Whenever a
#    tracer's operation (operator, ``__array_ufunc__``, ``__array_function__``) sees an
#    Entry or an object array holding Entries or tracers among its arguments, it replaces
#    it by :func:`lift` — one traced array, ``np.stack`` of the entries, reshaped — and
#    calls the operation again; ``mc.jvp``/``mc.derivative``/``mc.grad``/``mc.vjp`` lift
#    the function's output the same way.  So ``W @ np.array([a, b])``, returning such an
#    array from ``f``, or ``np.concatenate([np.array([a, b]), x])`` all work in both modes
#    and to any order (Entries only hold tracers; nesting is the tracers' business).
# 3. **What cannot work, and what to write instead.**  ``np.array([a, b], dtype=float)``,
#    writing a traced value into a float array (``A[i] = a``), ``float(a)`` and SciPy
#    routines that convert to float raise a TypeError that says to use ``np.stack``.
#    NumPy's LAPACK routines (``np.linalg.inv(np.array([[a, b], [c, d]]))``) reject object
#    arrays with NumPy's own message (``array type object is unsupported in linalg``) —
#    mcutils is never called there, so the README says it: write ``np.stack`` (e.g.
#    ``np.stack([np.stack([a, b]), np.stack([c, d])])``) before ``np.linalg``.
#    Object arrays are entry-by-entry Python, so large arrays built this way are slow:
#    ``Tracer.__array__`` refuses more than ``MAX_ENTRIES`` entries and says to use
#    ``np.stack``/``np.concatenate``.

MAX_ENTRIES = 10_000

# NumPy's mean/var/std finish a scalar result with ``result.dtype.type(result / n)``, which
# would be float() of a tracer.  For a list of *scalar* tracers NumPy stores the tracers
# themselves in the object array (not Entries), so the result is a tracer: a scalar
# tracer reports dtype=object to exactly these three functions (checked by the caller's
# code object), np.object_(t) is t itself, and the derivative survives.
try:
    from numpy._core import _methods as _np_methods
except ImportError:                                  # pragma: no cover (NumPy < 2)
    from numpy.core import _methods as _np_methods
_NP_RESULT_CONVERTERS = frozenset(
    f.__code__ for f in (_np_methods._mean, _np_methods._var, _np_methods._std))


def numpy_converts_result():
    """True when the code asking a tracer's ``dtype`` is NumPy's mean/var/std (above)."""
    return sys._getframe(2).f_code in _NP_RESULT_CONVERTERS


class Entry:
    """One entry of an object array that NumPy built from traced values (see above).

    Holds a scalar tracer ``t``; arithmetic, comparisons and NumPy's ufuncs act on it and
    return Entries, so object arrays of Entries compute like arrays of numbers.  The
    engines turn Entries and object arrays of them back into tracers (:func:`lift`).
    """

    __slots__ = ("t",)
    __array_priority__ = 999.0

    def __init__(self, t):
        self.t = t

    def __repr__(self):
        return f"Entry({self.t!r})"

    # NumPy calls e.sin(), e.exp(), e.conjugate() ... on the entries of object arrays
    def __getattr__(self, name):
        f = getattr(np, name, None)
        if isinstance(f, np.ufunc):
            return lambda *others: _entry(f(self.t, *[lift(o) for o in others]))
        raise AttributeError(f"'Entry' (an entry of an object array of traced values) has no "
                             f"attribute {name!r}; build the array with np.stack([...]) to "
                             "get a traced array")

    conj = conjugate = lambda self: _entry(np.conj(self.t))
    real = property(lambda self: _entry(np.real(self.t)))
    imag = property(lambda self: _entry(np.imag(self.t)))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(lift(a) for a in inputs)
        kwargs = {k: lift(v) for k, v in kwargs.items()}
        return _entry(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        return _entry(func(*lift(args), **lift(kwargs)))

    def __bool__(self):
        return bool(self.t)

    def __float__(self):
        raise TypeError(
            "float() of a traced value would drop its derivative. This happens when an array "
            "built with np.array([...]) from traced values is converted to numbers "
            "(dtype=float, A[i] = x, SciPy or np.linalg): build it with np.stack([...]) "
            "instead, e.g. np.stack([a, b]) for np.array([a, b]); for the matrix exponential "
            "use mc.expm, not scipy.linalg.expm.")

    __int__ = __complex__ = __index__ = __float__

    def __hash__(self):
        return id(self)


def _entry(r):
    """A result computed from Entries: an Entry again if it is a scalar tracer."""
    if isinstance(r, Tracer) and r.shape == ():
        return Entry(r)
    return r


def _entry_binop(op, swap=False):
    def method(self, other):
        if isinstance(other, np.ndarray) and other.ndim:
            return NotImplemented        # NumPy broadcasts the Entry over the array
        a, b = (lift(other), self.t) if swap else (self.t, lift(other))
        return _entry(op(a, b))
    return method


for _name, _op in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("pow", np.power), ("matmul", np.matmul),
                   ("mod", np.remainder), ("floordiv", np.floor_divide)):
    setattr(Entry, f"__{_name}__", _entry_binop(_op))
    setattr(Entry, f"__r{_name}__", _entry_binop(_op, swap=True))
for _name, _op in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
    setattr(Entry, f"__{_name}__", _entry_binop(_op))
Entry.__neg__ = lambda self: Entry(-self.t)
Entry.__pos__ = lambda self: self
Entry.__abs__ = lambda self: _entry(np.abs(self.t))


def _has_traced_entries(a):
    """True for an object ndarray that holds Entries or tracers."""
    return any(type(e) is Entry or isinstance(e, Tracer) for e in a.flat)


def needs_lift(x):
    """Does ``x`` (an argument) hold an Entry or an object array of traced values?"""
    t = type(x)
    if t is Entry:
        return True
    if t is np.ndarray:
        return x.dtype.hasobject and _has_traced_entries(x)
    if t is list or t is tuple or t is dict:
        # a loop with the common types (tracers, floats, float arrays) settled inline: this
        # runs on every traced NumPy call, so no generator and no call per argument
        for a in (x.values() if t is dict else x):
            ta = type(a)
            if ta is Entry:
                return True
            if ta is np.ndarray:
                if a.dtype.hasobject and _has_traced_entries(a):
                    return True
            elif (ta is list or ta is tuple or ta is dict) and needs_lift(a):
                return True
        return False
    return False


def lift(x):
    """Entries → their tracer; object arrays of traced values → one traced array
    (``np.stack`` of the entries, reshaped); lists, tuples and dicts element by element;
    anything else unchanged."""
    t = type(x)
    if t is Entry:
        return x.t
    if t is np.ndarray:
        if not (x.dtype.hasobject and _has_traced_entries(x)):
            return x
        items = [e.t if type(e) is Entry else e for e in x.flat]
        if not items:
            return x
        return np.reshape(np.stack(items), x.shape)
    if t is list or t is tuple:
        if not any(needs_lift(a) for a in x):
            return x
        return t(lift(a) for a in x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[lift(a) for a in x])
    if t is dict:
        return {k: lift(v) for k, v in x.items()}
    return x


def _tracer_array(self, dtype=None, copy=None):
    """``np.array(tracer)``: an object array of Entries (see the design note above); a
    numeric dtype would drop the derivative and raises."""
    if dtype is not None and np.dtype(dtype) != np.dtype(object):
        raise TypeError(
            f"a traced value cannot become a plain {np.dtype(dtype)} array: that would drop "
            "its derivative. To build an array from traced values write np.stack([a, b]) "
            "(or np.array([a, b]) without dtype=); use .value for the number itself, and "
            "mc.expm instead of scipy.linalg.expm.")
    shape = self.shape
    size = int(np.prod(shape))
    if size > MAX_ENTRIES:
        raise TypeError(
            f"np.array/np.asarray of a traced array with {size} entries would become an "
            "object array computed entry by entry (too slow at this size): keep it traced "
            "— drop np.asarray, and build arrays with np.stack / np.concatenate.")
    out = np.empty(shape, dtype=object)
    if shape == ():
        out[()] = Entry(self)
    else:
        for idx in np.ndindex(shape):
            out[idx] = Entry(self[idx])
    return out


Tracer.__array__ = _tracer_array
