"""The rule table of forward mode: one jvp per NumPy operation.

A jvp rule answers one question: if the input moves by ``dx``, how does the output move?
For f(x + ε dx) = f(x) + ε f'(x)[dx] we need ``f'(x)[dx]`` — the linear operator f'(x)
applied to ``dx``.  Nothing here knows about dual numbers: every rule takes plain
*values* and *tangents* and returns tangents, so the rules read like the course's
formulas (d(A⁻¹) = −A⁻¹ dA A⁻¹, …).  :mod:`mcutils.forward` does the bookkeeping.

Rules are written with NumPy functions and operators only (``np.cos(x)``, ``A @ dA``,
``np.linalg.solve``), never ``float()`` or in-place writes, because the values and
tangents may themselves be traced (a ``Dual`` inside a ``Dual`` for second derivatives,
or a reverse-mode ``Box`` for Hessian–vector products).

Kinds of entries
----------------
``UFUNC_RULES[ufunc]``
    unary: ``lambda y, x, dx: …`` (y is the answer f(x));
    binary: a pair of partial jvps ``(lambda y, a, b, da: …, lambda y, a, b, db: …)``,
    added up for whichever arguments carry a tangent; ``NONDIFF``: the output is
    piecewise constant or boolean (comparisons, floor, sign) and is returned plain.
``FUNCTION_RULES[func]`` (functions dispatched through ``__array_function__``)
    ``linear(...)``: f is linear in its data arguments, so f'(x)[dx] = f(dx)
    (reshape, sum, transpose, indexing, concatenate: "a linear map is its own derivative");
    ``multilinear``: product rule over every traced argument (dot, einsum, kron, …);
    ``unary(jvp)``: one differentiable argument, ``jvp(y, x, dx, *params, **kw)``;
    ``frule(fn)``: ``fn(vals, tans, kw) -> (y, dy)``, value and tangent together (used
    where the forward pass's factorization can be reused for the tangent);
    ``compose(impl)``: the function re-implemented with differentiable pieces;
    ``NONDIFF``: the result does not depend differentiably on the input (argmax, shape).

Arguments arrive in one canonical form however the caller spelled them: the engine puts
every call through :func:`mcutils._core.normalize_call` first (keywords of
positional-or-keyword parameters become positional, in NumPy's order; ``out=`` raises), so
a rule lists NumPy's parameters in NumPy's order with NumPy's defaults and is right for
``np.f(x, axis=1)`` and ``np.f(x, 1)`` alike (``tests/test_keywords.py`` checks each rule
both ways; ``tests/test_rule_parity.py`` needs a sample input for each new entry).

To add a rule, add one line to the right table, e.g.
``np.sinc: lambda y, x, dx: dx * (np.cos(np.pi * x) - y) / x,`` — and a test against
finite differences in ``tests/test_forward.py``.

Conventions at non-differentiable points: |x|' at 0 is 0 (a subgradient), likewise
‖x‖ at x = 0; np.max/np.min share the derivative equally among tied extremal entries
(as reverse mode does); sort keeps tied entries in order (a stable sort);
sqrt'(0) = ∞ with NumPy's RuntimeWarning (never a silent NaN).  Eigen- and singular
*vectors* are differentiated only where the eigen/singular values are distinct.
"""

from __future__ import annotations

import warnings

import numpy as np

from .linalg import adjugate

NONDIFF = "nondiff"


# ───────────────────────── small helpers (NumPy only) ─────────────────────────

def _shape(x):
    return x.shape if hasattr(x, "shape") else np.shape(x)


def _dtype(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def _zeros(v):
    """A plain zero tangent for a constant argument ``v``."""
    return np.zeros(_shape(v), dtype=_dtype(v))


def _is_complex(x):
    return np.dtype(_dtype(x)).kind == "c"


def _plain(*xs):
    """True when every argument is a plain ndarray (the fast, SciPy-backed paths)."""
    return all(type(x) is np.ndarray for x in xs)


def _T(A):
    return np.swapaxes(A, -1, -2)


def _H(A):
    return np.swapaxes(np.conj(A), -1, -2) if _is_complex(A) else np.swapaxes(A, -1, -2)


def _tr(A):
    return np.trace(A, axis1=-2, axis2=-1)


def _diag(A):
    return np.diagonal(A, axis1=-2, axis2=-1)


def _real_if(x, like):
    """Re(x) when ``like`` is real (the derivative of a real function is real)."""
    return x if _is_complex(like) else np.real(x)


def _params(args, kw, *spec):
    """Positional-or-keyword parameters after the data argument, with defaults."""
    out = []
    for i, (name, default) in enumerate(spec):
        out.append(args[i] if i < len(args) else kw.get(name, default))
    return out


def _dabs(x, dx):
    """d|x|: sign(x) dx for real x, Re(x̄ dx)/|x| for complex x; 0 at x = 0 (subgradient)."""
    if not _is_complex(x) and not _is_complex(dx):
        return np.sign(x) * dx
    if not _is_complex(x):
        return np.sign(x) * np.real(dx)
    a = np.abs(x)
    zero = a == 0
    return np.where(zero, 0.0, np.real(np.conj(x) * dx) / np.where(zero, 1.0, a))


def _safe_div(num, den):
    """num/den with 0 where den == 0 (the subgradient convention of norms at 0)."""
    zero = den == 0
    return np.where(zero, 0.0, num / np.where(zero, 1.0, den))


def _scipy_linalg():
    import scipy.linalg

    return scipy.linalg


def _lu(A):
    """LU factors of a plain square matrix; raise like NumPy when A is exactly singular."""
    sl = _scipy_linalg()
    with warnings.catch_warnings():  # singular A: NumPy's error below, not SciPy's warning
        warnings.simplefilter("ignore", sl.LinAlgWarning)
        lu, piv = sl.lu_factor(A, check_finite=False)
    if not np.all(np.diagonal(lu)):
        raise np.linalg.LinAlgError("Singular matrix")
    return lu, piv


def _trisolve(L, B, lower):
    """L⁻¹ B for triangular L (SciPy for plain 2-D arrays, np.linalg.solve otherwise)."""
    if _plain(L, B) and L.ndim == 2:
        return _scipy_linalg().solve_triangular(L, B, lower=lower, check_finite=False)
    return np.linalg.solve(L, B)


def _gap_inverse(w):
    """F[k, i] = 1/(w_i − w_k) off the diagonal, 0 on it (eigen/singular-vector rules)."""
    E = w[..., None, :] - w[..., :, None]
    n = _shape(w)[-1]
    eye = np.eye(n, dtype=bool)
    return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, E))


def _sym(A):
    """(A + Aᴴ)/2: the symmetric (Hermitian) part of A.

    Convention shared by both modes: eigh, eigvalsh and cholesky are functions of
    symmetric (Hermitian) matrices, so mcutils applies them to (A + Aᴴ)/2, as JAX does.
    For a symmetric A this changes nothing (bit for bit); for a direction dA it means
    d eigh(A)[dA] = d eigh(A)[(dA + dAᴴ)/2], and the reverse-mode gradient is symmetric, so
    ``mc.jvp`` and ``mc.grad`` agree for every dA.  (NumPy itself reads one triangle only;
    finite differences of ``np.linalg.eigh`` along a non-symmetric dA therefore differ from
    mcutils by design — compare with A ↦ eigh((A + Aᴴ)/2).)
    """
    return (A + _H(A)) / 2


# ───────────────────────── element-wise (ufunc) rules ─────────────────────────

def _dpow_base(y, a, b, da):
    # d(aᵇ) = b aᵇ⁻¹ da   (b = 0: the constant 1, derivative 0 even at a = 0)
    if np.ndim(b) == 0 and not hasattr(b, "_level"):
        if b == 0:
            return da * 0
        if b == 0.5:
            return da / (2 * y)
        return da * b * a ** (b - 1)
    return da * b * a ** np.where(b == 0, b, b - 1)   # b = 0 entries: 0 · a⁰ = 0


def _dpow_exponent(y, a, b, db):
    # ∂(aᵇ)/∂b = aᵇ log a;  at a = 0 the function 0ᵇ is constant (0) for b > 0: derivative 0
    if np.ndim(a) == 0 and not hasattr(a, "_level") and a != 0:
        return db * np.log(a) * y
    return db * np.log(np.where(a == 0, 1.0, a)) * y


_LN2, _LN10 = np.log(2.0), np.log(10.0)

UFUNC_RULES = {
    # arithmetic
    np.negative:    lambda y, x, dx: -dx,
    np.positive:    lambda y, x, dx: dx,
    np.add:         (lambda y, a, b, da: da,           lambda y, a, b, db: db),
    np.subtract:    (lambda y, a, b, da: da,           lambda y, a, b, db: -db),
    np.multiply:    (lambda y, a, b, da: da * b,       lambda y, a, b, db: a * db),
    # d(a/b) = da/b − (a/b) db/b
    np.divide:      (lambda y, a, b, da: da / b,       lambda y, a, b, db: -db * y / b),
    # d(aᵇ) = b aᵇ⁻¹ da + aᵇ log(a) db
    np.power:       (_dpow_base,                       _dpow_exponent),
    np.float_power: (_dpow_base,                       _dpow_exponent),
    np.square:      lambda y, x, dx: 2 * x * dx,
    np.reciprocal:  lambda y, x, dx: -dx * y * y,
    np.matmul:      (lambda y, a, b, da: da @ b,       lambda y, a, b, db: a @ db),
    np.vecdot:      (lambda y, a, b, da: np.vecdot(da, b), lambda y, a, b, db: np.vecdot(a, db)),
    # x mod y = x − y⌊x/y⌋
    np.remainder:   (lambda y, a, b, da: da,
                     lambda y, a, b, db: -db * np.floor_divide(a, b)),
    np.fmod:        (lambda y, a, b, da: da,           lambda y, a, b, db: -db * np.trunc(a / b)),
    # exponentials and logarithms
    np.exp:         lambda y, x, dx: dx * y,
    np.exp2:        lambda y, x, dx: dx * y * _LN2,
    np.expm1:       lambda y, x, dx: dx * (y + 1),
    np.log:         lambda y, x, dx: dx / x,
    np.log2:        lambda y, x, dx: dx / (x * _LN2),
    np.log10:       lambda y, x, dx: dx / (x * _LN10),
    np.log1p:       lambda y, x, dx: dx / (1 + x),
    # d log(eᵃ + eᵇ) = (eᵃ da + eᵇ db)/(eᵃ + eᵇ)
    np.logaddexp:   (lambda y, a, b, da: da * np.exp(a - y),
                     lambda y, a, b, db: db * np.exp(b - y)),
    np.logaddexp2:  (lambda y, a, b, da: da * np.exp2(a - y),
                     lambda y, a, b, db: db * np.exp2(b - y)),
    # roots: d√x = dx/(2√x) (∞ at 0, with NumPy's divide-by-zero warning)
    np.sqrt:        lambda y, x, dx: dx / (2 * y),
    np.cbrt:        lambda y, x, dx: dx / (3 * y * y),
    # trigonometric
    np.sin:         lambda y, x, dx: dx * np.cos(x),
    np.cos:         lambda y, x, dx: -dx * np.sin(x),
    np.tan:         lambda y, x, dx: dx * (1 + y * y),
    np.arcsin:      lambda y, x, dx: dx / np.sqrt(1 - x * x),
    np.arccos:      lambda y, x, dx: -dx / np.sqrt(1 - x * x),
    np.arctan:      lambda y, x, dx: dx / (1 + x * x),
    # d atan2(a, b) = (b da − a db)/(a² + b²)
    np.arctan2:     (lambda y, a, b, da: da * b / (a * a + b * b),
                     lambda y, a, b, db: -db * a / (a * a + b * b)),
    np.hypot:       (lambda y, a, b, da: da * a / y,   lambda y, a, b, db: db * b / y),
    np.deg2rad:     lambda y, x, dx: np.deg2rad(dx),
    np.rad2deg:     lambda y, x, dx: np.rad2deg(dx),
    # hyperbolic
    np.sinh:        lambda y, x, dx: dx * np.cosh(x),
    np.cosh:        lambda y, x, dx: dx * np.sinh(x),
    np.tanh:        lambda y, x, dx: dx * (1 - y * y),
    np.arcsinh:     lambda y, x, dx: dx / np.sqrt(x * x + 1),
    np.arccosh:     lambda y, x, dx: dx / np.sqrt(x * x - 1),
    np.arctanh:     lambda y, x, dx: dx / (1 - x * x),
    # |x|, complex parts: d|x| = sign(x) dx (0 at 0), d conj(x) = conj(dx)
    np.absolute:    lambda y, x, dx: _dabs(x, dx),
    np.conjugate:   lambda y, x, dx: np.conj(dx),
    # max/min: the tangent of the larger argument (ties: the first one)
    np.maximum:     (lambda y, a, b, da: np.where(a >= b, da, 0 * da),
                     lambda y, a, b, db: np.where(a >= b, 0 * db, db)),
    np.minimum:     (lambda y, a, b, da: np.where(a <= b, da, 0 * da),
                     lambda y, a, b, db: np.where(a <= b, 0 * db, db)),
    np.fmax:        (lambda y, a, b, da: np.where(a >= b, da, 0 * da),
                     lambda y, a, b, db: np.where(a >= b, 0 * db, db)),
    np.fmin:        (lambda y, a, b, da: np.where(a <= b, da, 0 * da),
                     lambda y, a, b, db: np.where(a <= b, 0 * db, db)),
}
if hasattr(np, "matvec"):  # NumPy ≥ 2.2
    UFUNC_RULES[np.matvec] = (lambda y, a, b, da: np.matvec(da, b),
                              lambda y, a, b, db: np.matvec(a, db))
    UFUNC_RULES[np.vecmat] = (lambda y, a, b, da: np.vecmat(da, b),
                              lambda y, a, b, db: np.vecmat(a, db))

# Piecewise-constant or boolean outputs: computed on the values, returned untraced.
for _u in (np.sign, np.floor, np.ceil, np.trunc, np.rint, np.floor_divide, np.heaviside,
           np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
           np.isnan, np.isinf, np.isfinite, np.signbit, np.logical_and, np.logical_or,
           np.logical_not, np.logical_xor):
    UFUNC_RULES[_u] = NONDIFF


def register_scipy_special():
    """jvps of scipy.special's ufuncs, registered on first use (the engine calls this when
    a rule is missing and the user has imported ``scipy.special``), so that
    ``import mcutils`` does not import SciPy.  The same functions as reverse mode's."""
    import sys

    sp = sys.modules.get("scipy.special")
    if sp is None or sp.expit in UFUNC_RULES:
        return False
    UFUNC_RULES[sp.expit] = lambda y, x, dx: dx * y * (1 - y)           # σ' = σ(1 − σ)
    UFUNC_RULES[sp.erf] = lambda y, x, dx: dx * (2 / np.sqrt(np.pi)) * np.exp(-x * x)
    UFUNC_RULES[sp.erfc] = lambda y, x, dx: -dx * (2 / np.sqrt(np.pi)) * np.exp(-x * x)
    UFUNC_RULES[sp.gammaln] = lambda y, x, dx: dx * sp.digamma(x)
    UFUNC_RULES[sp.log_expit] = lambda y, x, dx: dx * (1 - sp.expit(x))
    return True


# ───────────────────────── rule builders for functions ─────────────────────────

def _tan_or_zero(v, t):
    if t is None:
        return _zeros(v)
    if isinstance(t, list):
        return [_tan_or_zero(vi, ti) for vi, ti in zip(v, t, strict=True)]
    return t


def _untraced(func, tans, allowed):
    for i, t in enumerate(tans):
        if t is not None and i not in allowed:
            raise TypeError(
                f"mcutils forward mode cannot differentiate {func.__module__}.{func.__name__} "
                f"with respect to its argument {i}; only argument(s) {sorted(allowed)} may be "
                "Duals here (the others are parameters such as axes, shapes or indices)."
            )


def linear(data=(0,)):
    """f linear in the arguments at positions ``data``: f'(x)[dx] = f(dx)."""
    def rule(func, vals, tans, kw):
        positions = range(len(vals)) if data == "all" else data
        _untraced(func, tans, set(positions))
        y = func(*vals, **kw)
        args = list(vals)
        for i in positions:
            if i < len(vals):
                args[i] = _tan_or_zero(vals[i], tans[i])
        return y, func(*args, **kw)

    return rule


def multilinear(func, vals, tans, kw):
    """Product rule: d f(a, b, …) = f(da, b, …) + f(a, db, …) + …"""
    y = func(*vals, **kw)
    dy = None
    for i, t in enumerate(tans):
        if t is None:
            continue
        slots = [(i, None)] if not isinstance(t, list) else [
            (i, j) for j, tj in enumerate(t) if tj is not None]
        for i_, j in slots:
            args = list(vals)
            if j is None:
                args[i_] = t
            else:
                args[i_] = list(vals[i_])
                args[i_][j] = t[j]
            term = func(*args, **kw)
            dy = term if dy is None else dy + term
    return y, dy


def unary(jvp):
    """One differentiable (first) argument: y = f(x, …), dy = jvp(y, x, dx, …)."""
    def rule(func, vals, tans, kw):
        _untraced(func, tans, {0})
        y = func(*vals, **kw)
        return y, jvp(y, vals[0], tans[0], *vals[1:], **kw)

    return rule


def frule(fn):
    """``fn(vals, tans, kw) -> (y, dy)``: value and tangent computed together."""
    def rule(func, vals, tans, kw):
        return fn(vals, tans, kw)

    return rule


def compose(impl):
    """The function re-implemented with differentiable pieces; called on the Duals."""
    impl.compose = True
    return impl


# ───────────────────────── reductions and selections ─────────────────────────

def _extreme(arg):
    """max/min: the mean of the tangents of the extremal entries along the axis (one entry
    unless there is a tie) — the same convention as reverse mode, which shares the
    cotangent equally among tied entries, so the two modes agree also at ties."""
    reduce = np.max if arg is np.argmax else np.min

    def fn(vals, tans, kw):
        x, dx = vals[0], tans[0]
        axis, _, keepdims, initial, where = _params(
            vals[1:], kw, ("axis", None), ("out", None), ("keepdims", False),
            ("initial", None), ("where", None))
        if initial is not None or where is not None:
            raise TypeError("mcutils forward mode: np.max/np.min with initial= or where= "
                            "has no rule; use np.maximum(x, initial) or np.where first.")
        y = reduce(x, axis=axis, keepdims=keepdims)
        hit = x == reduce(x, axis=axis, keepdims=True)       # plain booleans
        share = hit / np.sum(hit, axis=axis, keepdims=True)
        return y, np.sum(share * dx, axis=axis, keepdims=keepdims)

    return frule(fn)


def _prod_fn(vals, tans, kw):
    # d ∏xᵢ = Σᵢ dxᵢ ∏_{j≠i} xⱼ, with ∏_{j≠i} as (product left of i)·(product right of i)
    x, dx = vals[0], tans[0]
    axis, dtype, _, keepdims = _params(vals[1:], kw, ("axis", None), ("dtype", None),
                                       ("out", None), ("keepdims", False))
    y = np.prod(x, axis=axis, dtype=dtype, keepdims=keepdims)
    if axis is None:
        xs, dxs, ax = np.ravel(x), np.ravel(dx), 0
    else:
        xs, dxs, ax = x, dx, axis
    xm = np.moveaxis(xs, ax, -1)
    ones = np.ones(_shape(xm)[:-1] + (1,), dtype=_dtype(xm))
    left = np.concatenate([ones, np.cumprod(xm[..., :-1], axis=-1)], axis=-1)
    right = np.flip(np.concatenate(
        [ones, np.cumprod(np.flip(xm, -1)[..., :-1], axis=-1)], axis=-1), -1)
    dy = np.sum(np.moveaxis(dxs, ax, -1) * left * right, axis=-1)
    if keepdims:
        dy = np.reshape(dy, _shape(y))
    return y, dy


def _cumprod_fn(vals, tans, kw):
    # Cₖ = Cₖ₋₁ xₖ:  dCₖ = dCₖ₋₁ xₖ + Cₖ₋₁ dxₖ,  i.e.  dC = C · cumsum(dx/x) without zeros
    x, dx = vals[0], tans[0]
    axis, dtype = _params(vals[1:], kw, ("axis", None), ("dtype", None))
    y = np.cumprod(x, axis=axis, dtype=dtype)
    if np.all(x != 0):
        return y, y * np.cumsum(dx / x, axis=axis)
    if axis is None:
        x, dx, axis = np.ravel(x), np.ravel(dx), 0
    xm, dxm, ym = (np.moveaxis(a, axis, 0) for a in (x, dx, y))
    d = [dxm[0]]
    for k in range(1, _shape(xm)[0]):
        d.append(d[-1] * xm[k] + ym[k - 1] * dxm[k])
    return y, np.moveaxis(np.stack(d), 0, axis)


def _sort_fn(vals, tans, kw):
    # sorting permutes the entries; the tangent follows the same permutation
    x, dx = vals[0], tans[0]
    (axis,) = _params(vals[1:], kw, ("axis", -1))
    if axis is None:
        x, dx, axis = np.ravel(x), np.ravel(dx), 0
    idx = np.argsort(x, axis=axis, kind="stable")
    return np.take_along_axis(x, idx, axis), np.take_along_axis(dx, idx, axis)


def _clip_fn(vals, tans, kw):
    # clip(x, lo, hi): the tangent of whichever of x, lo, hi is returned
    x, lo, hi = (list(vals) + [kw.get("a_min"), kw.get("a_max")])[:3] if len(vals) < 3 \
        else vals
    tt = list(tans) + [None] * (3 - len(tans))
    y = np.clip(x, lo, hi)
    dy = _tan_or_zero(x, tt[0])
    if lo is not None:
        dy = np.where(x < lo, _tan_or_zero(lo, tt[1]), dy)
    if hi is not None:
        dy = np.where(x > hi, _tan_or_zero(hi, tt[2]), dy)
    return y, dy


def _where_fn(func, vals, tans, kw):
    if len(vals) == 1:  # np.where(cond) returns indices
        return func(*vals), None
    return linear((1, 2))(func, vals, tans, kw)


@compose
def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    # var = mean |x − mean x|²  (ddof corrects the count)
    m = np.mean(a, axis=axis, keepdims=True)
    d = a - m
    sq = np.real(np.conj(d) * d) if _is_complex(d) else d * d
    shape = _shape(a)
    if axis is None:
        n = int(np.prod(shape))
    else:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        n = int(np.prod([shape[k] for k in axes]))
    return np.sum(sq, axis=axis, keepdims=keepdims) / (n - ddof)


@compose
def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    return _sqrt0(_var(a, axis=axis, ddof=ddof, keepdims=keepdims))


def _sqrt0(v):
    """√v whose derivative is 0 where v = 0 (std of one entry, or of equal entries: the
    std of a single entry is identically 0, so its derivative is 0, not ∞·0 = NaN)."""
    zero = v == 0
    return np.where(zero, 0 * v, np.sqrt(np.where(zero, 1.0, v)))


@compose
def _polyval(p, x):
    # Horner: ((p₀ x + p₁) x + p₂) …
    y = 0 * x
    for k in range(len(p)):
        y = y * x + p[k]
    return y


def _vector_norm(x, axis, keepdims, ord):
    # vector_norm(x) with axis=None is the norm of the flattened x (any number of axes)
    if axis is None:
        y = np.linalg.norm(np.ravel(x), ord)
        return np.reshape(y, (1,) * len(_shape(x))) if keepdims else y
    if isinstance(axis, tuple) and len(axis) > 1:
        nd = len(_shape(x))
        axes = tuple(a % nd for a in axis)
        rest = [a for a in range(nd) if a not in axes]
        xm = np.transpose(x, rest + list(axes))
        flat = np.reshape(xm, tuple(_shape(xm)[:len(rest)]) + (-1,))
        y = np.linalg.norm(flat, ord, -1)
        if keepdims:
            y = np.reshape(y, tuple(1 if a in axes else n for a, n in enumerate(_shape(x))))
        return y
    return np.linalg.norm(x, ord, axis, keepdims)


@compose
def _average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    # Σ wᵢaᵢ / Σ wᵢ along axis (the mean when weights is None), traced in a and weights
    if weights is None:
        avg = np.mean(a, axis=axis, keepdims=keepdims)
        scl = np.ones(_shape(avg)) * (np.prod(_shape(a)) / max(np.prod(_shape(avg)), 1))
    else:
        w = weights
        if _shape(w) != _shape(a):
            if axis is None or len(_shape(w)) != 1:
                raise TypeError("np.average: weights of a shape other than a's need axis= "
                                "and must be 1-D (as in NumPy)")
            shape = [1] * len(_shape(a))
            shape[axis] = -1
            w = np.reshape(w, tuple(shape))
        scl = np.sum(np.broadcast_to(w, np.broadcast_shapes(_shape(w), _shape(a))),
                     axis=axis, keepdims=keepdims)
        avg = np.sum(a * w, axis=axis, keepdims=keepdims) / scl
    if returned:
        return avg, scl
    return avg


@compose
def _angle(z, deg=False):
    a = np.arctan2(np.imag(z), np.real(z))
    return np.rad2deg(a) if deg else a


# ───────────────────────── linear algebra ─────────────────────────

def _lu_inverse(lu_piv):
    """A⁻¹ from its LU factors (LAPACK getri): much faster than n triangular solves."""
    sl = _scipy_linalg()
    lu, piv = lu_piv
    (getri,) = sl.lapack.get_lapack_funcs(("getri",), (lu,))
    inv, info = getri(lu, piv)
    if info != 0:
        raise np.linalg.LinAlgError("Singular matrix")
    return inv


def _solve_fn(vals, tans, kw):
    # x = A⁻¹b:  dx = A⁻¹(db − dA x)   (one LU factorization serves value and tangent)
    A, b = vals
    dA, db = tans
    if _plain(A, b) and A.ndim == 2 and (dA is None or _plain(dA)) and (db is None or _plain(db)):
        sl = _scipy_linalg()
        lu = _lu(A)
        x = sl.lu_solve(lu, b, check_finite=False)
        rhs = (db if db is not None else 0) - (dA @ x if dA is not None else 0)
        if b.ndim == 2 and 4 * b.shape[1] >= A.shape[0]:
            # many right-hand sides: A⁻¹ from the same LU, then one matrix product
            return x, _lu_inverse(lu) @ rhs
        return x, sl.lu_solve(lu, rhs, check_finite=False)
    x = np.linalg.solve(A, b)
    if dA is not None:
        dAx = dA @ x
        rhs = -dAx if db is None else db - dAx
    else:
        rhs = db
    return x, np.linalg.solve(A, rhs)


def _det_fn(vals, tans, kw):
    # d det A = det(A) tr(A⁻¹ dA) = tr(adj(A) dA)   (adjugate form where A is singular)
    A, dA = vals[0], tans[0]
    if _plain(A, dA) and A.ndim == 2:
        sl = _scipy_linalg()
        with warnings.catch_warnings():  # singular A is fine here: adjugate form below
            warnings.simplefilter("ignore", sl.LinAlgWarning)
            lu, piv = sl.lu_factor(A, check_finite=False)
        u = np.diagonal(lu)
        parity = np.count_nonzero(piv != np.arange(len(piv))) % 2
        d = (-1.0) ** parity * np.prod(u)
        au = np.abs(u)
        if au.size and au.min() <= A.shape[0] * np.finfo(float).eps * au.max():
            return d, np.sum(_T(adjugate(A)) * dA)  # tr(adj(A) dA) = Σ adj(A)ᵀ ∘ dA
        return d, d * np.sum(_T(_lu_inverse((lu, piv))) * dA)   # tr(A⁻¹dA) = Σ A⁻ᵀ ∘ dA
    d = np.linalg.det(A)
    return d, d * _tr(np.linalg.solve(A, dA))


_SlogdetResult = type(np.linalg.slogdet(np.eye(1)))
_EighResult = type(np.linalg.eigh(np.eye(1)))
_SVDResult = type(np.linalg.svd(np.eye(1)))
_QRResult = type(np.linalg.qr(np.eye(1)))


def _slogdet_fn(vals, tans, kw):
    # d log det A = tr(A⁻¹ dA):  d log|det| = Re tr(A⁻¹dA),  d sign = i sign Im tr(A⁻¹dA)
    A, dA = vals[0], tans[0]
    if _plain(A, dA) and A.ndim == 2:
        sl = _scipy_linalg()
        lu, piv = sl.lu_factor(A, check_finite=False)
        u = np.diagonal(lu)
        parity = np.count_nonzero(piv != np.arange(len(piv))) % 2
        au = np.abs(u)
        sign = (-1.0) ** parity * np.prod(u / au)
        logabs = np.sum(np.log(au))
        t = np.sum(_T(_lu_inverse((lu, piv))) * dA)           # tr(A⁻¹dA) = Σ A⁻ᵀ ∘ dA
    else:
        sign, logabs = np.linalg.slogdet(A)
        t = _tr(np.linalg.solve(A, dA))
    if _is_complex(A) or _is_complex(dA):
        dsign = sign * 1j * np.imag(t) if _is_complex(A) else None
        return _SlogdetResult(sign, logabs), (dsign, np.real(t))
    return _SlogdetResult(sign, logabs), (None, t)


def _eigh_fn(vals, tans, kw):
    # A = Q Λ Qᴴ:  dλᵢ = qᵢᴴ dA qᵢ,  dqᵢ = Σ_{k≠i} qₖ (qₖᴴ dA qᵢ)/(λᵢ − λₖ)
    # eigh is applied to (A + Aᴴ)/2 (see _sym), so UPLO does not matter.  Complex
    # eigenvectors are defined up to a phase e^{iθ}; the tangent is the one with
    # qᵢᴴ dqᵢ = 0 (LAPACK's phase moves differently: compare gauge-invariant quantities
    # such as |qᵢ|² or qᵢqᵢᴴ, never raw complex eigenvectors).
    A, dA = _sym(vals[0]), tans[0]
    w, Q = np.linalg.eigh(A)
    P = _H(Q) @ _sym(dA) @ Q
    dw = np.real(_diag(P))
    return _EighResult(w, Q), (dw, Q @ (_gap_inverse(w) * P))


def _eigvalsh_fn(vals, tans, kw):
    # dλᵢ = qᵢᴴ dA qᵢ, on the symmetric part of A and dA (see _sym)
    w, Q = np.linalg.eigh(_sym(vals[0]))
    return w, np.real(_diag(_H(Q) @ _sym(tans[0]) @ Q))


def _eigvals_jvp(w, A, dA):
    # A = X Λ X⁻¹:  dλ = diag(X⁻¹ dA X)   (distinct eigenvalues)
    _, X = np.linalg.eig(A)
    return _diag(np.linalg.solve(X, dA @ X))


def _cholesky_fn(vals, tans, kw):
    # A = L Lᴴ:  dL = L Φ(L⁻¹ dA L⁻ᴴ),  Φ = lower triangle with the diagonal halved
    # applied to (A + Aᴴ)/2 like eigh (see _sym)
    A, dA = _sym(vals[0]), tans[0]
    upper = kw.get("upper", False)
    L = np.linalg.cholesky(A)
    S = _sym(dA)
    Y = _trisolve(L, S, lower=True)              # L⁻¹ dA
    X = _H(_trisolve(L, _H(Y), lower=True))      # L⁻¹ dA L⁻ᴴ
    phi = np.tril(X, -1) + 0.5 * np.tril(np.triu(X))
    dL = L @ phi
    if upper:
        return _H(L), _H(dL)
    return L, dL


def _rdiv_upper(B, R):
    """B R⁻¹ for upper-triangular R."""
    if _plain(B, R) and R.ndim == 2:
        sl = _scipy_linalg()
        return _H(sl.solve_triangular(R, _H(B), trans="C", lower=False, check_finite=False))
    return _H(np.linalg.solve(_H(R), _H(B)))


def _qr_fn(vals, tans, kw):
    # A = QR (m ≥ n):  M = Qᴴ dA R⁻¹ = Ω + dR R⁻¹ with Ω = Qᴴ dQ skew-Hermitian and
    # dR R⁻¹ upper triangular, so Ω = tril(M,−1) − tril(M,−1)ᴴ (+ i Im diag M if complex);
    # dR = (M − Ω) R,  dQ = dA R⁻¹ − Q (M − Ω).
    A, dA = vals[0], tans[0]
    (mode,) = _params(vals[1:], kw, ("mode", "reduced"))
    m, n = _shape(A)[-2:]
    if m < n or mode not in ("reduced", "r") and not (mode == "complete" and m == n):
        raise TypeError(
            "mcutils forward mode differentiates np.linalg.qr only for m ≥ n with "
            f"mode='reduced' or 'r' (got shape {(m, n)}, mode={mode!r}): the extra columns "
            "of a complete Q are not determined by A.")
    Q, R = np.linalg.qr(A)
    dAR = _rdiv_upper(dA, R)
    M = _H(Q) @ dAR
    Lm = np.tril(M, -1)
    Om = Lm - _H(Lm)
    if _is_complex(M):
        Om = Om + 1j * (np.imag(M) * np.eye(n))
    K = M - Om
    dR, dQ = K @ R, dAR - Q @ K
    if mode == "r":
        return R, dR
    return _QRResult(Q, R), (dQ, dR)


def _svd_parts(A, dA):
    U, s, Vh = np.linalg.svd(A, full_matrices=False)
    P = _H(U) @ dA @ _H(Vh)
    return U, s, Vh, P


def _svd_fn(vals, tans, kw):
    # A = U S Vᴴ:  dσᵢ = Re uᵢᴴ dA vᵢ;  with P = Uᵀ dA V and F_ij = 1/(σⱼ² − σᵢ²):
    #   dU = U (F ∘ (P S + S Pᵀ)) + (I − UUᵀ) dA V S⁻¹
    #   dV = V (F ∘ (S P + Pᵀ S)) + (I − VVᵀ) dAᵀ U S⁻¹      (real A, distinct σ)
    A, dA = vals[0], tans[0]
    full, compute_uv, hermitian = _params(vals[1:], kw, ("full_matrices", True),
                                          ("compute_uv", True), ("hermitian", False))
    U, s, Vh, P = _svd_parts(A, dA)
    ds = np.real(_diag(P))
    if not compute_uv:
        return s, ds
    m, n = _shape(A)[-2:]
    if _is_complex(A) or _is_complex(dA) or (full and m != n):
        raise TypeError(
            "mcutils forward mode differentiates singular *vectors* of real matrices only, "
            "with full_matrices=False when A is not square (the extra columns of a full U "
            "or V are not determined by A); singular values alone: compute_uv=False.")
    V = _T(Vh)
    F = -_gap_inverse(s * s)          # F_ij = 1/(σⱼ² − σᵢ²) with the sign of the formula
    F = _T(F)
    Sr = s[..., None, :]
    Sc = s[..., :, None]
    PT = _T(P)
    dU = U @ (F * (P * Sr + Sc * PT)) + (dA @ V - U @ P) / Sr
    dV = V @ (F * (Sc * P + PT * Sr)) + (_T(dA) @ U - V @ PT) / Sr
    return _SVDResult(U, s, Vh), (dU, ds, _T(dV))


def _svdvals_jvp(s, A, dA):
    return np.real(_diag(_svd_parts(A, dA)[3]))


@compose
def _matrix_power(A, n):
    # d(Aⁿ) = Σ_{j<n} Aʲ dA Aⁿ⁻¹⁻ʲ — produced by the product rule of @ while squaring
    if n < 0:
        A, n = np.linalg.inv(A), -n
    if n == 0:
        return np.broadcast_to(np.eye(_shape(A)[-1]), _shape(A)).copy()
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def _norm_fn(vals, tans, kw):
    # d‖x‖₂ = Re⟨x, dx⟩/‖x‖ (Frobenius alike);  d‖x‖ₚ = ‖x‖ₚ^{1−p} Σ |xᵢ|^{p−1} d|xᵢ|;
    # matrix 2-norm: dσ₁ = Re u₁ᴴ dA v₁;  nuclear: Re tr(Uᴴ dA V).  0 at x = 0.
    x, dx = vals[0], tans[0]
    ord_, axis, keepdims = _params(vals[1:], kw, ("ord", None), ("axis", None),
                                   ("keepdims", False))
    if isinstance(axis, (tuple, list)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, np.integer):
        axis = int(axis)
    y = np.linalg.norm(x, ord_, axis, keepdims)
    nd = len(_shape(x))
    if axis is None and (ord_ is None or nd == 1 and ord_ == 2 or nd == 2 and ord_ == "fro"):
        axes = tuple(range(nd))
        kind = "euclid"
    elif axis is None and nd == 1 or isinstance(axis, int):
        axes = (axis if axis is not None else 0,)
        kind = "euclid" if ord_ in (None, 2) else "vector"
    else:
        axes = tuple(axis) if axis is not None else (nd - 2, nd - 1)
        axes = tuple(a % nd for a in axes)
        kind = "euclid" if ord_ in (None, "fro") else "matrix"
    yk = np.linalg.norm(x, ord_, axis, True) if axis is not None or kind != "euclid" else None
    if kind == "euclid":
        yk = np.sqrt(np.sum(np.real(np.conj(x) * x) if _is_complex(x) else x * x,
                            axis=axes, keepdims=True))
        num = np.sum(np.real(np.conj(x) * dx) if _is_complex(x) or _is_complex(dx)
                     else x * dx, axis=axes, keepdims=True)
        dy = _safe_div(num, yk)
    elif kind == "vector":
        ax = axes[0]
        da = _dabs(x, dx)
        if ord_ in (np.inf, -np.inf):
            ax_abs = np.abs(x)
            i = np.argmax(ax_abs, axis=ax) if ord_ > 0 else np.argmin(ax_abs, axis=ax)
            dy = np.take_along_axis(da, np.expand_dims(i, ax), ax)
        elif ord_ == 1:
            dy = np.sum(da, axis=ax, keepdims=True)
        elif isinstance(ord_, (int, float)) and ord_ > 0:
            dy = _safe_div(np.sum(np.abs(x) ** (ord_ - 1) * da, axis=ax, keepdims=True),
                           yk ** (ord_ - 1))
        else:
            raise TypeError(f"mcutils forward mode: np.linalg.norm with ord={ord_!r} "
                            "has no rule (vector norms with p > 0 are supported)")
    else:
        if ord_ not in (2, -2, "nuc"):
            raise TypeError(f"mcutils forward mode: np.linalg.norm with ord={ord_!r} on "
                            "matrices has no rule (use 'fro', 2, -2 or 'nuc')")
        Xm = np.moveaxis(x, axes, (-2, -1))
        dXm = np.moveaxis(dx, axes, (-2, -1))
        U, s, Vh, P = _svd_parts(Xm, dXm)
        dsig = np.real(_diag(P))
        dy = (np.sum(dsig, axis=-1) if ord_ == "nuc"
              else dsig[..., 0] if ord_ == 2 else dsig[..., -1])
        dy = np.expand_dims(dy, axes) if keepdims else dy
        return y, dy
    return y, np.reshape(dy, _shape(y))


# ───────────────────────── the function table ─────────────────────────

_lin = linear()

FUNCTION_RULES = {
    # linear maps in their first argument: f'(x)[dx] = f(dx)
    np.sum: _lin, np.mean: _lin, np.cumsum: _lin, np.trace: _lin, np.diff: _lin,
    np.reshape: _lin, np.ravel: _lin, np.transpose: _lin, np.swapaxes: _lin,
    np.moveaxis: _lin, np.expand_dims: _lin, np.squeeze: _lin, np.broadcast_to: _lin,
    np.diag: _lin, np.diagonal: _lin, np.tril: _lin, np.triu: _lin, np.flip: _lin,
    np.fliplr: _lin, np.flipud: _lin, np.rot90: _lin, np.roll: _lin, np.tile: _lin,
    np.repeat: _lin, np.take: _lin, np.take_along_axis: _lin, np.copy: _lin,
    np.real: _lin, np.imag: _lin, np.atleast_1d: _lin, np.atleast_2d: _lin,
    np.split: _lin, np.array_split: _lin, np.matrix_transpose: _lin,
    np.linalg.matrix_transpose: _lin, np.fft.fft: _lin, np.fft.ifft: _lin,
    np.fft.fft2: _lin, np.fft.ifft2: _lin,
    # linear in every data argument (constants contribute zero tangents)
    np.concatenate: _lin, np.concat: _lin, np.stack: _lin, np.hstack: _lin, np.vstack: _lin,
    np.column_stack: _lin, np.dstack: _lin, np.broadcast_arrays: linear("all"),
    np.append: linear((0, 1)),
    # np.where(c, x, y): linear in x and y
    np.where: _where_fn,
    # multilinear: product rule
    np.dot: multilinear, np.vdot: multilinear, np.inner: multilinear, np.outer: multilinear,
    np.kron: multilinear, np.tensordot: multilinear, np.einsum: multilinear,
    np.cross: multilinear, np.linalg.multi_dot: multilinear, np.linalg.outer: multilinear,
    # reductions and selections
    np.max: _extreme(np.argmax), np.amax: _extreme(np.argmax),
    np.min: _extreme(np.argmin), np.amin: _extreme(np.argmin),
    np.prod: frule(_prod_fn), np.cumprod: frule(_cumprod_fn), np.sort: frule(_sort_fn),
    np.clip: frule(_clip_fn), np.var: _var, np.std: _std, np.polyval: _polyval,
    np.angle: _angle, np.average: _average,
    # linear algebra
    # d(A⁻¹) = −A⁻¹ dA A⁻¹
    np.linalg.inv: unary(lambda Y, A, dA: -Y @ dA @ Y),
    np.linalg.solve: frule(_solve_fn),
    np.linalg.det: frule(_det_fn),
    np.linalg.slogdet: frule(_slogdet_fn),
    np.linalg.eigh: frule(_eigh_fn),
    np.linalg.eigvalsh: frule(_eigvalsh_fn),
    np.linalg.eigvals: unary(_eigvals_jvp),
    np.linalg.cholesky: frule(_cholesky_fn),
    np.linalg.qr: frule(_qr_fn),
    np.linalg.svd: frule(_svd_fn),
    np.linalg.svdvals: unary(_svdvals_jvp),
    np.linalg.matrix_power: _matrix_power,
    np.linalg.norm: frule(_norm_fn),
    # the array-API spellings, in terms of the above
    np.linalg.diagonal: compose(lambda x, *, offset=0: np.diagonal(x, offset, -2, -1)),
    np.linalg.trace: compose(lambda x, *, offset=0, dtype=None:
                             np.trace(x, offset, -2, -1, dtype)),
    np.linalg.matmul: compose(lambda x1, x2: np.matmul(x1, x2)),
    np.linalg.vector_norm: compose(lambda x, *, axis=None, keepdims=False, ord=2:
                                   _vector_norm(x, axis, keepdims, ord)),
    np.linalg.matrix_norm: compose(lambda x, *, keepdims=False, ord="fro":
                                   np.linalg.norm(x, ord, (-2, -1), keepdims)),
}

# Results that do not depend differentiably on the input: computed on the values.
for _f in (np.shape, np.ndim, np.size, np.iscomplexobj, np.isrealobj, np.argmax, np.argmin,
           np.argsort, np.nonzero, np.flatnonzero, np.argwhere, np.count_nonzero, np.any,
           np.all, np.isclose, np.allclose, np.array_equal, np.zeros_like, np.ones_like,
           np.empty_like, np.full_like, np.result_type, np.round, np.around,
           np.searchsorted, np.lexsort, np.iscomplex, np.isreal, np.unique, np.array_equiv,
           np.linalg.matrix_rank):
    FUNCTION_RULES[_f] = NONDIFF


# ═════════════════ rules added for issue 13 (functions that had no rule) ═════════════════
# Each rule here has its reverse-mode twin in the section of the same name at the end of
# mcutils/reverse_rules.py; tests/test_new_rules.py checks both against finite
# differences (and against each other).  Where a function can be written as traced NumPy
# code, the *same* Python function serves both tables (it is differentiated again for
# second derivatives); the few frules below carry a formula with its derivation.
#
# Conventions (the same in both modes):
# * np.linalg.eig: eigenvector tangents follow NumPy's normalisation — unit 2-norm, and a
#   complex eigenvector's entry of largest modulus stays real (LAPACK geev) — so they match
#   finite differences of np.linalg.eig itself.  At a repeated eigenvalue: RuntimeWarning.
# * np.linalg.svd of complex A: the phase of each pair (uᵢ, vᵢ) is arbitrary; the tangent
#   keeps diag(UᴴdU) = 0.  Only phase-free quantities (σ, U f(S) Vᴴ, |U|²) are meaningful.
# * np.linalg.pinv: exact for full rank; at a rank-deficient A a RuntimeWarning, and the
#   derivative of the constant-rank branch.
# * Selections (repeat, tile, split, pad, partition, take_along_axis, …) are gathers:
#   only the first argument is differentiated; pad modes other than constant, edge,
#   reflect, symmetric, wrap raise.  np.partition's order within each side is that of
#   np.argpartition (NumPy leaves it unspecified).

def _fbase(v):
    """The plain value inside any nesting of tracers."""
    while hasattr(v, "_level"):
        v = v.value
    return v


_EigResult = type(np.linalg.eig(np.eye(1)))


def eig_gap_inverse(w, what="np.linalg.eig"):
    """F[i, j] = 1/(w_j − w_i) for i ≠ j (0 on the diagonal), for eigenvalues ``w``.

    Where two eigenvalues coincide (|w_i − w_j| ≤ 1000·eps·max|w|) the entry is set to 0
    and a RuntimeWarning says so: there the eigenvalues are not differentiable (a
    repeated eigenvalue of a non-normal matrix splits like √t) and the eigenvectors are
    not determined, so only functions of the whole invariant subspace get a meaningful
    derivative.  Shared by the forward and reverse rules of ``eig``.
    """
    wb = _fbase(w)
    d = wb[..., None, :] - wb[..., :, None]
    n = wb.shape[-1]
    scale = np.max(np.abs(wb), axis=-1, keepdims=True)[..., None] + np.finfo(float).tiny
    close = np.abs(d) <= 1e3 * np.finfo(float).eps * scale
    eye = np.eye(n, dtype=bool)
    if np.any(close & ~eye):
        warnings.warn(
            f"mcutils: differentiating {what} at a repeated eigenvalue: eigenvalues are not "
            "differentiable there and eigenvectors are not unique; the coupling between the "
            "repeated pair is set to 0 (right only for functions of their sum or of the "
            "invariant subspace)" if what == "np.linalg.eig" else
            f"mcutils: differentiating {what} at a repeated value: the vectors are not unique "
            "there; the coupling between the repeated pair is set to 0 (right only for "
            "functions of the whole subspace)", RuntimeWarning, stacklevel=5)
    dd = w[..., None, :] - w[..., :, None] if hasattr(w, "_level") else d
    return np.where(close, 0.0, 1.0 / np.where(close, 1.0, dd))


def eig_largest(X):
    """One-hot mask (plain bool) of the entry of largest modulus in each column of X —
    where LAPACK's ``geev`` makes a complex eigenvector real (its phase convention)."""
    a = np.abs(_fbase(X))
    k = np.argmax(a, axis=-2)
    return np.arange(a.shape[-2])[:, None] == k[..., None, :]


def _eig_vector_gauge(X, D0):
    """The eigenvector tangent in NumPy's normalisation.

    NumPy (LAPACK ``geev``) returns eigenvectors of unit 2-norm; complex ones are turned
    so that their entry of largest modulus is real.  Eigenvectors are only defined up to
    such a scale, so the tangent ``D0 = X (F ∘ X⁻¹dA X)`` (which has xⱼᴴ-component 0 only
    in the eigenvector basis) is corrected column by column: first
    ``dxⱼ −= xⱼ Re(xⱼᴴ dxⱼ)`` keeps ‖xⱼ‖ = 1, then ``dxⱼ += iθⱼ xⱼ`` with
    θⱼ = −Im(dx_kj)/x_kj keeps the largest entry x_kj real.  (Real eigenvectors of a
    real matrix only need the first step; their sign is NumPy's and stays put.)
    """
    s = np.sum(np.conj(X) * D0, axis=-2) if _is_complex(X) else np.sum(X * D0, axis=-2)
    D1 = D0 - X * np.real(s)[..., None, :]
    if not _is_complex(X):
        return D1
    mask = eig_largest(X)
    xk = np.real(np.sum(mask * X, axis=-2))
    theta = -np.imag(np.sum(mask * D1, axis=-2)) / xk
    return D1 + 1j * theta[..., None, :] * X


def _eig_fn(vals, tans, kw):
    # A X = X Λ:  with P = X⁻¹ dA X,  dλ = diag(P)  and  dX = X (F ∘ P), F_ij = 1/(λⱼ − λᵢ)
    # (from dA X + A dX = dX Λ + X dΛ), then NumPy's normalisation (_eig_vector_gauge).
    A, dA = vals[0], tans[0]
    w, X = np.linalg.eig(A)
    P = np.linalg.solve(X, dA @ X)
    dw = _diag(P)
    D0 = X @ (eig_gap_inverse(w) * P)
    return _EigResult(w, X), (dw, _eig_vector_gauge(X, D0))


FUNCTION_RULES[np.linalg.eig] = frule(_eig_fn)


# ── element-wise: angle units, |x| as float, sinc, nan_to_num, real_if_close ──
UFUNC_RULES[np.degrees] = lambda y, x, dx: dx * (180 / np.pi)
UFUNC_RULES[np.radians] = lambda y, x, dx: dx * (np.pi / 180)
UFUNC_RULES[np.fabs] = lambda y, x, dx: np.sign(x) * dx        # 0 at x = 0 (subgradient)


@compose
def sinc(x):
    """sin(πx)/(πx), 1 at 0.  Near 0 (|πx| < 10⁻²) its Taylor series 1 − t²/6 + t⁴/120 −
    t⁶/5040 (error < 10⁻¹⁶), so that first *and second* derivatives at 0 are right
    (sinc'(0) = 0, sinc''(0) = −π²/3) with no 0/0 in either branch."""
    t = np.pi * x
    small = np.abs(_fbase(t)) < 1e-2
    ts = np.where(small, 1.0, t)
    t2 = t * t
    series = 1 - t2 / 6 + t2 * t2 / 120 - t2 * t2 * t2 / 5040
    return np.where(small, series, np.sin(ts) / ts)


@compose
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Finite entries pass through (derivative 1); NaN and ±inf become constants
    (derivative 0).  Complex: real and imaginary parts separately, as NumPy does."""
    if _is_complex(x):
        return (nan_to_num(np.real(x), copy, nan, posinf, neginf)
                + 1j * nan_to_num(np.imag(x), copy, nan, posinf, neginf))
    xb = _fbase(x)
    return np.where(np.isfinite(xb), x,
                    np.nan_to_num(xb, copy=True, nan=nan, posinf=posinf, neginf=neginf))


@compose
def real_if_close(a, tol=100):
    """Re(a) when every imaginary part is below tol machine epsilons (NumPy's test, on
    the values), else a unchanged."""
    ab = _fbase(a)
    if _is_complex(ab) and np.all(np.real_if_close(ab, tol).dtype.kind != "c"):
        return np.real(a)
    return a


FUNCTION_RULES[np.sinc] = sinc
FUNCTION_RULES[np.nan_to_num] = nan_to_num
FUNCTION_RULES[np.real_if_close] = real_if_close


# ── selections and rearrangements, written as one gather ──
# repeat, tile, flips, rot90, rollaxis, split, take_along_axis, pad, partition, … only
# move entries around (pad also adds constants).  Each is computed as  ravel(x)[I]  with
# the index array I = f(arange(x.size).reshape(x.shape), …): NumPy itself says where every
# entry goes.  Indexing has rules in both modes (its reverse rule adds the cotangents of
# repeated entries), so one composite serves forward, reverse and second order.
import inspect  # noqa: E402


def _first_arg(func, args, kw):
    """(data, other positional args, other keywords): the data argument may come by
    keyword under NumPy's name for it (np.repeat(a=x, repeats=2))."""
    if args:
        return args[0], args[1:], kw
    name = next(iter(inspect.signature(func).parameters))
    kw = dict(kw)
    return kw.pop(name), (), kw


def _no_tracers(func, args, kw):
    for v in list(args) + list(kw.values()):
        if any(hasattr(t, "_level") for t in (v if isinstance(v, (list, tuple)) else [v])):
            raise TypeError(
                f"mcutils differentiates np.{func.__name__} with respect to its first argument "
                "only; its other arguments (shapes, counts, indices, pad widths, constants) "
                "must be plain numbers or arrays")


def gather(func):
    """The composite rule  x ↦ ravel(x)[func(index array of x, …)]  for a function that
    only selects entries of its first argument."""
    def how(*args, **kw):
        x, rest, kw = _first_arg(func, args, kw)
        _no_tracers(func, rest, kw)
        shape = _shape(x)
        idx = func(np.arange(int(np.prod(shape))).reshape(shape), *rest, **kw)
        flat = np.ravel(x)
        if isinstance(idx, (list, tuple)):
            return type(idx)(flat[i] for i in idx)
        return flat[idx]

    how.__name__ = how.__qualname__ = f"gather_{func.__name__}"
    how.__doc__ = f"np.{func.__name__} as a gather from its first argument (see ``gather``)."
    how.compose = True
    return how


@compose
def atleast_3d(*arys):
    """A reshape of each argument to NumPy's atleast_3d shape."""
    out = [np.reshape(a, np.shape(np.atleast_3d(np.zeros(_shape(a))))) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


_PAD_GATHER_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


@compose
def pad(array, pad_width, mode="constant", **kwargs):
    """np.pad as a gather (modes constant, edge, reflect, symmetric, wrap); a constant
    border contributes no derivative.  Other modes raise a TypeError."""
    if not isinstance(mode, str) or mode not in _PAD_GATHER_MODES or kwargs.get(
            "reflect_type", "even") != "even":
        raise TypeError(
            f"mcutils has no rule for np.pad with mode={mode!r}"
            + (f", reflect_type={kwargs['reflect_type']!r}" if "reflect_type" in kwargs else "")
            + f"; supported: mode in {_PAD_GATHER_MODES} (reflect_type='even')")
    _no_tracers(np.pad, [pad_width], kwargs)
    shape = _shape(array)
    size = int(np.prod(shape))
    idx = np.arange(size).reshape(shape)
    if mode != "constant":
        return np.ravel(array)[np.pad(idx, pad_width, mode, **kwargs)]
    cv = kwargs.get("constant_values", 0)
    ext = np.concatenate([np.ravel(array), np.zeros(1, dtype=_dtype(_fbase(array)))])
    where = np.pad(idx, pad_width, "constant", constant_values=size)
    border = np.pad(np.zeros(shape, dtype=_dtype(_fbase(array))), pad_width, "constant",
                    constant_values=cv)
    return ext[where] + border


@compose
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """a taken along ``np.argpartition`` of its values: a valid partition (the kth entry in
    sorted position, smaller ones before it, larger after); the order *within* each side
    may differ from np.partition's, which NumPy does not specify either."""
    if order is not None:
        raise TypeError("mcutils: np.partition with order= (structured arrays) has no rule")
    if axis is None:
        a, axis = np.ravel(a), 0
    idx = np.argpartition(_fbase(a), kth, axis=axis, kind=kind)
    return np.take_along_axis(a, idx, axis)


@compose
def select(condlist, choicelist, default=0):
    """np.select as nested np.where, the first true condition winning (conditions are
    read on the values: they carry no derivative)."""
    if len(condlist) != len(choicelist) or not len(condlist):
        return np.select([_fbase(c) for c in condlist], [_fbase(c) for c in choicelist],
                         _fbase(default))                      # NumPy's own error
    out = default
    for c, ch in zip(reversed(condlist), reversed(choicelist), strict=True):
        out = np.where(np.asarray(_fbase(c), dtype=bool), ch, out)
    return out


for _f in (np.hsplit, np.vsplit, np.dsplit, np.rollaxis):
    FUNCTION_RULES[_f] = gather(_f)
FUNCTION_RULES[np.atleast_3d] = atleast_3d
FUNCTION_RULES[np.pad] = pad
FUNCTION_RULES[np.partition] = partition
FUNCTION_RULES[np.select] = select


# ── linear algebra: pseudo-inverse, complex SVD ──
def pinv_rank_check(A, P):
    """Warn when A is rank deficient: the pseudo-inverse is discontinuous there (it jumps
    when a perturbation raises the rank), and the derivative returned is that of the
    constant-rank branch — exact along perturbations that keep the rank."""
    Ab, Pb = _fbase(A), _fbase(P)
    rank = np.real(np.trace(Pb @ Ab, axis1=-2, axis2=-1))
    if np.any(np.round(rank) < min(Ab.shape[-2:])):
        warnings.warn(
            "mcutils: differentiating np.linalg.pinv at a rank-deficient matrix: pinv is not "
            "continuous there; the derivative is that of the constant-rank branch (right for "
            "perturbations that keep the rank)", RuntimeWarning, stacklevel=5)


def _pinv_fn(vals, tans, kw):
    # P = A⁺ (Golub & Pereyra 1973; constant rank):
    #   dP = −P dA P + P Pᴴ dAᴴ (I − A P) + (I − P A) dAᴴ Pᴴ P
    # (with hermitian=True NumPy assumes A = Aᴴ; the formula is the same, and only
    # Hermitian directions dA keep that assumption true)
    A, dA = vals[0], tans[0]
    P = np.linalg.pinv(A, *vals[1:], **kw)
    pinv_rank_check(A, P)
    dAh = _H(dA)
    dP = (-(P @ dA @ P) + P @ (_H(P) @ (dAh - (dAh @ A) @ P))
          + (dAh - P @ (A @ dAh)) @ (_H(P) @ P))
    return P, dP


def _svd_any_fn(vals, tans, kw):
    # Complex A = U S Vᴴ (the real case is _svd_fn's).  With P = Uᴴ dA V:  dσ = Re diag P,
    # Ω_U = UᴴdU = F∘(PS + SPᴴ),  Ω_V = VᴴdV = F∘(SP + PᴴS) − i diag(Im Pᵢᵢ/σᵢ),
    # F_ij = 1/(σⱼ² − σᵢ²) — from P = Ω_U S + dS − S Ω_V with Ω_U, Ω_V skew-Hermitian.
    # The phase of each pair (uᵢ, vᵢ) is NumPy's, arbitrary: this tangent keeps Uᴴ dU with a
    # zero diagonal and puts the phase change Im Pᵢᵢ/σᵢ into vᵢ, so only quantities that do
    # not depend on those phases (U diag(f(σ)) Vᴴ, |U|², singular values) are meaningful.
    A, dA = vals[0], tans[0]
    full, compute_uv, _ = _params(vals[1:], kw, ("full_matrices", True),
                                  ("compute_uv", True), ("hermitian", False))
    if not compute_uv or not (_is_complex(A) or _is_complex(dA)):
        return _svd_fn(vals, tans, kw)
    m, n = _shape(A)[-2:]
    if full and m != n:
        raise TypeError(
            "mcutils differentiates singular *vectors* with full_matrices=False when A is not "
            "square (the extra columns of a full U or V are not determined by A)")
    U, s, Vh, P = _svd_parts(A, dA)
    V, Ph = _H(Vh), _H(P)
    F = eig_gap_inverse(s * s, what="np.linalg.svd (singular vectors)")
    Sr, Sc = s[..., None, :], s[..., :, None]
    ds = np.real(_diag(P))
    Om_U = F * (P * Sr + Sc * Ph)
    Om_V = F * (Sc * P + Ph * Sr) - 1j * (np.imag(_diag(P)) / s)[..., None, :] * np.eye(
        _shape(s)[-1])
    dU = U @ Om_U + (dA @ V - U @ P) / Sr
    dV = V @ Om_V + (_H(dA) @ U - V @ Ph) / Sr
    return _SVDResult(U, s, Vh), (dU, ds, _H(dV))


FUNCTION_RULES[np.linalg.pinv] = frule(_pinv_fn)
FUNCTION_RULES[np.linalg.svd] = frule(_svd_any_fn)


# ── np.gradient and np.linspace (traced endpoints) ──
def _gradient_axis(f, ax, h, edge_order):
    """np.gradient along one axis as a banded linear map: output i mixes at most three
    neighbouring entries (a window starting at i−1, or at i / i−2 on the first / last
    row).  The weights are read off NumPy itself, from np.gradient of the three 0/1 combs
    j ≡ r (mod 3): inside a window of three the residues differ, so comb r at row i is
    exactly the weight of the window's entry with residue r."""
    n = _shape(f)[ax]
    combs = np.stack([np.gradient((np.arange(n) % 3 == r).astype(float), h,
                                  edge_order=edge_order) for r in range(3)])
    i = np.arange(n)
    start = np.where(i == 0, 0, np.where(i == n - 1, -2, -1))
    fm = np.moveaxis(f, ax, -1)
    y = 0.0
    for w in range(3):
        j = i + start + w
        valid = (j >= 0) & (j < n)
        jc = np.clip(j, 0, n - 1)
        y = y + np.where(valid, combs[jc % 3, i], 0.0) * fm[..., jc]
    return np.moveaxis(y, -1, ax)


@compose
def gradient(f, *varargs, axis=None, edge_order=1):
    """np.gradient, linear in f: each axis's difference weights (any spacing or
    coordinates, edge_order 1 or 2) come from NumPy, applied with traced products.
    The spacing arguments are parameters (not differentiated)."""
    _no_tracers(np.gradient, varargs, {})
    shape = _shape(f)
    nd = len(shape)
    np.gradient(np.zeros(shape), *varargs, axis=axis, edge_order=edge_order)   # NumPy's checks
    axes = tuple(range(nd)) if axis is None else tuple(
        int(a) % nd for a in ((axis,) if np.ndim(axis) == 0 else axis))
    if not varargs:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacing = [varargs[0]] * len(axes)
    else:
        spacing = list(varargs)
    out = tuple(_gradient_axis(f, ax, h, edge_order) for ax, h in zip(axes, spacing, strict=True))
    return out[0] if len(out) == 1 else out


@compose
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """np.linspace with traced endpoints, computed the way NumPy computes it
    (start + k·step, the last point set to stop), so the values are NumPy's bit for bit;
    each point is an affine combination of start and stop."""
    _no_tracers(np.linspace, [num], {})
    if dtype is not None and np.dtype(dtype).kind in "biu":       # piecewise constant
        return np.linspace(_fbase(start), _fbase(stop), num, endpoint, retstep, dtype, axis)
    num = int(num)
    if num < 0:
        np.linspace(0.0, 1.0, num)                                  # NumPy's error
    div = (num - 1) if endpoint else num
    delta = stop - start
    nd = np.ndim(_fbase(delta))
    k = np.arange(num, dtype=float).reshape((-1,) + (1,) * nd)
    if div > 0:
        step = delta / div
        if np.any(_fbase(step) == 0):
            y = k / div * delta
        else:
            y = k * step
    else:
        step = np.nan * delta
        y = k * delta
    y = y + start
    if endpoint and num > 1:
        last = (np.arange(num) == num - 1).reshape((-1,) + (1,) * nd)
        y = np.where(last, stop, y)
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    if dtype is not None and np.dtype(dtype).kind == "c":
        y = y + 0j
    return (y, step) if retstep else y


FUNCTION_RULES[np.gradient] = gradient
FUNCTION_RULES[np.linspace] = linspace
