"""Feedback for problem sets: compare a student's answer with an independent computation.

Every check here calls the student's code and compares it with something computed another
way — finite differences, a residual, a structural property — never with a stored answer, so
the problem set can be shared without giving anything away.  A check returns a
:class:`Verdict` that displays as one line:

    ✓ 1(a): gradient agrees with finite differences (relerr 2.1e-11)
    ✗ 1(a): gradient disagrees with finite differences: relerr 1.0e-03 > 1e-06. Hint: ...
    … 1(a): not answered yet

The feedback names the mistakes students really make, before any number is compared:

* an unanswered problem (the stub raises ``NotImplementedError``, or the answer variable is
  still ``None``) is "not answered yet"; a *function* that returns ``None`` is a ✗ that asks
  whether a ``return`` is missing;
* an answer of the wrong shape is a ✗ that says "your answer has shape (3, 2), expected
  (2, 3)"; NaN and inf are named as such;
* a list or tuple answer is compared item by item (how many items, the shape of each, their
  order) before anything is flattened, so items in the wrong order get a ✗ that says so;
* the student's code gets *copies* of the inputs: an in-place change cannot corrupt the point
  that later checks reuse;
* an exception in the student's code is a ✗ line with its type and message, and an exception
  in the check itself (a check that cannot digest an odd answer) is a ✗ that says so — never
  a traceback, so the notebook keeps running.

    >>> import numpy as np
    >>> from mcutils import grading
    >>> f = lambda x: x @ x
    >>> grading.check_gradient("demo", f, lambda x: 2 * x, np.ones(3))
    ✓ demo: gradient agrees with finite differences (relerr ...)
    >>> grading.check_gradient("demo", f, lambda x: 2 * x[:2], np.ones(3))
    ✗ demo: your answer has shape (2,), expected (3,)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from . import checks, fd
from ._core import as_float_array

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


class _Wrong(Exception):
    """A mistake found before any comparison (None returned, wrong shape, NaN): its message
    is the verdict."""


class _StudentError(Exception):
    """An exception raised by the student's code (as opposed to the check's)."""

    def __init__(self, exc):
        super().__init__(str(exc))
        self.exc = exc


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _copy(arg):
    """A copy of an input for the student's code: arrays and containers of arrays are copied,
    functions and other immutable things are passed as they are."""
    if callable(arg) or isinstance(arg, (int, float, complex, str, bool, type(None))):
        return arg
    try:
        return copy.deepcopy(arg)
    except Exception:  # an object that cannot be copied is passed as it is
        return arg


def _student(func, args):
    """Run student code: a stub (NotImplementedError) is _Unanswered, any other exception of
    theirs a _StudentError (our own _Unanswered/_Wrong pass through)."""
    try:
        return func(*args)
    except NotImplementedError:
        raise _Unanswered from None
    except (_Unanswered, _Wrong, _StudentError):
        raise
    except Exception as exc:
        raise _StudentError(exc) from exc


def _call(func, *args):
    """Run the student's function on copies of ``args``.

    A stub (NotImplementedError) or a ``None`` in place of the function is _Unanswered; a
    function that returns None is _Wrong; any other exception becomes _StudentError."""
    if func is None:
        raise _Unanswered
    out = _student(func, [_copy(a) for a in args])
    if out is None:
        name = getattr(func, "__name__", "")
        who = "your function" if name in ("", "<lambda>") else f"{name}"
        raise _Wrong(f"{who} returned None — is a `return` missing?")
    return out


def _value(answer):
    """The student's answer: a value, or a function of no arguments that computes it."""
    if answer is None:
        raise _Unanswered
    return _call(answer) if callable(answer) else answer


def _shape_text(shape):
    return str(tuple(int(s) for s in shape))


def _numeric(value, what="your answer", shape=None):
    """``value`` as a numeric array with the expected ``shape`` (a single number may stand
    for any one-element shape), free of NaN and inf; otherwise _Wrong with what is amiss."""
    if isinstance(value, (list, tuple)) and shape is not None and len(shape) >= 1 \
            and any(isinstance(v, (list, tuple, np.ndarray)) for v in value):
        sizes = {np.shape(v) for v in value}
        if len(sizes) > 1:
            raise _Wrong(f"{what} is a {type(value).__name__} of {len(value)} arrays of "
                         f"different shapes, expected one array of shape {_shape_text(shape)}")
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise _Wrong(f"{what} is not an array of numbers ({_first_line(exc)})") from None
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise _Wrong(f"{what} is not an array of numbers (got {type(value).__name__}"
                     + (f" of dtype {arr.dtype}" if isinstance(value, np.ndarray) else "")
                     + ")")
    if shape is not None and arr.shape != tuple(shape):
        if arr.size == 1 and int(np.prod(shape)) == 1:
            arr = arr.reshape(shape)
        else:
            raise _Wrong(f"{what} has shape {_shape_text(arr.shape)}, "
                         f"expected {_shape_text(shape)}")
    _finite(arr, what)
    return arr


def _finite(arr, what="your answer"):
    if arr.dtype.kind not in "fc":
        return
    nan, inf = np.isnan(arr), np.isinf(arr)
    for bad, name in ((nan, "NaN"), (inf, "inf")):
        if np.any(bad):
            where = "" if arr.ndim == 0 else \
                f" (at index {tuple(int(i) for i in np.argwhere(bad)[0])}" \
                f"{f' and {int(bad.sum()) - 1} more' if bad.sum() > 1 else ''})"
            raise _Wrong(f"{what} contains {name}{where}")


def _items(value, like, what="your answer"):
    """Check a list/tuple answer against the structure of ``like`` (a list of arrays): the
    number of items and the shape of each, naming items that are in the wrong order."""
    if not isinstance(value, (list, tuple)):
        raise _Wrong(f"{what} is a {type(value).__name__}, expected a list of "
                     f"{len(like)} arrays")
    if len(value) != len(like):
        raise _Wrong(f"{what} has {len(value)} items, expected {len(like)}")
    arrays = []
    for k, item in enumerate(value):
        if item is None:
            raise _Wrong(f"item {k} of {what} is None")
        try:
            arr = np.asarray(item)
        except Exception as exc:
            raise _Wrong(f"item {k} of {what} is not an array ({_first_line(exc)})") from None
        if arr.dtype == object or arr.dtype.kind not in "biufc":
            raise _Wrong(f"item {k} of {what} is not an array of numbers")
        arrays.append(arr)
    want = [np.shape(v) for v in like]
    got = [a.shape for a in arrays]
    if got != want:
        if sorted(got) == sorted(want):
            moved = [k for k in range(len(got)) if got[k] != want[k]]
            raise _Wrong(f"the items of {what} are in the wrong order: item {moved[0]} has "
                         f"shape {_shape_text(got[moved[0]])}, the shape of item "
                         f"{want.index(got[moved[0]])} (expected order of shapes: "
                         + ", ".join(_shape_text(s) for s in want) + ")")
        k = next(k for k in range(len(got)) if got[k] != want[k])
        if arrays[k].size == 1 and int(np.prod(want[k])) == 1:
            arrays[k] = arrays[k].reshape(want[k])
        else:
            raise _Wrong(f"item {k} of {what} has shape {_shape_text(got[k])}, "
                         f"expected {_shape_text(want[k])}")
    for k, arr in enumerate(arrays):
        _finite(arr, f"item {k} of {what}")
    return arrays


def _order_mistake(arrays, reference, rtol):
    """If the items match the reference only after reordering, say which goes where."""
    n = len(arrays)
    if n < 2:
        return None

    def close(a, b):
        return a.shape == b.shape and checks.relerr(a, b) <= rtol

    if all(close(arrays[k], reference[k]) for k in range(n)):
        return None
    if all(close(arrays[k], reference[n - 1 - k]) for k in range(n)):
        return "the items are in reverse order"
    where = {}
    for k in range(n):
        match = [j for j in range(n) if close(arrays[k], reference[j])]
        if not match:
            return None
        where[k] = match[0]
    moved = [f"your item {k} is item {j}" for k, j in where.items() if j != k]
    return "the items are in the wrong order: " + ", ".join(moved)


def _with_hint(message, hint):
    return message + (f". Hint: {hint}" if hint else "")


def _guarded(problem, run, hint):
    try:
        verdict = run()
    except _Unanswered:
        return Verdict(problem, UNANSWERED, "not answered yet")
    except _Wrong as exc:
        return Verdict(problem, FAIL, _first_line(exc))
    except _StudentError as err:  # the student's code failed: one readable line
        exc = err.exc
        msg = _first_line(exc)
        if isinstance(exc, (TypeError, AttributeError)) and "NoneType" in msg:
            msg += " — did one of your functions return None (is a `return` missing?)"
        return Verdict(problem, FAIL, _with_hint(f"your code raised {type(exc).__name__}: "
                                                 f"{msg}", hint))
    except Exception as exc:  # the check itself could not digest the answer
        return Verdict(problem, FAIL, "the check could not be run on your answer "
                                      f"({type(exc).__name__}: {_first_line(exc)}); look at "
                                      "the type and shape your code returns")
    return Verdict(verdict.problem, verdict.status,
                   " ".join(verdict.message.split("\n")))  # one line, whatever the message


def _from_check(problem, result, what, hint):
    if result.ok:
        return Verdict(problem, PASS, f"{what} agrees with finite differences "
                                      f"(relerr {result.relerr:.1e})")
    return Verdict(problem, FAIL, _with_hint(f"{what} disagrees with finite differences: "
                                             f"relerr {result.relerr:.1e} > {result.rtol:g}",
                                             hint))


def _is_items(x):
    return isinstance(x, (list, tuple))


def _flat(arrays):
    return np.concatenate([np.ravel(as_float_array(a)) for a in arrays])


def _unflat(v, like):
    out, start = [], 0
    for item in like:
        shape = np.shape(item)
        size = int(np.prod(shape))
        out.append(np.asarray(v[start:start + size]).reshape(shape))
        start += size
    return out


def check_gradient(problem, f, grad, x, hint="", **options):
    """Does the student's ``grad(x)`` equal ∇f(x)?  Compared with finite differences
    (:func:`mcutils.check_gradient`); ``options`` are passed on (rtol, method, seed).

    ``x`` may be an array or a list of arrays (the parameters of a network, say); then
    ``f`` takes the list, ``grad`` must return a list of arrays of the same shapes in the
    same order, and the items are checked one by one before they are compared."""
    def run():
        g = _call(grad, x)
        if not _is_items(x):
            g = _numeric(g, shape=np.shape(x))
            return _from_check(problem, checks.check_gradient(f, g, x, **options),
                               "gradient", hint)
        like = [as_float_array(v) for v in x]
        items = _items(g, like)
        flat_f = lambda v: f(_unflat(v, like))  # noqa: E731
        result = checks.check_gradient(flat_f, _flat(items), _flat(like), **options)
        if not result.ok and len(like) > 1:
            numeric = _unflat(fd.gradient(flat_f, _flat(like), method="central"), like)
            order = _order_mistake(items, numeric, 1e-6)
            if order:
                # the order is the mistake: the problem's hint would point elsewhere
                return Verdict(problem, FAIL, f"gradient disagrees with finite differences: "
                                              f"{order}")
            bad = [k for k in range(len(like)) if checks.relerr(items[k], numeric[k]) > 1e-6]
            return Verdict(problem, FAIL, _with_hint(
                f"gradient disagrees with finite differences: relerr {result.relerr:.1e} > "
                f"{result.rtol:g} (wrong items: {', '.join(map(str, bad))})", hint))
        return _from_check(problem, result, "gradient", hint)
    return _guarded(problem, run, hint)


def check_jvp(problem, f, df, x, hint="", **options):
    """Does the student's ``df(x, dx)`` equal f'(x)[dx]?  Compared with finite differences
    along random directions (:func:`mcutils.check_jvp`)."""
    def run():
        x_arr = as_float_array(x)
        shape = np.shape(f(x_arr.copy()))
        _numeric(_call(df, x_arr, np.ones_like(x_arr)), shape=shape)  # stubs, None, shape

        def student_df(xx, dx):
            return _numeric(_call(df, xx, dx), shape=shape)

        return _from_check(problem, checks.check_jvp(f, student_df, x, **options),
                           "derivative", hint)
    return _guarded(problem, run, hint)


def check_close(problem, answer, independent, rtol=1e-10, what="answer", hint=""):
    """Is ``answer`` (a value, or a function of no arguments that computes it) within ``rtol``
    of ``independent``, a value the check cell computed by a *different* method?

    When ``independent`` is a list or tuple, the answer must be a list or tuple of the same
    length whose items have the same shapes and order; each item is compared."""
    def run():
        value = _value(answer)
        if _is_items(independent):
            like = [np.asarray(v) for v in independent]
            items = _items(value, like)
            order = _order_mistake(items, like, rtol)
            if order:
                return Verdict(problem, FAIL, f"{what} disagrees with an independent "
                                              f"computation: {order}")
            errs = [checks.relerr(a, b) for a, b in zip(items, like, strict=True)]
            err = max(errs)
        else:
            ref = np.asarray(independent)
            err = checks.relerr(_numeric(value, shape=ref.shape), ref)
        if err <= rtol:
            return Verdict(problem, PASS, f"{what} agrees with an independent computation "
                                          f"(relerr {err:.1e})")
        return Verdict(problem, FAIL, _with_hint(f"{what} disagrees with an independent "
                                                 f"computation: relerr {err:.1e} > {rtol:g}",
                                                 hint))
    return _guarded(problem, run, hint)


def check_property(problem, answer, prop, description, hint="", shape=None):
    """Does ``answer`` (value or function of no arguments) satisfy ``prop(answer)``?

    ``prop`` returns a bool, or ``(bool, detail)`` where detail says what was measured (a
    residual, say).  ``description`` says in words what is being checked.  With ``shape``
    given, the answer must be a numeric array of that shape (free of NaN and inf) before
    ``prop`` sees it; an answer that makes ``prop`` itself fail is a ✗ that says so."""
    def run():
        value = _value(answer)
        if shape is not None:
            value = _numeric(value, shape=shape)
        out = prop(value)
        ok, detail = out if isinstance(out, tuple) else (bool(out), "")
        detail = f" ({detail})" if detail else ""
        if ok:
            return Verdict(problem, PASS, f"{description}{detail}")
        return Verdict(problem, FAIL, _with_hint(f"not yet: {description}{detail}", hint))
    return _guarded(problem, run, hint)


def check_rule(problem, f, *args, hint="", **options):
    """Do the student's rules of the :func:`mcutils.primitive` ``f`` hold at ``args``?

    Each rule the student registered (``f.defjvp``/``f.defvjp``) is first called once on
    copies of its inputs (a stub rule means "not answered yet", a rule returning None or an
    array of the wrong shape is named), then :func:`mcutils.check_rule` compares it with
    finite differences, and the two rules with each other (the dot-product test)."""
    def run():
        if not (f.jvp_rules or f.vjp_rules):
            raise _Unanswered
        vals = [as_float_array(a) for a in args]
        y = np.asarray(f(*(_copy(v) for v in vals)))
        for k, rule in sorted(f.jvp_rules.items()):
            _numeric(_call(rule, np.ones_like(vals[k]), y, *vals), "your jvp rule's output",
                     shape=y.shape)
        for k, rule in sorted(f.vjp_rules.items()):
            _numeric(_call(rule, np.ones_like(y), y, *vals), "your vjp rule's output",
                     shape=vals[k].shape)
        result = checks.check_rule(f, *vals, **options)
        if result.ok:
            return Verdict(problem, PASS, f"the rules of {f.__name__} agree with finite "
                                          f"differences and with each other (relerr "
                                          f"{result.relerr:.1e})")
        failed = [p.what for p in result.parts if not p.ok]
        return Verdict(problem, FAIL, _with_hint(
            f"not yet: {'; '.join(failed)} failed (relerr {result.relerr:.1e} > "
            f"{result.rtol:g})", hint))

    def guarded_rules():  # the rules are the student's code: their exceptions are theirs
        wrapped = {}
        for table in (f.jvp_rules, f.vjp_rules):
            for k, rule in list(table.items()):
                wrapped[(id(table), k)] = rule

                def safe(*a, _rule=rule):
                    return _student(_rule, a)

                table[k] = safe
        try:
            return _guarded(problem, run, hint)
        finally:
            for table in (f.jvp_rules, f.vjp_rules):
                for k in list(table):
                    table[k] = wrapped[(id(table), k)]
    return guarded_rules()


def kronecker_rank(L, m, n, tol=1e-10):
    """The fewest terms r with L(X) = Σₖ Mₖ X Nₖᵀ for a linear operator L on m×n matrices.

    Used by a check that must bound a student's count without printing it."""
    cols = []
    for k in range(m * n):
        E = np.zeros((m, n))
        E[k % m, k // m] = 1.0  # column-major: vec(E) is the k-th unit vector
        cols.append(np.asarray(L(E)).reshape(-1, order="F"))
    Lmat = np.column_stack(cols)
    R = Lmat.reshape(n, m, n, m).transpose(0, 2, 1, 3).reshape(n * n, m * m)
    s = np.linalg.svd(R, compute_uv=False)
    return int(np.sum(s > tol * s[0])) if s.size and s[0] > 0 else 0
