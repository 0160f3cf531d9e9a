"""Derivative checks: compare a claimed derivative with finite differences.

A derivative f'(x) is a linear map, so a claim about it can be tested by applying it
to a direction dx and comparing with the finite-difference estimate of
g'(0), g(t) = f(x + t·dx).  Random directions make this cheap *and* strict:

* a wrong Jacobian J̃ ≠ J gives (J̃ − J) dx ≠ 0 for almost every dx, so one or two
  random directions catch any error, at O(1) evaluations of f whatever the size of x;
* for a gradient the comparison is ⟨∇f, dx⟩ = f'(x)[dx] (a projection of the
  Jacobian, the ⟨ȳ, J dx⟩ idea with ȳ = 1), so a 10×10 matrix function costs a few
  evaluations instead of the 2·100 of a full finite-difference gradient;
* the default ``method="richardson"`` is accurate to ~1e-12, so a claimed derivative
  that is wrong by a relative 1e-4 — a dropped small term, a transposed factor in a
  nearly symmetric matrix — is rejected with the default ``rtol=1e-6``.

The directions come from ``np.random.default_rng(seed)``: a check gives the same
numbers on every run.  ``full=True`` compares whole Jacobians/gradients instead
(one direction per entry of x: for small problems, or to locate an error).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import fd
from ._core import as_float_array

__all__ = ["CheckResult", "check_gradient", "check_jvp", "check_rule", "relerr"]


def relerr(a, b):
    """Relative error ‖a − b‖ / ‖b‖ in the Frobenius (2-)norm; b is the reference.

    Works for scalars and arrays of equal shape (real or complex).  When b = 0 the
    result is 0 if a = 0 too and inf otherwise.  Example::

        >>> import numpy as np
        >>> relerr(np.array([1.0, 2.0 + 1e-9]), np.array([1.0, 2.0]))  # doctest: +ELLIPSIS
        4.47...e-10
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        if a.size == b.size == 1:
            a, b = a.reshape(()), b.reshape(())
        else:
            raise ValueError(f"relerr: shapes differ, a has shape {a.shape}, b has {b.shape}")
    num = float(np.linalg.norm(np.ravel(a - b)))
    den = float(np.linalg.norm(np.ravel(b)))
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return num / den


@dataclass(repr=False, eq=False)
class CheckResult:
    """Outcome of :func:`check_jvp` / :func:`check_gradient`.

    Prints as ``CheckResult(ok=True, relerr=3.2e-10, method='richardson')``, is truthy
    exactly when ``ok``, and :meth:`assert_ok` turns a failure into an AssertionError
    that shows the numbers and shapes.  ``claimed`` and ``numeric`` hold what was
    compared (stacked over the directions).  A check made of several comparisons
    (:func:`check_rule`) lists them in ``parts``, one CheckResult each, prints one line
    per part, and is ok when every part is.
    """

    ok: bool
    relerr: float
    method: str
    rtol: float = 1e-6
    atol: float = 0.0
    what: str = "derivative"
    claimed: np.ndarray = field(default=None)
    numeric: np.ndarray = field(default=None)
    x_shape: tuple = ()
    y_shape: tuple = ()
    how: str = ""
    parts: tuple = ()

    def __repr__(self):
        head = f"CheckResult(ok={self.ok}, relerr={self.relerr:.2g}, method={self.method!r})"
        if not self.parts:
            return head
        width = max(len(p.what) for p in self.parts)
        lines = [f"{head}, {self.what}:"]
        for p in self.parts:
            lines.append(f"  {p.what:<{width}}  {'ok' if p.ok else 'FAILED':<6}  "
                         f"relerr {p.relerr:.2g}")
        return "\n".join(lines)

    def __bool__(self):
        return bool(self.ok)

    def assert_ok(self):
        """Return self if the check passed, else raise AssertionError with the details."""
        if self.ok:
            return self
        if self.parts:
            failed = [p for p in self.parts if not p.ok]
            msgs = []
            for p in failed:
                try:
                    p.assert_ok()
                except AssertionError as e:
                    msgs.append(str(e))
            raise AssertionError(f"{self.what}: {len(failed)} of {len(self.parts)} "
                                 "comparisons failed\n" + "\n".join(msgs))
        lines = [
            f"{self.what} check failed: relerr = {self.relerr:.3g} > rtol = {self.rtol:g}"
            + (f" (and |error| > atol = {self.atol:g})" if self.atol else ""),
            f"  x has shape {self.x_shape}, f(x) has shape {self.y_shape}; {self.how}",
        ]
        if self.claimed is not None:
            c, n = np.asarray(self.claimed), np.asarray(self.numeric)
            if c.size <= 12:
                opts = dict(precision=10, max_line_width=200)
                lines.append(f"  claimed   {c.shape}: {np.array2string(c, **opts)}")
                lines.append(f"  numerical {n.shape}: {np.array2string(n, **opts)}")
            else:
                lines.append(
                    f"  claimed {c.shape}, ‖claimed‖ = {np.linalg.norm(c.ravel()):.10g}, "
                    f"‖numerical‖ = {np.linalg.norm(n.ravel()):.10g}"
                )
            if c.shape == n.shape and c.size:
                k = int(np.argmax(np.abs(c - n)))
                idx = np.unravel_index(k, c.shape)
                lines.append(
                    f"  largest difference at index {tuple(int(i) for i in idx)}: "
                    f"claimed {c.flat[k]:.10g}, numerical {n.flat[k]:.10g}"
                )
        raise AssertionError("\n".join(lines))


def _directions(x, seed, ndirs):
    rng = np.random.default_rng(seed)
    dirs = []
    for _ in range(ndirs):
        d = rng.standard_normal(x.shape)
        if np.iscomplexobj(x):
            d = d + 1j * rng.standard_normal(x.shape)
        dirs.append(d)
    return dirs


def _basis(x):
    """Unit directions e_k of x's shape, and i·e_k too when x is complex."""
    out = []
    for _, e in fd._basis(x):
        out.append(e)
        if np.iscomplexobj(x):
            out.append(1j * e)
    return out


def _result(what, claimed, numeric, method, rtol, atol, x, y, how):
    claimed, numeric = np.asarray(claimed), np.asarray(numeric)
    err = relerr(claimed, numeric)
    abserr = float(np.linalg.norm(np.ravel(claimed - numeric)))
    ok = bool(err <= rtol or abserr <= atol)  # False when anything is NaN
    return CheckResult(
        ok=ok, relerr=err, method=method, rtol=rtol, atol=atol, what=what,
        claimed=claimed, numeric=numeric, x_shape=x.shape, y_shape=np.shape(y), how=how,
    )


def _how(full, dx, ndirs, seed, method, x):
    if full:
        return f"full comparison over all {x.size} entries of x, method {method!r}"
    if dx is not None:
        return f"compared along the given direction dx, method {method!r}"
    return f"compared along {ndirs} random directions (seed {seed}), method {method!r}"


def _with_shape(a, shape, message):
    """``a`` with the expected shape: a single number may stand for any 1-element shape;
    otherwise a mismatch raises ValueError(message) with {got} and {want} filled in."""
    if a.shape == shape:
        return a
    if a.size == 1 and int(np.prod(shape)) == 1:
        return a.reshape(shape)
    raise ValueError(message.format(got=a.shape, want=shape))


def check_jvp(f, df, x, dx=None, *, rtol=1e-6, atol=0.0, method="richardson", h=None,
              seed=0, ndirs=2, full=False):
    """Check a claimed directional derivative ``df(x, dx) = f'(x)[dx]``.

    ``f`` maps an array (or scalar) x to an array of any shape, real or complex;
    ``df(x, dx)`` must return an array of the shape of f(x) (a Python scalar for scalar
    f).  Along ``dx`` — or ``ndirs`` random directions drawn with ``seed`` when dx is
    None, or every unit direction when ``full=True`` — the claim is compared with the
    finite-difference estimate (``method``, step ``h``; see :mod:`mcutils.fd`).
    Passes when relerr ≤ rtol (or the absolute error ≤ atol, useful where
    f'(x)[dx] ≈ 0).  Example — d(X²) = X dX + dX X, and not 2X dX::

        >>> import numpy as np, mcutils as mc
        >>> X = np.random.default_rng(3).standard_normal((4, 4))
        >>> bool(mc.check_jvp(lambda X: X @ X, lambda X, dX: X @ dX + dX @ X, X))
        True
        >>> bool(mc.check_jvp(lambda X: X @ X, lambda X, dX: 2 * X @ dX, X))
        False
    """
    fd._check_method(method)
    x = as_float_array(x)
    y = fd._evaluate(f, x, 0.0, "f(x)")
    if full:
        dirs = _basis(x)
    elif dx is not None:
        dx = as_float_array(dx, "dx")
        if dx.shape != x.shape:
            raise ValueError(f"dx must have the shape of x, expected {x.shape}, got {dx.shape}")
        dirs = [dx]
    else:
        dirs = _directions(x, seed, ndirs)
    claimed, numeric = [], []
    for d in dirs:
        c = _with_shape(np.asarray(df(x, d)), y.shape, "df(x, dx) returned shape {got}, "
                        "expected the shape of f(x), {want} (f'(x)[dx] has the shape of "
                        "the output f(x))")
        claimed.append(c)
        numeric.append(fd._directional(f, x, d, h, method))
    how = _how(full, dx, ndirs, seed, method, x)
    return _result("jvp", np.stack(claimed), np.stack(numeric), method, rtol, atol, x, y, how)


def check_gradient(f, grad, x, *, rtol=1e-6, atol=0.0, method="richardson", h=None,
                   seed=0, ndirs=2, full=False):
    """Check a claimed gradient of a real scalar-valued f at x.

    ``grad`` is the gradient array itself or a function ``grad(x)``; it must have the
    shape of x.  The gradient is defined by f'(x)[dx] = ⟨∇f, dx⟩, and that is what is
    compared: ⟨∇f, dx⟩ against the finite-difference f'(x)[dx] along ``ndirs`` random
    directions (seeded), or the whole array against :func:`mcutils.fd.gradient` with
    ``full=True``.  For complex x the convention is ∇f = ∂f/∂Re x + i ∂f/∂Im x, with
    f'(x)[dx] = Re⟨∇f, dx⟩ = Re Σ conj(∇f)·dx, and the random directions are complex.
    Example — ∇ tr(AᵀX) = A, and the check notices an error of 1e-4::

        >>> import numpy as np, mcutils as mc
        >>> A = np.random.default_rng(4).standard_normal((3, 2))
        >>> f = lambda X: np.trace(A.T @ X)
        >>> mc.check_gradient(f, A, np.ones((3, 2)))
        CheckResult(ok=True, relerr=8.9e-16, method='richardson')
        >>> bool(mc.check_gradient(f, A * (1 + 1e-4), np.ones((3, 2))))
        False
    """
    fd._check_method(method)
    x = as_float_array(x)
    y = fd._evaluate(f, x, 0.0, "f(x)")
    fd._require_scalar_output(y, "check_gradient")
    g = _with_shape(np.asarray(grad(x) if callable(grad) else grad), x.shape,
                    "the gradient has shape {got}, expected the shape of x, {want} "
                    "(∇f is defined by f'(x)[dx] = ⟨∇f, dx⟩, so it lives where x does)")
    if g.dtype.kind not in "biufc":
        raise TypeError(f"the gradient must be a numeric array, got dtype {g.dtype}")
    if not np.iscomplexobj(x) and np.iscomplexobj(g) and np.any(g.imag != 0):
        raise ValueError(
            "x is real but the claimed gradient is complex; the gradient of a real f "
            "of real x is real"
        )
    how = _how(full, None, ndirs, seed, method, x)
    if full:
        numeric = fd.gradient(f, x, h=h, method=method)
        claimed = g if np.iscomplexobj(x) else np.real(g)
        return _result("gradient", claimed, numeric, method, rtol, atol, x, y, how)
    f_scalar = fd._scalar_fn(f, y, method)[0]
    claimed, numeric = [], []
    for d in _directions(x, seed, ndirs):
        claimed.append(np.real(np.vdot(g, d)))  # vdot conjugates its first argument
        numeric.append(fd._directional(f_scalar, x, d, h, method))
    return _result("gradient", np.array(claimed), np.array(numeric), method, rtol, atol,
                   x, y, how)


def _rule_output(a, shape, message, unbroadcast=False):
    """A rule's result as an array of ``shape``.  A smaller shape that broadcasts is
    broadcast (as the forward engine does); with ``unbroadcast`` (a cotangent) a larger
    one is summed down (as the reverse engine does); anything else raises
    ValueError(message)."""
    a = np.asarray(a)
    if a.shape == shape:
        return a
    if a.size == 1 and int(np.prod(shape)) == 1:
        return a.reshape(shape)
    try:
        if np.broadcast_shapes(a.shape, shape) == shape:
            return np.broadcast_to(a, shape)
    except ValueError:
        pass
    if not unbroadcast:
        raise ValueError(message.format(got=a.shape, want=shape))
    try:
        if np.broadcast_shapes(a.shape, shape) == a.shape:
            from .reverse import unbroadcast

            return np.asarray(unbroadcast(a, shape))
    except ValueError:
        pass
    raise ValueError(message.format(got=a.shape, want=shape))


def check_rule(f, *args, argnums=None, rtol=1e-6, atol=0.0, method="richardson", h=None,
               seed=0, ndirs=2):
    """Check the rules of an :func:`mcutils.primitive` ``f`` at ``args``.

    For each argument k with a rule (or those in ``argnums``), along ``ndirs`` random
    directions drawn with ``seed``:

    * the jvp rule ``jvp(dx, y, *args)`` against the finite-difference f'(x)[dx];
    * the vjp rule ``vjp(g, y, *args)`` (random cotangent g) against finite differences of
      x ↦ ⟨g, f(x)⟩: ⟨x̄, dx⟩ must equal d⟨g, f⟩[dx];
    * if both exist, the two against each other — the dot-product test
      ⟨g, f'(x)[dx]⟩ = ⟨f'(x)ᵀ[g], dx⟩, which catches a pair of rules that disagree
      (a transposed factor, a conjugate) even where finite differences are inaccurate.

    (⟨a, b⟩ = Re Σ a·b, the package's internal pairing; for real arrays the ordinary dot
    product.)  Returns a :class:`CheckResult` with one part per comparison: truthy when
    every part passes (relerr ≤ ``rtol`` or |error| ≤ ``atol``), printed one line per
    part.  A rule wrong by a relative 1e-4 fails with the default ``rtol=1e-6``::

        >>> import numpy as np, mcutils as mc
        >>> @mc.primitive
        ... def square(x):
        ...     return x ** 2
        >>> _ = square.defjvp(lambda dx, y, x: 2 * x * dx)
        >>> _ = square.defvjp(lambda g, y, x: 2 * x * g * (1 + 1e-4))     # slightly wrong
        >>> r = mc.check_rule(square, np.array([1.0, -2.0, 0.5]))
        >>> print(r)  # doctest: +ELLIPSIS
        CheckResult(ok=False, relerr=0.0001, method='richardson'), rules of square:
          jvp of argument 0 vs finite differences    ok      relerr ...
          vjp of argument 0 vs finite differences    FAILED  relerr 0.0001
          jvp vs vjp (dot-product test), argument 0  FAILED  relerr 0.0001

    ``r.assert_ok()`` raises an AssertionError with the numbers of every failed part.
    """
    from .primitive import Primitive

    if not isinstance(f, Primitive):
        raise TypeError("mc.check_rule checks the rules of an mc.primitive (got "
                        f"{type(f).__name__}); for a derivative you computed yourself use "
                        "mc.check_jvp or mc.check_gradient")
    fd._check_method(method)
    name = f.__name__
    if argnums is None:
        argnums = sorted(set(f.jvp_rules) | set(f.vjp_rules))
        if not argnums:
            raise ValueError(f"{name} has no rules to check yet; define them with "
                             f"{name}.defjvp(lambda dx, y, *args: ...) and "
                             f"{name}.defvjp(lambda g, y, *args: ...)")
    elif isinstance(argnums, (int, np.integer)):
        argnums = [int(argnums)]
    args = list(args)
    for k in argnums:
        if not 0 <= k < len(args):
            raise ValueError(f"argnum {k} is out of range: {len(args)} argument(s) given")
        if k not in f.jvp_rules and k not in f.vjp_rules:
            raise ValueError(f"{name} has no rule for argument {k}; define one with "
                             f"{name}.defjvp(..., argnum={k}) or {name}.defvjp(..., "
                             f"argnum={k})")
        args[k] = as_float_array(args[k], f"argument {k}")
    y = fd._evaluate(lambda _: f.fun(*args), 0.0, 0.0, f"{name}(*args)")
    rng = np.random.default_rng(seed)
    parts = []
    for k in argnums:
        xk = args[k]

        def fk(z, k=k):
            a = list(args)
            a[k] = z
            return f.fun(*a)

        def with_k(z, k=k):
            a = list(args)
            a[k] = z
            return a

        label = f"argument {k}"
        jvp, vjp = f.jvp_rules.get(k), f.vjp_rules.get(k)

        def jvp_of(z, d, jvp=jvp, with_k=with_k, k=k):
            return _rule_output(jvp(d, y, *with_k(z)), y.shape,
                                f"the jvp rule of {name} (argument {k}) returned shape "
                                "{got}; f'(x)[dx] has the shape of the output, {want}")

        def vjp_of(g, vjp=vjp, k=k, xk=xk):
            return _rule_output(vjp(g, y, *args), xk.shape,
                                f"the vjp rule of {name} (argument {k}) returned shape "
                                "{got}; the cotangent of argument " + str(k) +
                                " has its shape, {want}", unbroadcast=True)

        if jvp is not None:
            r = check_jvp(fk, jvp_of, xk, rtol=rtol, atol=atol, method=method, h=h,
                          seed=seed, ndirs=ndirs)
            r.what = f"jvp of {label} vs finite differences"
            parts.append(r)
        # output cotangents from their own stream, not _directions(…, seed + k): with a seed
        # that the input directions also use, g = dx when shapes agree, and the dot-product
        # test ⟨g, J dx⟩ = ⟨Jᵀg, dx⟩ would pass for the untransposed rule (lecture 18 plants it)
        gs = []
        for _ in range(ndirs):
            g = rng.standard_normal(y.shape)
            if np.iscomplexobj(y):
                g = g + 1j * rng.standard_normal(y.shape)
            gs.append(g)
        if vjp is not None:
            claimed, numeric = [], []
            for g, d in zip(gs, _directions(xk, seed + 1, ndirs), strict=True):
                xbar = vjp_of(g)
                claimed.append(np.real(np.sum(xbar * d)))
                phi = lambda z, g=g: np.real(np.sum(g * np.asarray(fk(z))))
                numeric.append(fd._directional(phi, xk, d, h, method))
            r = _result("vjp", np.array(claimed), np.array(numeric), method, rtol, atol,
                        xk, y, f"⟨x̄, dx⟩ against finite differences of ⟨g, f(x)⟩ along "
                        f"{ndirs} random (g, dx), seed {seed}")
            r.what = f"vjp of {label} vs finite differences"
            parts.append(r)
        if jvp is not None and vjp is not None:
            lhs, rhs = [], []
            for g, d in zip(gs, _directions(xk, seed + 2, ndirs), strict=True):
                lhs.append(np.real(np.sum(vjp_of(g) * d)))
                rhs.append(np.real(np.sum(g * jvp_of(xk, d))))
            r = _result("dot-product", np.array(lhs), np.array(rhs), "dot-product", rtol,
                        atol, xk, y, "⟨f'(x)ᵀ[g], dx⟩ from the vjp against ⟨g, f'(x)[dx]⟩ "
                        f"from the jvp, {ndirs} random (g, dx)")
            r.what = f"jvp vs vjp (dot-product test), {label}"
            parts.append(r)
    errs = [p.relerr for p in parts]
    worst = float("nan") if any(np.isnan(errs)) else max(errs)
    return CheckResult(ok=all(p.ok for p in parts), relerr=worst, method=method, rtol=rtol,
                       atol=atol, what=f"rules of {name}", x_shape=args[argnums[0]].shape,
                       y_shape=y.shape, how="", parts=tuple(parts))
