"""Rules you write yourself: ``mc.primitive``, ``defjvp`` and ``defvjp``.

Automatic differentiation finds f'(x) by tracing the NumPy operations inside f.  Sometimes
that is not what you want: the code inside is not differentiable as written (a loop that
stops on a tolerance, a call into SciPy or C), or the traced derivative is slow or
numerically poor while a formula from the course is short.  Then declare f a
**primitive** and give AD its rule:

    >>> import numpy as np, mcutils as mc
    >>> @mc.primitive                       # mcutils calls f on plain values only
    ... def logsumexp(x):
    ...     m = np.max(x)
    ...     return m + np.log(np.sum(np.exp(x - m)))
    >>> _ = logsumexp.defjvp(lambda dx, y, x: np.sum(np.exp(x - y) * dx))  # f'(x)[dx]
    >>> _ = logsumexp.defvjp(lambda g, y, x: g * np.exp(x - y))            # f'(x)ᵀ[g]
    >>> x = np.array([0.0, 1.0, 2.0])
    >>> mc.grad(logsumexp)(x)                # the softmax of x
    array([0.09003057, 0.24472847, 0.66524096])
    >>> bool(mc.check_rule(logsumexp, x))    # both rules against finite differences
    True

A rule takes the tangent (jvp) or the cotangent (vjp) first, then the answer y = f(x), then
every argument of f, exactly as f received them:

* ``f.defjvp(jvp, argnum=k)``: ``jvp(dx, y, *args)`` returns f'(x)[dx] for a change dx of
  argument k (default 0), an array of y's shape — forward mode (``mc.jvp``, ``mc.Dual``);
* ``f.defvjp(vjp, argnum=k)``: ``vjp(g, y, *args)`` returns f'(x)ᵀ[g], the cotangent of
  argument k for the output cotangent g, an array of argument k's shape — reverse mode
  (``mc.grad``, ``mc.vjp``).  (A result that only broadcasts to argument k's shape is
  summed over the broadcast axes, as for the package's own rules.)

Both return the rule itself, so they also work as decorators (``@logsumexp.defvjp`` on a
``def``; use ``functools.partial(f.defvjp, argnum=1)`` for another argument).  Keyword
arguments of a call are passed on to the rules as keywords; they are parameters, not
differentiated (a keyword argument that names a positional parameter is moved to its
place first, so ``f(x=a)`` and ``f(a)`` are the same call).

What gets differentiated.  f itself is never traced: mcutils calls it on plain values
(or on the values of outer derivatives, see below).  The *rules* are ordinary NumPy code
and are traced like any other code, so second derivatives work through a primitive:
``mc.hvp`` and ``mc.hessian`` run forward mode over reverse mode and need both rules;
``mc.grad`` of ``mc.grad`` differentiates the vjp rule again, ``mc.jvp`` of ``mc.grad`` the
vjp rule in forward mode.  A rule that calls non-NumPy code (SciPy, ``float()``) is fine
for first derivatives only.  A mode whose rule is missing raises a TypeError that names
the method to call.

Complex numbers follow the package's internal convention (see :mod:`mcutils.reverse_rules`):
a vjp rule is written with plain transposes, so the rule of a holomorphic f is
``g * f'(x)``, the same formula as for real x, and in general it returns x̄ with
Re Σ g·f'(x)[dx] = Re Σ x̄·dx for every dx.  ``mc.check_rule`` tests exactly that.

Where the package keeps its own rules.  The built-in rules live in two tables, one per
mode: the jvp of ``np.linalg.det`` is ``_det_fn`` in :mod:`mcutils.forward_rules` (the
entry ``np.linalg.det: frule(_det_fn)`` of ``FUNCTION_RULES``) and its vjp is ``_det_vjp`` in
:mod:`mcutils.reverse_rules` (``defvjp(la.det, _det_vjp)``); search either file for the
NumPy name.  A primitive keeps its two rules together on one object instead:
``f.jvp_rules`` and ``f.vjp_rules`` (dicts argnum → rule).

How it plugs in.  A primitive is registered in both rule tables under itself, like a NumPy
function: called with a traced argument it hands the call to the tracer
(``__array_function__``), whose engine looks the primitive up, calls it on the values and
applies the user's rule.  Nothing in the engines is special-cased: the call's keyword
arguments travel through them as one opaque extra argument (so the engines' handling of
NumPy keywords such as ``out=`` or ``mean=`` never applies to a primitive's own
parameters), and an array built with ``np.array([a, b])`` from traced values is first
turned into one traced array (``mcutils._core.lift``), so ``f`` still sees plain arrays.
The tables keep every primitive ever made (a few hundred bytes each).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from . import _core
from . import forward_rules as _FR
from . import reverse_rules as _RR
from ._core import Tracer, iter_tracers, top_tracer
from .forward import Dual

__all__ = ["Primitive", "primitive"]

# np.array([a, b]) of traced values is an object array (see mcutils._core): a primitive
# turns it into one traced array before deciding how to call f
_needs_lift = getattr(_core, "needs_lift", None)
_lift = getattr(_core, "lift", None)


def primitive(fun):
    """Make ``fun`` a primitive: AD calls it on plain values and uses rules you give it.

    Returns a :class:`Primitive`; calling it with plain arrays is calling ``fun``.  Add the
    rules with :meth:`Primitive.defjvp` (forward mode) and :meth:`Primitive.defvjp`
    (reverse mode), and test them with :func:`mcutils.check_rule`.  Example — the
    derivative of the Euclidean norm, (x/‖x‖)·dx::

        >>> import numpy as np, mcutils as mc
        >>> norm = mc.primitive(lambda x: np.sqrt(np.sum(x * x)))
        >>> _ = norm.defjvp(lambda dx, y, x: np.sum(x * dx) / y)
        >>> _ = norm.defvjp(lambda g, y, x: g * x / y)
        >>> mc.grad(norm)(np.array([3.0, 4.0]))
        array([0.6, 0.8])
        >>> mc.jvp(norm, np.array([3.0, 4.0]), np.array([1.0, 0.0]))
        (np.float64(5.0), np.float64(0.6))
        >>> norm(np.array([3.0, 4.0]))           # plain arrays: just the function
        np.float64(5.0)
    """
    if isinstance(fun, Primitive):
        return fun
    if not callable(fun):
        raise TypeError(f"mc.primitive needs a function, got {type(fun).__name__}")
    return Primitive(fun)


def _positional_params(fun):
    """(number of positional parameters, how many of them are required, the signature);
    None for what cannot be known (``*args``, builtins without a signature)."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return None, None, None
    n = required = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None, None, sig
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
            required += p.default is p.empty
    return n, required, sig


class _Keywords:
    """The keyword arguments of a traced call, carried as one opaque last positional
    argument through the engines: their keyword handling gives NumPy's meaning to names
    such as ``out=``, ``where=`` or ``mean=``, which in a primitive mean what its author
    says.  :meth:`Primitive.__call__` and the rules unpack it."""

    __slots__ = ("kw",)

    def __init__(self, kw):
        self.kw = kw


def _unpack(vals):
    """(positional arguments, keyword arguments) of a call carried as ``(*args, _Keywords)``."""
    if vals and type(vals[-1]) is _Keywords:
        return tuple(vals[:-1]), vals[-1].kw
    return tuple(vals), {}


class _VjpTable:
    """What :mod:`mcutils.reverse` reads as the primitive's per-argument pullbacks:
    ``table[i](g, ans, *args)``, the last of ``args`` being the call's keywords."""

    __slots__ = ("prim",)

    def __init__(self, prim):
        self.prim = prim

    def __getitem__(self, i):
        rule = self.prim.vjp_rules.get(i)
        if rule is None:             # __call__ checks first; this is a second safeguard
            raise self.prim._missing("vjp", i)

        def vjp(g, ans, *vals):
            args, kw = _unpack(vals)
            return rule(g, ans, *args, **kw)

        return vjp

    def __len__(self):
        return 1 + max(self.prim.vjp_rules, default=-1)


class Primitive:
    """A function that AD treats as one operation, differentiated by rules you give it.

    Made by :func:`primitive`.  ``jvp_rules`` and ``vjp_rules`` map an argument position to
    its rule; ``fun`` is the wrapped function.  The primitive is registered in the rule
    tables of both modes (:mod:`mcutils.forward_rules`, :mod:`mcutils.reverse_rules`) under
    itself, so the engines treat it like a NumPy function with a rule.
    """

    def __init__(self, fun):
        self.fun = fun
        self.jvp_rules = {}
        self.vjp_rules = {}
        self._nargs, self._nrequired, self._sig = _positional_params(fun)
        functools.update_wrapper(self, fun, updated=())
        # No __wrapped__: the engines normalize NumPy-style calls by signature (out=, where=,
        # mean= have NumPy's meaning there); a primitive's parameters mean what its author
        # says, so its calls are bound here, in __call__, and pass the engines unchanged.
        del self.__wrapped__
        name = getattr(fun, "__name__", None)
        # a lambda has no name of its own: messages then say "f.defjvp(...)"
        self.__name__ = "f" if name in (None, "<lambda>") else name
        _FR.FUNCTION_RULES[self] = self._forward_rule
        _RR.RULES[self] = ("each", _VjpTable(self), None)

    def __repr__(self):
        rules = [f"jvp of argument {k}" for k in sorted(self.jvp_rules)]
        rules += [f"vjp of argument {k}" for k in sorted(self.vjp_rules)]
        return f"<mc.primitive {self.__name__}: {', '.join(rules) or 'no rules yet'}>"

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ defining rules
    def _check_rule(self, rule, argnum, kind):
        if not callable(rule):
            raise TypeError(f"{self.__name__}.def{kind}: the rule must be a function, got "
                            f"{type(rule).__name__}")
        if isinstance(argnum, bool) or not isinstance(argnum, (int, np.integer)) or argnum < 0:
            raise ValueError(f"{self.__name__}.def{kind}: argnum must be a non-negative "
                             f"integer (the position of the argument), got {argnum!r}")
        argnum = int(argnum)
        if self._nargs is not None and argnum >= self._nargs:
            raise ValueError(f"{self.__name__}.def{kind}: argnum={argnum}, but "
                             f"{self.__name__} has {self._nargs} positional argument(s)")
        if self._nargs is not None:
            first = "dx" if kind == "jvp" else "g"
            n = self._nrequired
            try:
                inspect.signature(rule).bind_partial(*range(n + 2))
            except TypeError:
                params = ", ".join(list(self._sig.parameters)[:n])
                raise TypeError(
                    f"{self.__name__}.def{kind}: the rule is called as rule({first}, y, "
                    f"{params}) — the {'tangent' if kind == 'jvp' else 'cotangent'}, the "
                    f"answer y = {self.__name__}(...), then every argument of "
                    f"{self.__name__} — so it must accept {n + 2} positional "
                    "arguments") from None
            except ValueError:       # builtins without a signature: trust the caller
                pass
        return argnum

    def defjvp(self, rule, argnum=0):
        """Forward-mode rule of argument ``argnum``: ``rule(dx, y, *args)`` = f'(x)[dx].

        ``dx`` is a change of argument ``argnum`` (an array of its shape), ``y`` the answer
        ``f(*args)``, ``args`` every argument of the call; return an array of y's shape.
        Returns ``rule``, so it works as a decorator::

            >>> import numpy as np, mcutils as mc
            >>> cube = mc.primitive(lambda x: x ** 3)
            >>> @cube.defjvp
            ... def cube_jvp(dx, y, x):
            ...     return 3 * x ** 2 * dx
            >>> mc.derivative(cube, 2.0)
            12.0
        """
        argnum = self._check_rule(rule, argnum, "jvp")
        self.jvp_rules[argnum] = rule
        return rule

    def defvjp(self, rule, argnum=0):
        """Reverse-mode rule of argument ``argnum``: ``rule(g, y, *args)`` = f'(x)ᵀ[g].

        ``g`` is the cotangent of the output (an array of y's shape), ``y`` the answer
        ``f(*args)``; return the cotangent of argument ``argnum``, an array of its shape.
        Returns ``rule``, so it works as a decorator.  Two arguments, each with its rule —
        f(A, B) = tr(AB), df = tr(dA B) + tr(A dB), so Ā = g Bᵀ and B̄ = g Aᵀ::

            >>> import numpy as np, mcutils as mc
            >>> trab = mc.primitive(lambda A, B: np.trace(A @ B))
            >>> _ = trab.defvjp(lambda g, y, A, B: g * B.T, argnum=0)
            >>> _ = trab.defvjp(lambda g, y, A, B: g * A.T, argnum=1)
            >>> A, B = np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2)
            >>> mc.grad(trab, argnum=(0, 1))(A, B)[1]
            array([[1., 3.],
                   [2., 4.]])
        """
        argnum = self._check_rule(rule, argnum, "vjp")
        self.vjp_rules[argnum] = rule
        return rule

    # ------------------------------------------------------------------ calling
    def _missing(self, kind, argnum):
        mode, method = (("forward mode (mc.jvp, mc.derivative, mc.Dual)", "defjvp")
                        if kind == "jvp" else ("reverse mode (mc.grad, mc.vjp)", "defvjp"))
        first = "dx" if kind == "jvp" else "g"
        where = "" if argnum == 0 else f", argnum={argnum}"
        return TypeError(
            f"the mc.primitive {self.__name__} has no {kind} rule for argument {argnum}, "
            f"which {mode} needs; define one with "
            f"{self.__name__}.{method}(lambda {first}, y, *args: ...{where}) "
            "(second derivatives such as mc.hvp and mc.hessian use both defjvp and defvjp)")

    def __call__(self, *args, **kwargs):
        if args and type(args[-1]) is _Keywords:    # a call coming back from an engine
            args, kw = _unpack(args)
            kwargs = {**kw, **kwargs}
        if _lift is not None and (any(_needs_lift(a) for a in args)
                                  or any(_needs_lift(v) for v in kwargs.values())):
            args = tuple(_lift(a) for a in args)
            kwargs = {k: _lift(v) for k, v in kwargs.items()}
        top = top_tracer(args, kwargs) if (args or kwargs) else None
        if top is None:
            return self.fun(*args, **kwargs)
        if kwargs and self._sig is not None:   # keywords naming positional parameters
            try:
                bound = self._sig.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{self.__name__}: {e}") from None
            args, kwargs = bound.args, bound.kwargs
        level = top._level
        kind = "jvp" if isinstance(top, Dual) else "vjp"
        rules = self.jvp_rules if kind == "jvp" else self.vjp_rules
        for name, v in kwargs.items():
            if any(t._level == level for t in iter_tracers(v)):
                raise TypeError(
                    f"{self.__name__}: the keyword argument {name}= is a traced value; "
                    "keyword arguments of a primitive are parameters, not differentiated "
                    "(make it a positional parameter and give it a rule)")
        for k, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._level == level and k not in rules:
                    raise self._missing(kind, k)
            elif any(t._level == level for t in iter_tracers(a)):
                raise TypeError(
                    f"{self.__name__}: argument {k} is a list or tuple holding traced "
                    "values; a primitive differentiates array arguments, so pass "
                    "np.stack([...]) instead")
        return top.__array_function__(self, (type(top),), (*args, _Keywords(kwargs)), {})

    # ------------------------------------------------------------------ forward engine hook
    def _forward_rule(self, func, vals, tans, kw):
        """The FUNCTION_RULES entry: ``(y, dy)`` from the values and tangents of one level."""
        vals, kw = _unpack(vals)
        y = self(*vals, **kw)        # values may be tracers of outer levels
        if isinstance(y, (tuple, list)):
            raise TypeError(f"the mc.primitive {self.__name__} returned a "
                            f"{type(y).__name__}; a primitive returns one array (stack "
                            "several outputs with np.concatenate or np.stack)")
        dy = None
        for k, t in enumerate(tans):
            if t is None:
                continue
            rule = self.jvp_rules.get(k)
            if rule is None:
                raise self._missing("jvp", k)
            term = rule(t, y, *vals, **kw)
            dy = term if dy is None else dy + term
        if dy is None:               # (cannot happen: __call__ saw a tracer of this level)
            dy = np.zeros(np.shape(y))
        return y, dy
