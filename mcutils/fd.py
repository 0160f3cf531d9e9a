"""Finite differences: a check, not a method (lecture 3).

Every derivative in this module comes from evaluating ``f`` at a few nearby points
and combining the values.  Along a direction ``dx`` put ``g(t) = f(x + t·dx)``; then
``f'(x)[dx] = g'(0)`` and all the formulas are one-dimensional:

=============  ==========================================  ===========  ============
method         estimate of g'(0)                           error        default step
=============  ==========================================  ===========  ============
"forward"      (g(h) − g(0)) / h                           O(h)         √ε ≈ 1.5e-8
"backward"     (g(0) − g(−h)) / h                          O(h)         √ε
"central"      (g(h) − g(−h)) / (2h)                       O(h²)        ε^(1/3) ≈ 6e-6
"richardson"   central differences at h, h/2, h/4, …       O(h^2k)      h = 0.1,
               combined to cancel h², h⁴, … terms                       absolute
"complex"      Im g(ih) / h       (complex step)           O(h²), no    1e-20
                                                           cancellation
=============  ==========================================  ===========  ============

(ε = 2.2e-16 is the machine epsilon.)  Each step trades *truncation* error (the
Taylor terms the formula ignores, shrinking with h) against *roundoff* error (ε·|f|
divided by h, growing as h shrinks); the defaults sit near the optimum for a
function whose value and derivatives are of order one.  Steps are relative: the
default moves no entry ``x_k`` by more than ``step·max(1, |x_k|)`` (Richardson's
first step excepted: whether 0.1 is "small" depends on f, not on |x|; its table
estimates its own error and starts closer when the estimate is poor).  Passing ``h``
sets the t in ``x + t·dx`` directly.

The complex step needs ``f`` to be real-analytic (built from +, −, ×, /, exp, sin, …
but not ``abs``, ``conj``, ``real`` or comparisons); it has no subtraction, hence no
cancellation, and is accurate to machine precision with a tiny step.

Any other formula comes from :func:`stencil`: the weights of the m-th derivative on
any set of points solve a small Vandermonde system (exactly, in fractions, for
integer offsets), and :func:`stencil_derivative` applies them.

An n-entry gradient costs 2n evaluations with central differences — this is why
finite differences *check* derivatives (along a few random directions, see
:func:`mcutils.check_jvp`) rather than compute them.

Complex inputs: :func:`gradient` of a real-valued ``f`` of complex ``x`` returns
``∂f/∂Re x + i ∂f/∂Im x``, the steepest-ascent direction, so that
``f'(x)[dx] = Re⟨g, dx⟩ = Re Σ conj(g)·dx`` as in the course.
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral

import numpy as np

from ._core import as_float_array

__all__ = [
    "METHODS", "default_step", "derivative", "gradient", "hessian", "jacobian", "jvp",
    "stencil", "stencil_derivative",
]

EPS = float(np.finfo(np.float64).eps)

#: The available methods and their default (relative) steps.
METHODS = {
    "forward": math.sqrt(EPS),
    "backward": math.sqrt(EPS),
    "central": EPS ** (1 / 3),
    "richardson": 0.1,
    "complex": 1e-20,
}
# Second derivatives (fd.hessian): roundoff grows like ε/h², so steps are larger.
_HESSIAN_STEPS = {
    "forward": EPS ** (1 / 3),
    "backward": EPS ** (1 / 3),
    "central": EPS ** (1 / 4),
    "richardson": 0.1,
    "complex": EPS ** (1 / 3),
}


# --------------------------------------------------------------------------- helpers
def _check_method(method):
    if method not in METHODS:
        valid = ", ".join(repr(m) for m in METHODS)
        raise ValueError(f"unknown finite-difference method {method!r}; valid methods: {valid}")


def default_step(method, x, dx=None):
    """The step t used in ``x + t·dx`` when ``h`` is not given.

    It is the method's base step (see :data:`METHODS`) scaled so that no entry moves
    by more than ``base·max(1, |x_k|)``::

        >>> default_step("central", 1.0)           # ε^(1/3)
        6.055454452393343e-06
        >>> round(default_step("central", 1000.0), 12)   # relative to |x| for large x
        0.006055454452
    """
    _check_method(method)
    return _scaled_step(
        METHODS[method], np.asarray(x), None if dx is None else np.asarray(dx), method
    )


def _scaled_step(base, x, dx=None, method=None):
    if method == "richardson":
        # Richardson starts with large steps, where "large" should mean relative to the
        # scale on which f varies, which |x| does not tell (sin(1000 + t) aliases at
        # t = 100): start from an absolute step and let the error estimate judge.
        x = np.zeros(np.shape(x))
    ax = np.abs(x)
    if dx is None:
        return float(base * max(1.0, float(ax.max(initial=0.0))))
    adx = np.abs(dx)
    mask = adx > 0
    if not mask.any():
        return float(base)
    return float(base * np.min(np.maximum(1.0, ax[mask]) / adx[mask]))


def _evaluate(f, z, t, what="f(x + t·dx)"):
    """f(z) as an array, refusing NaN/inf so they are never passed off as derivatives."""
    with np.errstate(all="ignore"):  # a NaN/inf result is reported below, with context
        y = np.asarray(f(z))
    if y.dtype.kind in "biu":
        y = y.astype(np.float64)
    elif y.dtype.kind not in "fc":
        raise TypeError(f"f must return numbers or numeric arrays, got dtype {y.dtype}")
    if not np.all(np.isfinite(y)):
        bad = "nan" if np.isnan(y).any() else "inf"
        raise FloatingPointError(
            f"{what} returned {bad} (t = {t:.3g}); f may be undefined or overflow near x. "
            f"Try a smaller step h or another point x."
        )
    return y


def _same_shape(y, y0, t):
    if y.shape != y0.shape:
        raise ValueError(
            f"f returned shape {y.shape} at x + t·dx (t = {t:.3g}) but shape {y0.shape} "
            f"elsewhere; f must return arrays of one shape"
        )
    return y


def _richardson(estimate, t0, levels=6, ratio=2.0):
    """Extrapolate an estimate E(t) = D + c₁t² + c₂t⁴ + … to t → 0.

    ``E(t), E(t/2), E(t/4), …`` fill the first column of a table; each next column
    cancels one more power of t²:  T[k][j] = T[k][j−1] + (T[k][j−1] − T[k−1][j−1])/(4^j − 1).
    The entry whose difference to its neighbours is smallest is returned (its
    difference is an error estimate); the table stops growing once roundoff makes the
    newest entries worse than the best one.  Returns (value, error estimate).
    """
    prev = [estimate(t0)]
    best, best_err = prev[0], np.inf
    for k in range(1, levels):
        t = t0 / ratio**k
        row = [estimate(t)]
        for j in range(1, k + 1):
            fac = ratio ** (2 * j)
            row.append(row[j - 1] + (row[j - 1] - prev[j - 1]) / (fac - 1))
            err = max(np.linalg.norm(row[j] - row[j - 1]), np.linalg.norm(row[j] - prev[j - 1]))
            if err <= best_err:
                best, best_err = row[j], err
        if np.linalg.norm(row[k] - prev[k - 1]) > 2 * best_err:
            break  # roundoff has taken over: finer steps only add noise
        prev = row
    return best, float(best_err)


def _directional(f, x, dx, h, method, f0=None):
    """Estimate f'(x)[dx] = g'(0) for g(t) = f(x + t·dx); x, dx arrays of equal shape."""
    _check_method(method)
    t = _scaled_step(METHODS[method], x, dx, method) if h is None else float(h)
    if not t > 0:
        raise ValueError(f"the step h must be positive, got {h!r}")
    g = lambda s: _evaluate(f, x + s * dx, s)

    if method == "complex":
        if np.iscomplexobj(x) or np.iscomplexobj(dx):
            raise ValueError(
                "the complex step needs real x and real dx (it perturbs x by i·h·dx); "
                "use method='central' or 'richardson' for complex inputs"
            )
        y0 = _evaluate(f, x, 0.0, "f(x)") if f0 is None else f0
        if np.iscomplexobj(y0) and np.any(y0.imag != 0):
            raise ValueError(
                "the complex step needs f to be real at real x, but f(x) is complex; "
                "use method='central' or 'richardson'"
            )
        yi = _evaluate(f, x + 1j * t * dx, t, "f(x + i·t·dx)")
        if not np.iscomplexobj(yi):
            raise ValueError(
                "complex step: f(x + i·h·dx) returned a real array, so f is not analytic "
                "at x (it probably uses abs, real, conj, a comparison or a float() cast); "
                "expected a complex result. Use method='central' or 'richardson'."
            )
        _same_shape(yi, np.asarray(y0), t)
        return yi.imag / t

    if method == "forward":
        y0 = g(0.0) if f0 is None else f0
        return (_same_shape(g(t), y0, t) - y0) / t
    if method == "backward":
        y0 = g(0.0) if f0 is None else f0
        return (y0 - _same_shape(g(-t), y0, t)) / t

    def central(s):
        yp, ym = g(s), g(-s)
        if f0 is not None:
            _same_shape(yp, f0, s)
        return (_same_shape(yp, ym, s) - ym) / (2 * s)

    if method == "central":
        return central(t)
    return _richardson_retry(central, t, h is None)


def _richardson_retry(estimate, t, may_shrink):
    """Richardson from step t; when the table's error estimate stays poor (the first
    steps were too large for f to look like its Taylor polynomial) or f is undefined
    that far from x (NaN/inf), start again 10× closer and keep the best estimate."""
    best, best_err = None, np.inf
    for attempt in range(4 if may_shrink else 1):
        try:
            val, err = _richardson(estimate, t / 10**attempt)
        except FloatingPointError:
            if not may_shrink or (attempt == 3 and best is None):
                raise
            continue
        if err < best_err or best is None:
            best, best_err = val, err
        if err <= 1e-10 * np.linalg.norm(val):
            break
    return best


def _finish(d):
    """0-d arrays become NumPy scalars, so scalar derivatives print as numbers."""
    d = np.asarray(d)
    return d[()] if d.ndim == 0 else d


def _require_scalar_output(y, name):
    if y.size != 1:
        raise ValueError(
            f"{name} needs a scalar-valued f, but f(x) has shape {y.shape}; "
            f"use fd.jacobian for vector- or matrix-valued f"
        )
    if np.iscomplexobj(y) and y.imag.item() != 0:
        raise ValueError(
            f"{name} needs a real-valued f (the gradient of a complex-valued f is not "
            f"defined), but f(x) = {y.item()!r}; use fd.jacobian"
        )


def _scalar_fn(f, y0, method):
    """f as a function returning 0-d arrays (real ones, unless the complex step needs
    the imaginary part), and f(x) likewise; y0 = f(x) is known to be a real scalar."""
    if np.iscomplexobj(y0) and method != "complex":  # complex dtype, zero imaginary part
        return (lambda z: np.asarray(f(z)).real.reshape(())), y0.real.reshape(())
    return (lambda z: np.asarray(f(z)).reshape(())), y0.reshape(())


def _basis(x):
    """The unit directions e_k, k = 0, …, x.size − 1, each shaped like x."""
    for k in range(x.size):
        e = np.zeros(x.size, dtype=x.dtype)
        e[k] = 1
        yield k, e.reshape(x.shape)


# --------------------------------------------------------------------------- public API
def derivative(f, x, h=None, method="central"):
    """Derivative f'(x) of a function of one (real or complex) scalar x.

    ``f`` may return anything array-like; the result has the shape of ``f(x)``.
    For complex ``x`` the step is taken along the real axis, which gives f'(x) when
    f is holomorphic.  Example — the derivative of exp(sin x) at 1 is cos(1)·e^{sin 1}::

        >>> import numpy as np
        >>> from mcutils import fd
        >>> exact = np.cos(1) * np.exp(np.sin(1))
        >>> bool(abs(fd.derivative(lambda x: np.exp(np.sin(x)), 1.0) - exact) / exact < 1e-9)
        True
        >>> float(fd.derivative(lambda x: x**3, 2.0, method="complex"))
        12.0
    """
    x = as_float_array(x)
    if x.ndim != 0:
        raise ValueError(
            f"fd.derivative needs a scalar x, got shape {x.shape}; "
            f"use fd.jvp (one direction) or fd.jacobian (all directions)"
        )
    return _finish(_directional(f, x, np.ones((), dtype=x.dtype), h, method))


def jvp(f, x, dx, h=None, method="central"):
    """Directional derivative f'(x)[dx], for x (and dx) of any shape.

    Computed as g'(0) for g(t) = f(x + t·dx), so it costs two evaluations of f with
    central differences, whatever the size of x.  ``h`` is the t used (by default a
    step scaled to x and dx).  Example — for f(X) = X², f'(X)[dX] = X dX + dX X::

        >>> import numpy as np
        >>> from mcutils import fd
        >>> rng = np.random.default_rng(3)
        >>> X, dX = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
        >>> bool(np.allclose(fd.jvp(lambda X: X @ X, X, dX), X @ dX + dX @ X))
        True
    """
    x = as_float_array(x)
    dx = as_float_array(dx, "dx")
    if dx.shape != x.shape:
        raise ValueError(f"dx must have the shape of x, expected {x.shape}, got {dx.shape}")
    return _finish(_directional(f, x, dx, h, method))


def gradient(f, x, h=None, method="central"):
    """Gradient ∇f(x) of a real scalar-valued f, an array of the shape of x.

    One directional derivative per entry of x (two per entry when x is complex),
    so use it on small problems.  For complex x the result is
    ``∂f/∂Re x + i ∂f/∂Im x`` (the steepest-ascent direction; then
    f'(x)[dx] = Re Σ conj(∇f)·dx).  Example — ∇(xᵀx) = 2x, and ∇|z|² = 2z::

        >>> import numpy as np
        >>> from mcutils import fd
        >>> np.round(fd.gradient(lambda x: x @ x, np.array([1.0, -2.0, 3.0])), 8)
        array([ 2., -4.,  6.])
        >>> np.round(fd.gradient(lambda z: abs(z) ** 2, np.array([1 + 2j])), 8)
        array([2.+4.j])
    """
    x = as_float_array(x)
    y0 = _evaluate(f, x, 0.0, "f(x)")
    _require_scalar_output(y0, "fd.gradient")
    f_real, y0 = _scalar_fn(f, y0, method)
    f0 = y0 if method in ("forward", "backward") else None
    out = np.zeros(x.shape, dtype=x.dtype)
    flat = out.reshape(-1)
    for k, e in _basis(x):
        flat[k] = _directional(f_real, x, e, h, method, f0)
        if np.iscomplexobj(x):
            flat[k] += 1j * _directional(f_real, x, 1j * e, h, method, f0)
    return out


def jacobian(f, x, h=None, method="central"):
    """Jacobian of f at x, of shape ``f(x).shape + x.shape``: J[i…, k…] = ∂f_i…/∂x_k….

    Column k (in the trailing x-shaped index) is the directional derivative along the
    k-th unit vector, so this costs one jvp per entry of x.  For complex x the
    directions are real unit vectors, which gives the complex Jacobian of a
    holomorphic f.  Example::

        >>> import numpy as np
        >>> from mcutils import fd
        >>> np.round(fd.jacobian(lambda x: np.array([x[0] * x[1], x[1] ** 2]),
        ...                      np.array([2.0, 3.0])), 8)
        array([[3., 2.],
               [0., 6.]])
    """
    x = as_float_array(x)
    y0 = _evaluate(f, x, 0.0, "f(x)")
    f0 = y0 if method in ("forward", "backward", "complex") else None
    cols = [_directional(f, x, e, h, method, f0) for _, e in _basis(x)]
    if not cols:
        return np.zeros(y0.shape + x.shape, dtype=np.result_type(y0, x))
    J = np.stack([np.asarray(c) for c in cols], axis=-1)
    return J.reshape(y0.shape + x.shape)


def hessian(f, x, h=None, method="central"):
    """Hessian of a real scalar-valued f at real x, shape ``x.shape + x.shape``.

    With ``method="central"`` (default) each entry is the symmetric second difference

        H_ij ≈ [f(x+hε_i+hε_j) − f(x+hε_i−hε_j) − f(x−hε_i+hε_j) + f(x−hε_i−hε_j)] / 4h²

    (error O(h²), step ε^(1/4) since roundoff grows like ε/h²); "richardson"
    extrapolates Richardson gradients (about 10 digits, n² times more evaluations);
    "forward"/"backward" use the one-sided
    [f(x+hε_i+hε_j) − f(x+hε_i) − f(x+hε_j) + f(x)]/h² (error O(h)); "complex" takes
    central differences of a complex-step gradient.  The result is symmetric.
    Example — the Hessian of xᵀAx is A + Aᵀ::

        >>> import numpy as np
        >>> from mcutils import fd
        >>> A = np.array([[1.0, 2.0], [0.0, 3.0]])
        >>> np.round(fd.hessian(lambda x: x @ A @ x, np.array([0.5, -1.0])), 6)
        array([[2., 2.],
               [2., 6.]])
    """
    _check_method(method)
    x = as_float_array(x)
    if np.iscomplexobj(x):
        raise TypeError(
            "fd.hessian needs a real x; for complex x, differentiate with respect to "
            "the real and imaginary parts (e.g. x = u + 1j*v) separately"
        )
    y0 = _evaluate(f, x, 0.0, "f(x)")
    _require_scalar_output(y0, "fd.hessian")
    n = x.size
    if method in ("complex", "richardson"):
        # differences of an accurate gradient: complex steps inside, central outside; or
        # Richardson on both levels (n² more evaluations than the mixed second difference,
        # but each entry keeps ~10 digits even where it is small next to the others)
        inner, outer = ("complex", "central") if method == "complex" else (method, method)
        H = jacobian(lambda z: gradient(f, z, method=inner), x, h=h, method=outer)
        H = H.reshape(n, n)
        return ((H + H.T) / 2).reshape(x.shape + x.shape)

    fs = lambda z, s: _evaluate(f, z, s).real.reshape(())
    xf = x.reshape(-1)
    f0 = y0.real.reshape(())
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            e = np.zeros(n)
            e[i] += 1
            e[j] += 1  # e = ε_i + ε_j, 2ε_i on the diagonal
            base = _HESSIAN_STEPS[method]
            t = _scaled_step(base, xf, e, method) if h is None else float(h)
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = 1.0, 1.0
            F = lambda a, b, s: fs((xf + s * (a * ei + b * ej)).reshape(x.shape), s)
            if method == "forward":
                H[i, j] = (F(1, 1, t) - F(1, 0, t) - F(0, 1, t) + f0) / t**2
            elif method == "backward":
                H[i, j] = (F(-1, -1, t) - F(-1, 0, t) - F(0, -1, t) + f0) / t**2
            else:
                mixed = lambda s: (F(1, 1, s) - F(1, -1, s) - F(-1, 1, s) + F(-1, -1, s)) / (
                    4 * s**2
                )
                H[i, j] = mixed(t)
            H[j, i] = H[i, j]
    return H.reshape(x.shape + x.shape)


# --------------------------------------------------------------------------- stencils
def _is_exact(p):
    return isinstance(p, (Integral, Fraction)) and not isinstance(p, bool)


def stencil(points, m=1):
    """Weights w with f⁽ᵐ⁾(x) ≈ Σ_k w_k f(x + p_k h) / hᵐ on the offsets p_k = ``points``.

    Taylor-expanding f(x + p h) = Σ_j f⁽ʲ⁾(x) (p h)ʲ / j! shows the weights must satisfy
    Σ_k w_k p_kʲ = m!·[j = m] for j = 0, …, n−1: a small Vandermonde system.  With n
    points the error is (at least) O(h^(n−m)).  When every point is an integer or a
    :class:`~fractions.Fraction` the system is solved exactly and a list of Fractions is
    returned; otherwise a float array.  Example::

        >>> from mcutils import fd
        >>> [str(w) for w in fd.stencil([0, 1, 2, 3], 1)]      # one-sided, O(h³)
        ['-11/6', '3', '-3/2', '1/3']
        >>> [str(w) for w in fd.stencil([-1, 0, 1], 2)]        # f'' ≈ (f₋ − 2f₀ + f₊)/h²
        ['1', '-2', '1']
    """
    pts = list(points)
    n = len(pts)
    if not isinstance(m, Integral) or m < 0:
        raise ValueError(f"the derivative order m must be a non-negative integer, got {m!r}")
    if n <= m:
        raise ValueError(
            f"the {m}-th derivative needs at least {m + 1} points, got {n}: {pts}"
        )
    if len(set(pts)) != n:
        raise ValueError(f"stencil points must be distinct, got {pts}")
    rhs_m = math.factorial(m)
    if all(_is_exact(p) for p in pts):
        # Gauss–Jordan elimination in exact rational arithmetic
        P = [Fraction(p) for p in pts]
        A = [[P[k] ** j for k in range(n)] + [Fraction(rhs_m if j == m else 0)] for j in range(n)]
        for c in range(n):
            piv = next(r for r in range(c, n) if A[r][c] != 0)
            A[c], A[piv] = A[piv], A[c]
            A[c] = [a / A[c][c] for a in A[c]]
            for r in range(n):
                if r != c and A[r][c] != 0:
                    A[r] = [a - A[r][c] * b for a, b in zip(A[r], A[c], strict=True)]
        return [row[-1] for row in A]
    P = np.asarray(pts, dtype=float)
    V = P[None, :] ** np.arange(n)[:, None]
    rhs = np.zeros(n)
    rhs[m] = rhs_m
    return np.linalg.solve(V, rhs)


def stencil_derivative(f, x, points, m=1, h=None):
    """Apply :func:`stencil` weights: f⁽ᵐ⁾(x) ≈ Σ_k w_k f(x + p_k h) / hᵐ for scalar x.

    The default step ε^(1/n)·max(1, |x|) (n = number of points) balances the O(h^(n−m))
    truncation error against roundoff ε/hᵐ.  Example — second derivative of sin at 1::

        >>> import numpy as np
        >>> from mcutils import fd
        >>> d2 = fd.stencil_derivative(np.sin, 1.0, [-2, -1, 0, 1, 2], m=2)
        >>> bool(abs(d2 + np.sin(1.0)) < 1e-7)
        True
    """
    x = as_float_array(x)
    if x.ndim != 0:
        raise ValueError(f"stencil_derivative needs a scalar x, got shape {x.shape}")
    w = stencil(points, m)
    n = len(w)
    h = EPS ** (1 / n) * max(1.0, float(abs(x))) if h is None else float(h)
    total = 0
    for wk, p in zip(w, points, strict=True):
        if wk != 0:
            total = total + float(wk) * _evaluate(f, x + float(p) * h, float(p) * h, "f(x + p·h)")
    return _finish(np.asarray(total) / h**m)
