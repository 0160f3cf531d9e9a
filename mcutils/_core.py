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

import itertools

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
