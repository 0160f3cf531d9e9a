"""Feedback for problem sets: compare a student's answer with an independent computation.

Every check here calls the student's code and compares it with something computed another
way — finite differences, a residual, a structural property — never with a stored answer, so
the problem set can be shared without giving anything away.  A check returns a
:class:`Verdict` that displays as one line:

    ✓ 1(a): gradient agrees with finite differences (relerr 2.1e-11)
    ✗ 1(a): gradient disagrees with finite differences: relerr 1.0e-03 > 1e-06. Hint: ...
    … 1(a): not answered yet

An unanswered problem (the stub raises ``NotImplementedError`` or the answer is still
``None``) is reported as such, and an exception in the student's code becomes a ✗ line
with its type and message instead of a traceback, so the notebook keeps running.

    >>> import numpy as np
    >>> from mcutils import grading
    >>> f = lambda x: x @ x
    >>> grading.check_gradient("demo", f, lambda x: 2 * x, np.ones(3))
    ✓ demo: gradient agrees with finite differences (relerr ...)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks

PASS, FAIL, UNANSWERED = "pass", "fail", "unanswered"
_SYMBOL = {PASS: "✓", FAIL: "✗", UNANSWERED: "…"}


@dataclass(frozen=True)
class Verdict:
    """Outcome of one check: ``status`` is "pass", "fail" or "unanswered"."""

    problem: str
    status: str
    message: str

    def __bool__(self):
        return self.status == PASS

    def __repr__(self):
        return f"{_SYMBOL[self.status]} {self.problem}: {self.message}"

    __str__ = __repr__


class _Unanswered(Exception):
    pass


def _call(func, *args):
    """Run the student's code; turn a stub or a None answer into _Unanswered."""
    if func is None:
        raise _Unanswered
    try:
        out = func(*args)
    except NotImplementedError:
        raise _Unanswered from None
    if out is None:
        raise _Unanswered
    return out


def _guarded(problem, run, hint):
    try:
        return run()
    except _Unanswered:
        return Verdict(problem, UNANSWERED, "not answered yet")
    except Exception as exc:  # the student's code failed: one readable line, no traceback
        msg = str(exc).splitlines()[0] if str(exc) else ""
        return Verdict(problem, FAIL, f"your code raised {type(exc).__name__}: {msg}"
                       + (f". Hint: {hint}" if hint else ""))


def _from_check(problem, result, what, hint):
    if result.ok:
        return Verdict(problem, PASS, f"{what} agrees with finite differences "
                                      f"(relerr {result.relerr:.1e})")
    return Verdict(problem, FAIL, f"{what} disagrees with finite differences: relerr "
                                  f"{result.relerr:.1e} > {result.rtol:g}"
                   + (f". Hint: {hint}" if hint else ""))


def check_gradient(problem, f, grad, x, hint="", **options):
    """Does the student's ``grad(x)`` equal ∇f(x)?  Compared with finite differences
    (:func:`mcutils.check_gradient`); ``options`` are passed on (rtol, method, seed)."""
    def run():
        g = _call(grad, x)
        return _from_check(problem, checks.check_gradient(f, np.asarray(g), x, **options),
                           "gradient", hint)
    return _guarded(problem, run, hint)


def check_jvp(problem, f, df, x, hint="", **options):
    """Does the student's ``df(x, dx)`` equal f'(x)[dx]?  Compared with finite differences
    along random directions (:func:`mcutils.check_jvp`)."""
    def run():
        dx = np.ones_like(np.asarray(x, dtype=float))
        _call(df, x, dx)  # unanswered stubs are caught before any finite differences
        return _from_check(problem, checks.check_jvp(f, df, x, **options), "derivative", hint)
    return _guarded(problem, run, hint)


def check_close(problem, answer, independent, rtol=1e-10, what="answer", hint=""):
    """Is ``answer`` (a value, or a function of no arguments that computes it) within ``rtol``
    of ``independent``, a value the check cell computed by a *different* method?"""
    def run():
        value = _call(answer) if callable(answer) else answer
        if value is None:
            raise _Unanswered
        err = checks.relerr(np.asarray(value), np.asarray(independent))
        if err <= rtol:
            return Verdict(problem, PASS, f"{what} agrees with an independent computation "
                                          f"(relerr {err:.1e})")
        return Verdict(problem, FAIL, f"{what} disagrees with an independent computation: "
                                      f"relerr {err:.1e} > {rtol:g}"
                       + (f". Hint: {hint}" if hint else ""))
    return _guarded(problem, run, hint)


def check_property(problem, answer, prop, description, hint=""):
    """Does ``answer`` (value or function of no arguments) satisfy ``prop(answer)``?

    ``prop`` returns a bool, or ``(bool, detail)`` where detail says what was measured (a
    residual, say).  ``description`` says in words what is being checked."""
    def run():
        value = _call(answer) if callable(answer) else answer
        if value is None:
            raise _Unanswered
        out = prop(value)
        ok, detail = out if isinstance(out, tuple) else (bool(out), "")
        detail = f" ({detail})" if detail else ""
        if ok:
            return Verdict(problem, PASS, f"{description}{detail}")
        return Verdict(problem, FAIL, f"not yet: {description}{detail}"
                       + (f". Hint: {hint}" if hint else ""))
    return _guarded(problem, run, hint)
