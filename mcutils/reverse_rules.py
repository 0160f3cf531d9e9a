"""The table of reverse-mode rules: for each NumPy operation, its pullback.

A rule answers one question: *given the answer and the inputs of an operation, what is
the pullback of its output cotangent?*  If y = f(x) and ȳ is the cotangent of y, the
pullback returns x̄ with ⟨ȳ, f'(x)[dx]⟩ = ⟨x̄, dx⟩ for every dx, i.e. x̄ = f'(x)ᵀ[ȳ].

Reading an entry::

    # d(A⁻¹) = −A⁻¹ dA A⁻¹          ⇒   Ā = −A⁻ᵀ Ȳ A⁻ᵀ
    defvjp(la.inv, lambda g, Y, A: -_mT(Y) @ g @ _mT(Y))

``g`` is the output cotangent ȳ, the second argument is the answer (here Y = A⁻¹), then
come the arguments of the NumPy call.  ``defvjp(f, vjp_0, vjp_1, ...)`` gives one pullback
per argument (only those of traced arguments are run); ``defjoint(f, vjp)`` gives one
function that returns all argument cotangents at once when they share work (``solve``).
``defcomposite`` differentiates a function by running traced NumPy code (``np.var`` is a
mean of squares), ``defconst`` marks results that carry no derivative (``np.argmax``).

Matrix facts the rules encode (each checked against finite differences in the tests):
∇det A is the cofactor matrix, computed from the SVD so it is right for singular A too;
``slogdet`` keeps its LU factors so the pullback A⁻ᵀ needs no second factorization; the
gradients through ``eigh``/``eigvalsh``/``cholesky`` are symmetric: both modes apply these
to the symmetric part (A + Aᴴ)/2 of their input, as JAX does (see ``_sym``), so that
``mc.jvp`` and ``mc.grad`` agree for any direction; the pullback of ``mc.expm`` is the
Fréchet derivative at Aᵀ.

Conventions every rule may rely on:

* Arguments arrive in one canonical form: the engine passes every call through
  :func:`mcutils._core.normalize_call` (keywords of positional-or-keyword parameters become
  positional in NumPy's order, trailing defaults are dropped, ``out=`` raises), so a
  pullback ``vjp(g, ans, x, axis=None, keepdims=False)`` written in NumPy's parameter order
  is right however the user spelled the call.  Ufunc keywords (``dtype=``) are not passed.

* Broadcasting is undone by the engine (:func:`mcutils.reverse.unbroadcast`), so a rule
  for ``x * y`` simply returns ``g * y``, whatever the shapes.
* Rules are written with plain transposes, the **bilinear** form Re Σ x̄·dx, so a rule for
  a holomorphic function reads exactly like the real one (ā = g·f'(a), no conjugates).
  The engine converts to the user-facing Re⟨x̄, dx⟩ convention once, at the ends.
  Non-holomorphic operations (conj, abs, real, imag, eigh of a Hermitian matrix, ...) show
  their conjugates explicitly.
* A rule uses NumPy operators and functions only — no ``float()``, no in-place writes into
  arrays that could hold tracers — because during forward-over-reverse (``mc.hvp``) its
  inputs and ``g`` are :class:`~mcutils.Dual` numbers.
"""

from __future__ import annotations

import string
import warnings

import numpy as np

from . import forward as _forward
from . import forward_rules as _forward_rules
from ._core import Tracer
from .forward_rules import _vector_norm
from .linalg import adjugate

la = np.linalg
RULES: dict = {}


def defvjp(func, *vjps, impl=None):
    """One pullback per argument: ``vjps[i](g, ans, *args, **kwargs)`` returns argument i's
    cotangent.  ``impl(*args, **kwargs) -> (ans, saved)`` replaces ``func`` in the forward
    pass when the pullback wants extra results (then ``saved`` is passed instead of ans)."""
    RULES[func] = ("each", vjps, impl)


def defjoint(func, vjp, impl=None, seq=False):
    """One pullback for all arguments: ``vjp(g, ans, argnums, *args, **kwargs)`` returns a
    list indexed by argument position (entries for argnums are used).  With ``seq=True``
    the function takes a sequence of arrays first (np.stack); the sequence is unpacked."""
    RULES[func] = ("seq" if seq else "joint", vjp, impl)


def defcomposite(func, how):
    """``func`` is differentiated by running ``how`` — ordinary traced NumPy code."""
    RULES[func] = ("composite", how, None)


def defconst(func, how=None):
    """``func``'s result does not depend differentiably on its input (sign, argmax, shape)."""
    RULES[func] = ("const", how or func, None)


# ================================================================= small helpers
def _base(v):
    while isinstance(v, Tracer):
        v = v.value
    return v


def _shape(v):
    return v.shape if isinstance(v, Tracer) else np.shape(v)


def _ndim(v):
    try:
        return v.ndim
    except AttributeError:
        return np.ndim(v)


def _iscomplex(v):
    return np.iscomplexobj(_base(v))


def _mT(x):
    """Transpose of a matrix or of a stack of matrices (last two axes)."""
    return x.T if _ndim(x) == 2 else np.swapaxes(x, -1, -2)


def _conj(x):
    return np.conj(x) if _iscomplex(x) else x


def _eye_like(x):
    return np.eye(_shape(x)[-1])


def _diag_embed(v):
    """Stack of diagonal matrices from a stack of vectors (last axis)."""
    return v[..., None] * np.eye(_shape(v)[-1])


def _scalar_to_matrix(g):
    return g[..., None, None]


def _broadcast(g, shape):
    if isinstance(g, Tracer):
        return g + np.zeros(shape)
    return np.broadcast_to(g, shape)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(int(a) % ndim for a in axis)


def _keep(g, shape, axis, keepdims):
    """Reshape a reduction's cotangent so that it broadcasts against the input."""
    if keepdims or not shape:
        return g
    ax = _axes(axis, len(shape))
    return np.reshape(g, tuple(1 if i in ax else n for i, n in enumerate(shape)))


def _log0(x):
    """log x, with 0 where x = 0 (the ∂/∂y of 0**y is 0 for y > 0)."""
    return np.log(np.where(_base(x) == 0, 1.0, x))


def _sign(x, ans=None):
    """d|x| / dx: sign(x) for real x (0 at 0: a subgradient), conj(x)/|x| for complex."""
    if _iscomplex(x):
        a = np.abs(x) if ans is None else ans
        return np.conj(x) / np.where(_base(a) == 0, 1.0, a)
    return np.sign(x)


def _is_zero(g):
    return g is None or (not isinstance(g, Tracer) and not np.any(g))


def _outer(u, v):
    """uvᵀ for vectors (einsum writes the plain-array case faster than broadcasting)."""
    if type(u) is np.ndarray and type(v) is np.ndarray and u.ndim == v.ndim == 1:
        return np.einsum("i,j->ij", u, v)
    return u[..., :, None] * v[..., None, :]


def _slices(ndim, axis, s):
    idx = [slice(None)] * ndim
    idx[axis] = s
    return tuple(idx)


# ================================================================= elementwise (ufuncs)
# arithmetic
defvjp(np.add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)
defvjp(np.subtract, lambda g, ans, x, y: g, lambda g, ans, x, y: -g)
defvjp(np.multiply, lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x)
defvjp(np.true_divide, lambda g, ans, x, y: g / y,            # d(x/y) = dx/y − x dy/y²
       lambda g, ans, x, y: -g * ans / y)
defvjp(np.negative, lambda g, ans, x: -g)
defvjp(np.positive, lambda g, ans, x: g)
def _dpow(x, y):
    """∂(xʸ)/∂x = y xʸ⁻¹, and 0 where y = 0 (x⁰ = 1 is constant, also at x = 0)."""
    if np.ndim(y) == 0 and not isinstance(y, Tracer):
        return 0.0 * x if y == 0 else y * x ** (y - 1)
    return y * x ** np.where(_base(y) == 0, y, y - 1)


# d(xʸ) = y xʸ⁻¹ dx + xʸ log x dy
defvjp(np.power, lambda g, ans, x, y: g * _dpow(x, y),
       lambda g, ans, x, y: g * ans * _log0(x))
RULES[np.float_power] = RULES[np.power]
defvjp(np.square, lambda g, ans, x: g * 2 * x)
defvjp(np.reciprocal, lambda g, ans, x: -g * ans * ans)       # d(1/x) = −dx/x²
defvjp(np.sqrt, lambda g, ans, x: g / (2 * ans))              # d√x = dx / (2√x)
defvjp(np.cbrt, lambda g, ans, x: g / (3 * ans * ans))
# exponentials and logarithms
defvjp(np.exp, lambda g, ans, x: g * ans)
defvjp(np.exp2, lambda g, ans, x: g * ans * np.log(2.0))
defvjp(np.expm1, lambda g, ans, x: g * (ans + 1))
defvjp(np.log, lambda g, ans, x: g / x)
defvjp(np.log2, lambda g, ans, x: g / (x * np.log(2.0)))
defvjp(np.log10, lambda g, ans, x: g / (x * np.log(10.0)))
defvjp(np.log1p, lambda g, ans, x: g / (1 + x))
defvjp(np.logaddexp, lambda g, ans, x, y: g * np.exp(x - ans),
       lambda g, ans, x, y: g * np.exp(y - ans))
# trigonometric and hyperbolic
defvjp(np.sin, lambda g, ans, x: g * np.cos(x))
defvjp(np.cos, lambda g, ans, x: -g * np.sin(x))
defvjp(np.tan, lambda g, ans, x: g * (1 + ans * ans))         # tan' = 1 + tan²
defvjp(np.arcsin, lambda g, ans, x: g / np.sqrt(1 - x * x))
defvjp(np.arccos, lambda g, ans, x: -g / np.sqrt(1 - x * x))
defvjp(np.arctan, lambda g, ans, x: g / (1 + x * x))
defvjp(np.sinh, lambda g, ans, x: g * np.cosh(x))
defvjp(np.cosh, lambda g, ans, x: g * np.sinh(x))
defvjp(np.tanh, lambda g, ans, x: g * (1 - ans * ans))        # tanh' = 1 − tanh²
defvjp(np.arcsinh, lambda g, ans, x: g / np.sqrt(x * x + 1))
defvjp(np.arccosh, lambda g, ans, x: g / np.sqrt(x * x - 1))
defvjp(np.arctanh, lambda g, ans, x: g / (1 - x * x))
# atan2(y, x) = angle of (x, y):  d = (x dy − y dx) / (x² + y²)
defvjp(np.arctan2, lambda g, ans, y, x: g * x / (x * x + y * y),
       lambda g, ans, y, x: -g * y / (x * x + y * y))
defvjp(np.hypot, lambda g, ans, x, y: g * x / ans, lambda g, ans, x, y: g * y / ans)
# piecewise: the derivative of the branch taken (ties go to the first argument)
defvjp(np.maximum, lambda g, ans, x, y: np.where(_base(x) >= _base(y), g, 0.0),
       lambda g, ans, x, y: np.where(_base(x) >= _base(y), 0.0, g))
defvjp(np.minimum, lambda g, ans, x, y: np.where(_base(x) <= _base(y), g, 0.0),
       lambda g, ans, x, y: np.where(_base(x) <= _base(y), 0.0, g))
RULES[np.fmax], RULES[np.fmin] = RULES[np.maximum], RULES[np.minimum]
defvjp(np.abs, lambda g, ans, x: g * _sign(x, ans))           # subgradient 0 at x = 0
defvjp(np.fabs, lambda g, ans, x: g * np.sign(x))
# complex parts (non-holomorphic: the bilinear-form transposes written out)
defvjp(np.conjugate, lambda g, ans, x: np.conj(g))
defvjp(np.real, lambda g, ans, x: np.real(g))                 # Re(ḡ Re dx) = Re(ḡ dx)
defvjp(np.imag, lambda g, ans, x: -1j * np.real(g))           # Im dx = Re(−i dx)
# zero derivative: computed on the values, the result is a constant
for _f in (np.sign, np.floor, np.ceil, np.trunc, np.rint, np.round, np.isnan, np.isinf,
           np.isfinite, np.signbit, np.greater, np.greater_equal, np.less, np.less_equal,
           np.equal, np.not_equal, np.logical_and, np.logical_or, np.logical_not,
           np.logical_xor, np.floor_divide, np.heaviside,
           np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero,
           np.argwhere, np.flatnonzero, np.isclose, np.allclose, np.array_equal,
           np.count_nonzero, np.zeros_like, np.ones_like, np.empty_like, np.isreal,
           np.iscomplex, np.searchsorted, la.matrix_rank, np.any, np.all, np.unique,
           np.result_type, np.full_like, np.array_equiv, np.iscomplexobj, np.isrealobj,
           np.lexsort):
    defconst(_f)
defconst(np.around)



def register_scipy_special():
    """Rules for scipy.special's ufuncs, registered on first use so that ``import mcutils``
    does not import SciPy (the engine calls this when a rule is missing and
    ``scipy.special`` has been imported by the user)."""
    import sys

    sp = sys.modules.get("scipy.special")
    if sp is None or sp.expit in RULES:
        return False
    defvjp(sp.expit, lambda g, ans, x: g * ans * (1 - ans))       # σ' = σ(1 − σ)
    defvjp(sp.erf, lambda g, ans, x: g * (2 / np.sqrt(np.pi)) * np.exp(-x * x))
    defvjp(sp.erfc, lambda g, ans, x: -g * (2 / np.sqrt(np.pi)) * np.exp(-x * x))
    defvjp(sp.gammaln, lambda g, ans, x: g * sp.digamma(x))
    defvjp(sp.log_expit, lambda g, ans, x: g * (1 - sp.expit(x)))
    return True


# ================================================================= reductions
def _sum_vjp(g, ans, x, axis=None, dtype=None, out=None, keepdims=False, **kw):
    # the adjoint of summing is copying: every entry receives ḡ
    if axis is None and not isinstance(g, Tracer):
        return np.full(_shape(x), g)
    return _broadcast(_keep(g, _shape(x), axis, keepdims), _shape(x))


def _mean_vjp(g, ans, x, axis=None, dtype=None, out=None, keepdims=False, **kw):
    n = np.prod(_shape(x)) / max(np.prod(_shape(ans)), 1)
    return _broadcast(_keep(g, _shape(x), axis, keepdims) / n, _shape(x))


def _prod_vjp(g, ans, x, axis=None, dtype=None, out=None, keepdims=False, **kw):
    # ∂(Π xₖ)/∂xᵢ = Π / xᵢ   (inputs must be nonzero)
    s = _shape(x)
    return _keep(g, s, axis, keepdims) * _keep(ans, s, axis, keepdims) / x


def _extremum_vjp(g, ans, x, axis=None, out=None, keepdims=False, **kw):
    # the cotangent goes to the entries that attain the extremum (shared equally on ties)
    s = _shape(x)
    hit = _base(x) == _base(_keep(ans, s, axis, keepdims))
    return _keep(g, s, axis, keepdims) * (hit / np.sum(hit, axis=axis, keepdims=True))


def _cumsum_vjp(g, ans, x, axis=None, dtype=None, out=None):
    # y_k = Σ_{j≤k} x_j   ⇒   x̄_j = Σ_{k≥j} ȳ_k  (a reversed cumulative sum)
    if axis is None:
        rev = (slice(None, None, -1),)
        return np.reshape(np.cumsum(g[rev])[rev], _shape(x))
    rev = _slices(_ndim(g), axis, slice(None, None, -1))
    return np.cumsum(g[rev], axis=axis)[rev]


defvjp(np.sum, _sum_vjp)
defvjp(np.mean, _mean_vjp)
defvjp(np.prod, _prod_vjp)
for _f in (np.max, np.amax, np.min, np.amin):
    defvjp(_f, _extremum_vjp)
defvjp(np.cumsum, _cumsum_vjp)


def _cumprod_vjp(g, ans, x, axis=None, dtype=None, out=None):
    # y_k = Π_{j≤k} x_j  ⇒  x̄_j = Σ_{k≥j} ȳ_k y_k / x_j   (inputs must be nonzero)
    return np.reshape(_cumsum_vjp(g * ans, ans, x, axis), _shape(x)) / x


defvjp(np.cumprod, _cumprod_vjp)
def _var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    n = np.prod(_shape(x)) / np.prod(np.shape(np.mean(_base(x), axis=axis)))
    d = x - np.mean(x, axis=axis, keepdims=True)
    return np.sum(np.real(d * np.conj(d)), axis=axis, keepdims=keepdims) / (n - ddof)


defcomposite(np.var, _var)
def _sqrt0(v):
    """√v with derivative 0 where v = 0: the std of a single entry (or of equal entries)
    is identically 0 there, and its derivative 0, not ∞·0 = NaN."""
    zero = _base(v) == 0
    return np.where(zero, 0.0 * v, np.sqrt(np.where(zero, 1.0, v)))


defcomposite(np.std, lambda x, axis=None, dtype=None, out=None, ddof=0, keepdims=False:
             _sqrt0(np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)))


# ================================================================= shapes and indexing
def getitem(x, idx):
    """x[idx] as a function (the Box's ``__getitem__`` records this)."""
    return x[idx]


def _is_basic(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               or (isinstance(i, np.ndarray) and i.dtype == bool) for i in items)


def _getitem_vjp(g, ans, x, idx):
    # x[idx] picks entries; its transpose puts the cotangents back (adding on repeats)
    shape = _shape(x)
    if not isinstance(g, Tracer):
        out = np.zeros(shape, dtype=np.result_type(g, _base(x)))
        if _is_basic(idx):
            out[idx] = g
        else:
            np.add.at(out, idx, g)
        return out
    # g is a tracer (forward-over-reverse): express the scatter as gathers, which
    # tracers support.  Position p of x reads g_flat[where[p]], or a zero appended at the
    # end; indices that repeat are handled one round per multiplicity.
    size = int(np.prod(shape))
    pos = np.arange(size).reshape(shape)[idx].ravel()
    gflat = np.concatenate([np.reshape(g, (-1,)), np.zeros(1)])
    order = np.arange(pos.size)
    total = np.zeros(size)
    while pos.size:
        where = np.full(size, gflat.shape[0] - 1)
        uniq, first = np.unique(pos, return_index=True)
        where[uniq] = order[first]
        total = total + gflat[where]
        keep = np.ones(pos.size, bool)
        keep[first] = False
        pos, order = pos[keep], order[keep]
    return np.reshape(total, shape)


defvjp(getitem, _getitem_vjp)
defvjp(np.reshape, lambda g, ans, x, shape=None, order="C", *a, **k:
       np.reshape(g, _shape(x), order=order))
defvjp(np.ravel, lambda g, ans, x, order="C": np.reshape(g, _shape(x), order=order))
for _f in (np.squeeze, np.expand_dims, np.atleast_1d, np.atleast_2d):
    defvjp(_f, lambda g, ans, x, *a, **k: np.reshape(g, _shape(x)))
defvjp(np.broadcast_to, lambda g, ans, x, *a, **k: g)        # the engine sums it back
defvjp(np.transpose, lambda g, ans, x, axes=None: np.transpose(
    g, None if axes is None else np.argsort([a % _ndim(x) for a in axes])))
defvjp(np.swapaxes, lambda g, ans, x, a, b: np.swapaxes(g, a, b))
defvjp(np.moveaxis, lambda g, ans, x, src, dst: np.moveaxis(g, dst, src))
defvjp(np.flip, lambda g, ans, x, axis=None: np.flip(g, axis))
defcomposite(np.copy, lambda x, *a, **k: x)
defcomposite(np.matrix_transpose, lambda x: np.swapaxes(x, -1, -2))
defcomposite(la.matrix_transpose, lambda x: np.swapaxes(x, -1, -2))
defvjp(np.tril, lambda g, ans, x, k=0: np.tril(g, k))
defvjp(np.triu, lambda g, ans, x, k=0: np.triu(g, k))
defvjp(np.where, None, lambda g, ans, c, x, y: np.where(c, g, 0.0),
       lambda g, ans, c, x, y: np.where(c, 0.0, g))


def _clip_vjp(g, ans, x, lo=None, hi=None, *a, **k):
    inside = np.ones(_shape(x), bool)
    if lo is not None:
        inside = inside & (_base(x) >= _base(lo))
    if hi is not None:
        inside = inside & (_base(x) <= _base(hi))
    return np.where(inside, g, 0.0)


defvjp(np.clip, _clip_vjp)


def _concatenate_vjp(g, ans, argnums, *xs, axis=0, **kw):
    if axis is None:
        g, axis = np.reshape(g, (-1,)), 0
        xs_sizes = [int(np.prod(_shape(x))) for x in xs]
    else:
        axis = axis % _ndim(g)
        xs_sizes = [_shape(x)[axis] for x in xs]
    out, start = [], 0
    for x, n in zip(xs, xs_sizes, strict=False):
        part = g[_slices(_ndim(g), axis, slice(start, start + n))]
        out.append(np.reshape(part, _shape(x)))
        start += n
    return out


def _stack_vjp(g, ans, argnums, *xs, axis=0, **kw):
    axis = axis % _ndim(g)
    return [g[_slices(_ndim(g), axis, i)] for i in range(len(xs))]


defjoint(np.concatenate, _concatenate_vjp, seq=True,
         impl=lambda *xs, **kw: ((a := np.concatenate(xs, **kw)), a))
defjoint(np.stack, _stack_vjp, seq=True, impl=lambda *xs, **kw: ((a := np.stack(xs, **kw)), a))
defcomposite(np.hstack, lambda tup, **kw: np.concatenate(
    [np.atleast_1d(t) for t in tup], axis=0 if all(_ndim(t) <= 1 for t in tup) else 1))
defcomposite(np.vstack, lambda tup, **kw: np.concatenate([np.atleast_2d(t) for t in tup], 0))
defcomposite(np.append, lambda a, b, axis=None: np.concatenate(
    [np.ravel(a), np.ravel(b)] if axis is None else [a, b], axis=0 if axis is None else axis))


def _diff(x, n=1, axis=-1, **kw):
    for _ in range(n):
        ax = axis % _ndim(x)
        x = x[_slices(_ndim(x), ax, slice(1, None))] - x[_slices(_ndim(x), ax, slice(None, -1))]
    return x


def _roll(x, shift, axis=None):
    if axis is None:
        return np.reshape(_roll(np.ravel(x), shift, 0), _shape(x))
    ax = axis % _ndim(x)
    k = int(shift) % _shape(x)[ax]
    if k == 0:
        return x
    nd = _ndim(x)
    return np.concatenate([x[_slices(nd, ax, slice(-k, None))],
                           x[_slices(nd, ax, slice(None, -k))]], axis=ax)


def _sort(x, axis=-1, **kw):
    if _ndim(x) != 1 and axis is not None:
        raise TypeError("mcutils reverse mode sorts 1-D arrays only (np.sort of a traced "
                        f"array of shape {_shape(x)}); sort along a loop of rows instead")
    x = np.ravel(x)
    return x[np.argsort(_base(x), kind="stable")]


defcomposite(np.diff, _diff)
defcomposite(np.roll, _roll)
defcomposite(np.sort, _sort)


def _place_diagonal(g, shape, offset=0, axis1=0, axis2=1):
    """Transpose of np.diagonal: a zero array of ``shape`` with ``g`` on that diagonal."""
    nd = len(shape)
    a1, a2 = axis1 % nd, axis2 % nd
    m, n = shape[a1], shape[a2]
    d = _shape(g)[-1]
    batch = _shape(g)[:-1]
    if offset >= 0:          # entries (i, i + offset): pad g to m along its last axis
        col = np.concatenate([g, np.zeros(batch + (m - d,))], axis=-1)[..., :, None]
    else:                    # entries (i − offset, i): pad g to n
        col = np.concatenate([g, np.zeros(batch + (n - d,))], axis=-1)[..., None, :]
    out = col * np.eye(m, n, k=offset)
    return np.moveaxis(out, (-2, -1), (a1, a2))


def _diag_vjp(g, ans, v, k=0):
    if _ndim(v) == 1:        # np.diag builds a matrix from v: read v back off the diagonal
        return np.diagonal(g, k)
    return _place_diagonal(g, _shape(v), k)


defvjp(np.diag, _diag_vjp)
defvjp(np.diagonal, lambda g, ans, x, offset=0, axis1=0, axis2=1:
       _place_diagonal(g, _shape(x), offset, axis1, axis2))
defcomposite(la.diagonal, lambda x, offset=0: np.diagonal(x, offset, -2, -1))


def _take_vjp(g, ans, a, indices, axis=None, out=None, mode="raise"):
    # take picks entries (along axis); its transpose scatters ḡ back, adding on repeats
    if mode != "raise":
        raise TypeError("mcutils reverse mode differentiates np.take with mode='raise' only")
    if axis is None:
        return np.reshape(_getitem_vjp(g, None, np.ravel(a), (np.asarray(indices),)), _shape(a))
    ax = axis % _ndim(a)
    return _getitem_vjp(g, None, a, _slices(_ndim(a), ax, np.asarray(indices)))


defvjp(np.take, _take_vjp)
defcomposite(np.dstack, lambda tup: np.concatenate([np.atleast_3d(t) if _ndim(t) < 3 else t
                                                    for t in tup], axis=2))
defcomposite(np.broadcast_arrays, lambda *args, subok=False: tuple(
    np.broadcast_to(a, np.broadcast_shapes(*[_shape(b) for b in args])) for a in args))


def _polyval(p, x):
    # Horner: ((p₀ x + p₁) x + p₂) …
    y = 0.0 * x
    for k in range(_shape(p)[0]):
        y = y * x + p[k]
    return y


defcomposite(np.polyval, _polyval)


# Σ wᵢaᵢ / Σ wᵢ: the same traced composite as forward mode (forward_rules._average)
defcomposite(np.average, _forward_rules._average)


def _fft_fit(g, shape, axes):
    """Crop or zero-pad g along ``axes`` to ``shape`` (the transpose of NumPy's n=/s=)."""
    for ax in axes:
        ax = ax % len(shape)
        m, k = shape[ax], _shape(g)[ax]
        if k > m:
            g = g[_slices(_ndim(g), ax, slice(0, m))]
        elif k < m:
            pad = list(_shape(g))
            pad[ax] = m - k
            g = np.concatenate([g, np.zeros(tuple(pad))], axis=ax)
    return g


# The DFT matrix is symmetric (Fᵀ = F), so in the bilinear form the transpose of
# x ↦ fft(x) is ḡ ↦ fft(ḡ) with the same normalisation, cropped/padded back to x's length.
defvjp(np.fft.fft, lambda g, ans, a, n=None, axis=-1, norm=None, out=None:
       _fft_fit(np.fft.fft(g, None, axis, norm), _shape(a), (axis,)))
defvjp(np.fft.ifft, lambda g, ans, a, n=None, axis=-1, norm=None, out=None:
       _fft_fit(np.fft.ifft(g, None, axis, norm), _shape(a), (axis,)))
defvjp(np.fft.fft2, lambda g, ans, a, s=None, axes=(-2, -1), norm=None, out=None:
       _fft_fit(np.fft.fft2(g, None, axes, norm), _shape(a), axes))
defvjp(np.fft.ifft2, lambda g, ans, a, s=None, axes=(-2, -1), norm=None, out=None:
       _fft_fit(np.fft.ifft2(g, None, axes, norm), _shape(a), axes))


# ================================================================= products
def _matmul_vjp(g, ans, argnums, A, B):
    # C = AB:  Ā = C̄ Bᵀ,  B̄ = Aᵀ C̄   (1-D operands are promoted as NumPy does)
    out = [None, None]
    na, nb = _ndim(A), _ndim(B)
    if na == 1 and nb == 1:
        return [g * B, g * A]
    if na == 1:
        if 0 in argnums:
            out[0] = B @ g if nb == 2 else (B @ g[..., None])[..., 0]
        if 1 in argnums:
            out[1] = _outer(A, g)
    elif nb == 1:
        if 0 in argnums:
            out[0] = _outer(g, B)
        if 1 in argnums:
            out[1] = g @ A if na == 2 else (g[..., None, :] @ A)[..., 0, :]
    else:
        if 0 in argnums:
            out[0] = g @ _mT(B)
        if 1 in argnums:
            out[1] = _mT(A) @ g
    return out


defjoint(np.matmul, _matmul_vjp)
defcomposite(la.matmul, np.matmul)


def _dot(a, b, out=None):
    if _ndim(a) == 0 or _ndim(b) == 0:
        return a * b
    if _ndim(a) <= 2 and _ndim(b) <= 2:
        return a @ b
    return np.tensordot(a, b, axes=([_ndim(a) - 1], [max(_ndim(b) - 2, 0)]))


defcomposite(np.dot, _dot)
defcomposite(np.vdot, lambda a, b: np.sum(np.conj(np.ravel(a)) * np.ravel(b)))
defcomposite(np.inner, lambda a, b: a * b if 0 in (_ndim(a), _ndim(b))
             else np.tensordot(a, b, axes=([-1], [-1])))
defcomposite(la.multi_dot, lambda arrays, **kw: _multi_dot(arrays))
defcomposite(la.outer, lambda a, b: np.outer(a, b))


def _multi_dot(arrays):
    out = arrays[0]
    for a in arrays[1:]:
        out = out @ a
    return out


def _tensordot(a, b, axes=2):
    na, nb = _ndim(a), _ndim(b)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    ax_a, ax_b = [i % na for i in ax_a], [i % nb for i in ax_b]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(ax_a, ax_b, strict=False):
        sb[j] = sa[i]
    so = [c for i, c in enumerate(sa) if i not in ax_a] + [c for j, c in enumerate(sb)
                                                          if j not in ax_b]
    return np.einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(so)}", a, b)


defcomposite(np.tensordot, _tensordot)


def _outer_vjp(g, ans, argnums, a, b, out=None):
    # (abᵀ)ᵢⱼ = aᵢbⱼ:  ā = Ḡ b,  b̄ = Ḡᵀ a
    ra, rb = np.ravel(a), np.ravel(b)
    return [np.reshape(g @ rb, _shape(a)) if 0 in argnums else None,
            np.reshape(ra @ g, _shape(b)) if 1 in argnums else None]


defjoint(np.outer, _outer_vjp)


def _kron_vjp(g, ans, argnums, a, b):
    # kron(a, b)[(i,p), (j,q)] = a_ij b_pq: view Ḡ as a 4-index array and contract
    if _ndim(a) > 2 or _ndim(b) > 2:
        raise TypeError("mcutils reverse mode differentiates np.kron of 1-D and 2-D arrays")
    sa = _shape(a) if _ndim(a) == 2 else (1,) + _shape(a)
    sb = _shape(b) if _ndim(b) == 2 else (1,) + _shape(b)
    G = np.reshape(g, (sa[0], sb[0], sa[1], sb[1]))
    out = [None, None]
    if 0 in argnums:
        out[0] = np.reshape(np.einsum("ipjq,pq->ij", G, np.reshape(b, sb)), _shape(a))
    if 1 in argnums:
        out[1] = np.reshape(np.einsum("ipjq,ij->pq", G, np.reshape(a, sa)), _shape(b))
    return out


defjoint(np.kron, _kron_vjp)


def _trace_vjp(g, ans, x, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    # tr X = ⟨I, X⟩  ⇒  X̄ = ḡ I   (on the chosen axes)
    s = _shape(x)
    if len(s) == 2:
        return g * np.eye(s[0], s[1], k=offset)
    G = np.reshape(g, _shape(g) + (1, 1)) * np.eye(s[axis1], s[axis2], k=offset)
    return np.moveaxis(G, (-2, -1), (axis1 % len(s), axis2 % len(s)))


defvjp(np.trace, _trace_vjp)
defcomposite(la.trace, lambda x, offset=0, dtype=None: np.trace(x, offset, -2, -1))


def _parse_einsum(subs, ops):
    """Explicit subscripts for each operand and the output, with '...' spelled out."""
    subs = subs.replace(" ", "")
    ins, arrow, out = subs.partition("->")
    ins = ins.split(",")
    if len(ins) != len(ops):
        raise ValueError("einsum: number of subscripts and operands differ")
    free = iter(c for c in string.ascii_letters if c not in subs)
    nell = max((_ndim(o) - len(s.replace("...", ""))
                for s, o in zip(ins, ops, strict=True) if "..." in s), default=0)
    ell = "".join(next(free) for _ in range(nell))
    ins = [s.replace("...", ell[nell - (_ndim(o) - len(s.replace("...", ""))):])
           for s, o in zip(ins, ops, strict=False)]
    if arrow:
        out = out.replace("...", ell)
    else:
        counts = {c: "".join(ins).count(c) for c in "".join(ins)}
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return ins, out


def _einsum_vjp(g, ans, argnums, subs, *ops, **kw):
    # y = einsum(..., x_k, ...) is linear in x_k: its transpose is another einsum of ȳ with
    # the other operands.  Letters repeated in x_k (a diagonal) get an identity factor;
    # letters summed over only inside x_k get a vector of ones (a broadcast).
    ins, out = _parse_einsum(subs, ops)
    sizes = {}
    for s, o in zip(ins, ops, strict=False):
        for c, n in zip(s, _shape(o), strict=False):
            sizes[c] = max(sizes.get(c, 1), n)
    free = iter(c for c in string.ascii_letters if c not in "".join(ins) + out)
    res = [None] * (len(ops) + 1)
    for i in argnums:
        if i == 0:
            continue
        k = i - 1
        target, extra_subs, extra_ops = "", [], []
        for c in ins[k]:
            if c in target:                       # repeated letter: δ(c, c')
                c2 = next(free)
                extra_subs.append(c + c2)
                extra_ops.append(np.eye(sizes[c]))
                c = c2
            target += c
        others = [(s, o) for j, (s, o) in enumerate(zip(ins, ops, strict=False)) if j != k]
        have = out + "".join(s for s, _ in others) + "".join(extra_subs)
        for c in dict.fromkeys(ins[k]):
            if c not in have:                     # summed only inside x_k: broadcast
                extra_subs.append(c)
                extra_ops.append(np.ones(sizes[c]))
        expr = ",".join([out] + [s for s, _ in others] + extra_subs) + "->" + target
        res[i] = np.einsum(expr, g, *[o for _, o in others], *extra_ops)
    return res


defjoint(np.einsum, _einsum_vjp)


# ================================================================= linear algebra
# d(A⁻¹) = −A⁻¹ dA A⁻¹   ⇒   Ā = −A⁻ᵀ Ȳ A⁻ᵀ
defvjp(la.inv, lambda g, Y, A: -_mT(Y) @ g @ _mT(Y))


def _solve_vjp(g, x, argnums, A, b):
    # x = A⁻¹b:  b̄ = A⁻ᵀ x̄,  Ā = −b̄ xᵀ   (one transposed solve serves both)
    if _ndim(b) == 1:
        bbar = la.solve(_mT(A), g) if _ndim(A) == 2 else la.solve(_mT(A), g[..., None])[..., 0]
        Abar = -(bbar[..., :, None] * x[..., None, :]) if 0 in argnums else None
    else:
        bbar = la.solve(_mT(A), g)
        Abar = -(bbar @ _mT(x)) if 0 in argnums else None
    return [Abar, bbar]


defjoint(la.solve, _solve_vjp)


def cofactor(A):
    """The cofactor matrix C = adj(A)ᵀ, the gradient of det A — from the SVD
    (:func:`mcutils.linalg.adjugate`), so it is right also when A is singular."""
    return _mT(adjugate(A))


def _det_vjp(g, d, A):
    # d det A = tr(adj(A) dA)  ⇒  Ā = ḡ · adj(A)ᵀ, the cofactor matrix (= det(A) A⁻ᵀ if A⁻¹
    # exists).  Plain arrays use the SVD formula (singular A too); tracers use det·A⁻ᵀ.
    if isinstance(A, Tracer):
        return _scalar_to_matrix(g * d) * _mT(la.inv(A))
    return _scalar_to_matrix(g) * cofactor(A)


defvjp(la.det, _det_vjp)


_SlogdetResult = type(la.slogdet(np.eye(1)))


def _slogdet_impl(A):
    """slogdet through one LU factorization that the pullback reuses for A⁻ᵀ."""
    import scipy.linalg.lapack as lapack

    if isinstance(A, Tracer) or A.ndim != 2 or A.shape[0] == 0 or A.dtype.char not in "fdFD":
        res = la.slogdet(A)
        return res, (res, None)
    getrf, = lapack.get_lapack_funcs(("getrf",), (A,))
    lu, piv, info = getrf(A)
    if info > 0:                       # exactly singular: fall back
        res = la.slogdet(A)
        return res, (res, None)
    u = np.diagonal(lu)
    au = np.abs(u)
    swaps = np.count_nonzero(piv != np.arange(len(piv)))
    sign = (-1.0) ** swaps * (np.prod(u / au) if np.iscomplexobj(u) else np.prod(np.sign(u)))
    res = _SlogdetResult(sign, np.sum(np.log(au)))
    return res, (res, (lu, piv))


def _inv_T_from_lu(lu, piv):
    """A⁻ᵀ from the LU factors of A (LAPACK getri: ~4/3 n³ flops, no new factorization)."""
    import scipy.linalg.lapack as lapack

    getri, = lapack.get_lapack_funcs(("getri",), (lu,))
    inv, info = getri(lu, piv, lwork=64 * lu.shape[0])
    return inv.T


def _slogdet_vjp(g, saved, A):
    # d log|det A| = Re tr(A⁻¹ dA)  ⇒  Ā = ḡ A⁻ᵀ  (A⁻¹ from the forward pass's LU factors)
    (sign, _), lu = saved
    gs, gl = g
    Ainv_T = _inv_T_from_lu(*lu) if lu is not None else _mT(la.inv(A))
    out = 0.0
    if gl is not None:
        out = _scalar_to_matrix(gl) * Ainv_T
    if gs is not None and _iscomplex(A):
        # sign = e^{iθ}, dθ = Im tr(A⁻¹dA): d sign = i·sign·Im tr(A⁻¹ dA)
        c = np.real(1j * gs * sign)
        out = out - 1j * _scalar_to_matrix(c) * Ainv_T
    return out


defvjp(la.slogdet, _slogdet_vjp, impl=_slogdet_impl)


def _eig_gap_inverse(w, warn, what="eigenvectors at a repeated eigenvalue"):
    """F_ij = 1/(w_j − w_i) off the diagonal; 0 on it and where eigenvalues coincide."""
    wb = _base(w)
    d = wb[..., None, :] - wb[..., :, None]
    scale = np.max(np.abs(wb), axis=-1, keepdims=True)[..., None] + np.finfo(float).tiny
    close = np.abs(d) <= 1e3 * np.finfo(float).eps * scale
    offdiag_close = close & ~np.eye(wb.shape[-1], dtype=bool)
    if warn and np.any(offdiag_close):
        warnings.warn(
            f"differentiating {what}: they are not unique "
            "there, and the derivative ignores the repeated pair (correct only for functions "
            "of the whole eigenspace)", RuntimeWarning, stacklevel=6)
    dd = (w[..., None, :] - w[..., :, None]) if isinstance(w, Tracer) else d
    return np.where(close, 0.0, 1.0 / np.where(close, 1.0, dd))


def _sym(A):
    """(A + Aᴴ)/2.  eigh, eigvalsh and cholesky are functions of symmetric (Hermitian)
    matrices: both modes apply them to the symmetric part of A, as JAX does (for a
    symmetric A nothing changes), so the gradient is symmetric and the forward-mode jvp
    along any dA equals ⟨∇, dA⟩.  See mcutils.forward_rules._sym."""
    return (A + _mT(_conj(A))) / 2


def _eigh_impl(A, UPLO="L"):
    res = la.eigh(_sym(A))
    return res, res


def _eigh_vjp(g, ans, A, UPLO="L"):
    # A = Q diag(w) Qᴴ:  dwᵢ = qᵢᴴ dA qᵢ,  dQ = Q (F ∘ QᴴdAQ), F_ij = 1/(w_j − w_i).
    # Ā = Q (diag(w̄) + F ∘ Qᴴ Q̄) Qᴴ, made Hermitian (the gradient w.r.t. a symmetric A).
    gw, gQ = g
    w, Q = ans
    cplx = _iscomplex(Q)
    mid = 0.0
    if gw is not None:
        mid = _diag_embed(gw)
    if not _is_zero(gQ):
        F = _eig_gap_inverse(w, warn=True)
        mid = mid + F * (_mT(Q) @ gQ if not cplx else np.conj(_mT(Q) @ gQ))
    if _is_zero(gw) and _is_zero(gQ):
        return np.zeros(_shape(A))
    Qh = _mT(np.conj(Q)) if cplx else _mT(Q)
    Abar = Q @ mid @ Qh
    Abar = (Abar + (_mT(np.conj(Abar)) if cplx else _mT(Abar))) / 2
    return np.conj(Abar) if cplx else Abar


def _eigvalsh_impl(A, UPLO="L"):
    w, Q = la.eigh(_sym(A))
    return w, (w, Q)


def _eigvalsh_vjp(g, saved, A, UPLO="L"):
    # Hellmann–Feynman: ∇wᵢ = qᵢqᵢᴴ
    w, Q = saved
    return (_conj(Q) * g[..., None, :]) @ _mT(Q)


defvjp(la.eigh, _eigh_vjp, impl=_eigh_impl)
defvjp(la.eigvalsh, _eigvalsh_vjp, impl=_eigvalsh_impl)


def _real_only(name, A):
    if _iscomplex(A):
        raise TypeError(f"mcutils reverse mode differentiates np.linalg.{name} of real "
                        "matrices only")


def _cholesky_vjp(g, L, A, upper=False):
    # A = LLᵀ: L⁻¹dA L⁻ᵀ = L⁻¹dL + (L⁻¹dL)ᵀ with L⁻¹dL lower triangular, so
    # dL = L Φ(L⁻¹dA L⁻ᵀ), Φ(X) = tril(X) − ½diag(X); its adjoint gives
    # Ā = L⁻ᵀ sym(Φ(Lᵀ L̄)) L⁻¹   (symmetric: the gradient w.r.t. a symmetric A)
    _real_only("cholesky", A)
    if upper:
        L, g = _mT(L), _mT(g)
    P = _mT(L) @ g
    P = np.tril(P) - 0.5 * P * _eye_like(P)
    P = (P + _mT(P)) / 2
    Lt = _mT(L)
    return _mT(la.solve(Lt, _mT(la.solve(Lt, P))))


defvjp(la.cholesky, _cholesky_vjp,
       impl=lambda A, upper=False: (a := la.cholesky(_sym(A), upper=upper), a))


def _qr_vjp(g, ans, A, mode="reduced"):
    # A = QR (m ≥ n, reduced): with M = R R̄ᵀ − Q̄ᵀQ and copyltu(M) the symmetric matrix
    # built from M's lower triangle,  Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ.
    _real_only("qr", A)
    if mode != "reduced" or _shape(A)[-2] < _shape(A)[-1]:
        raise TypeError("mcutils reverse mode differentiates np.linalg.qr(A) with "
                        "mode='reduced' and A tall or square (m ≥ n)")
    gQ, gR = g
    Q, Rm = ans
    M = 0.0
    if gR is not None:
        M = Rm @ _mT(gR)
    if gQ is not None:
        M = M - _mT(gQ) @ Q
    else:
        gQ = 0.0
    low = np.tril(M, -1)
    sym = low + _mT(low) + M * _eye_like(Rm)
    X = gQ + Q @ sym
    return _mT(la.solve(Rm, _mT(X)))


defvjp(la.qr, _qr_vjp)


def _svd_impl(A, full_matrices=True, compute_uv=True, hermitian=False):
    if compute_uv:
        res = la.svd(A, full_matrices=full_matrices)
        return res, res
    res = la.svd(A, full_matrices=False)
    return res.S, res


def _svd_vjp(g, saved, A, full_matrices=True, compute_uv=True, hermitian=False):
    # dσᵢ = Re uᵢᴴ dA vᵢ  ⇒  Ā = U diag(σ̄) Vᴴ.  Vector terms (real, reduced SVD):
    # Ā += U[(F∘(UᵀŪ − ŪᵀU))S + S(F∘(VᵀV̄ − V̄ᵀV))]Vᵀ + (I − UUᵀ)ŪS⁻¹Vᵀ + US⁻¹V̄ᵀ(I − VVᵀ),
    # F_ij = 1/(σⱼ² − σᵢ²).
    U, s, Vh = saved
    if compute_uv:
        gU, gs, gVh = g
    else:
        gU, gs, gVh = None, g, None
    k = _shape(s)[-1]
    U, Vh = U[..., :, :k], Vh[..., :k, :]
    out = 0.0
    if gs is not None:
        out = (np.conj(U) * gs[..., None, :]) @ np.conj(Vh)
    if _is_zero(gU) and _is_zero(gVh):
        return out
    _real_only("svd (singular vectors)", A)
    m, n = _shape(A)[-2:]
    if full_matrices and m != n:
        raise TypeError("differentiating singular vectors needs "
                        "np.linalg.svd(A, full_matrices=False)")
    V = _mT(Vh)
    F = _eig_gap_inverse(s * s, warn=True, what="singular vectors at a repeated singular value")
    S = _diag_embed(s)
    inner = 0.0
    extra = 0.0
    sinv = 1.0 / s
    if not _is_zero(gU):
        gU = gU[..., :, :k]
        J = F * (_mT(U) @ gU - _mT(gU) @ U)
        inner = inner + J @ S
        if m > k:
            extra = extra + (gU - U @ (_mT(U) @ gU)) * sinv[..., None, :] @ Vh
    if not _is_zero(gVh):
        gV = _mT(gVh[..., :k, :])
        K = F * (_mT(V) @ gV - _mT(gV) @ V)
        inner = inner + S @ K
        if n > k:
            extra = extra + (U * sinv[..., None, :]) @ (_mT(gV) - (_mT(gV) @ V) @ Vh)
    return out + U @ inner @ Vh + extra


defvjp(la.svd, _svd_vjp, impl=_svd_impl)
defcomposite(la.svdvals, lambda x: la.svd(x, compute_uv=False))


def _norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    s = _shape(x)
    nd = len(s)
    matrix = (axis is None and nd == 2 and ord is not None) or (
        isinstance(axis, tuple) and len(axis) == 2)
    if ord in ("nuc", 2) and matrix:
        if axis not in (None, (-2, -1), (nd - 2, nd - 1)):
            raise TypeError("mcutils reverse mode differentiates matrix norms over the "
                            "last two axes only")
        U, sv, Vh = la.svd(x, full_matrices=False)
        if ord == "nuc":           # ‖A‖_* = Σσᵢ  ⇒  ∇ = U Vᴴ
            G = U @ Vh
        else:                      # ‖A‖₂ = σ₁  ⇒  ∇ = u₁v₁ᴴ
            G = U[..., :, :1] @ Vh[..., :1, :]
        return _scalar_to_matrix(g) * _conj(G)
    if matrix and ord not in (None, "fro"):
        raise TypeError(f"mcutils reverse mode has no rule for the matrix norm ord={ord!r}; "
                        "supported: 'fro', 'nuc', 2")
    if ord in ("fro",):
        ord = None
    gk = _keep(g, s, axis, keepdims)
    nk = _keep(ans, s, axis, keepdims)
    safe = np.where(_base(nk) == 0, 1.0, nk)
    if ord is None or ord == 2:    # ‖x‖₂:  ∇ = x / ‖x‖   (0 at x = 0, a subgradient)
        return gk * _conj(x) / safe
    if ord in (np.inf, -np.inf):   # the largest (smallest) |xᵢ|, shared on ties
        ax = np.abs(_base(x))
        hit = ax == _base(nk)
        return gk * _sign(x) * hit / np.sum(hit, axis=axis, keepdims=True)
    p = float(ord)                 # ‖x‖_p:  ∂/∂xᵢ = sign(xᵢ)|xᵢ|^(p−1) / ‖x‖^(p−1)
    return gk * _sign(x) * (np.abs(x) / safe) ** (p - 1)


defvjp(la.norm, _norm_vjp)
defcomposite(la.vector_norm, lambda x, axis=None, keepdims=False, ord=2:
             _vector_norm(x, axis, keepdims, ord))    # the same traced code as forward mode
defcomposite(la.matrix_norm, lambda x, keepdims=False, ord="fro":
             la.norm(x, ord, (-2, -1), keepdims))


def _matrix_power_vjp(g, ans, A, k):
    # d(Aᵏ) = Σⱼ Aʲ dA Aᵏ⁻¹⁻ʲ  ⇒  Ā = Σⱼ (Aᵀ)ʲ Ḡ (Aᵀ)ᵏ⁻¹⁻ʲ;  negative k through A⁻¹
    if k == 0:
        return 0.0 * g
    if k < 0:
        B = la.inv(A)
        Bbar = _matrix_power_vjp(g, ans, B, -k)
        return -_mT(B) @ Bbar @ _mT(B)
    powers = [None] * k
    P = _eye_like(A) + 0.0 * A
    for j in range(k):
        powers[j] = _mT(P)
        P = P @ A
    out = 0.0
    for j in range(k):
        out = out + powers[j] @ g @ powers[k - 1 - j]
    return out


defvjp(la.matrix_power, _matrix_power_vjp)


# ================================================================= matrix exponential
def expm_vjp(g, E, A):
    """Pullback of E = exp(A).

    The derivative is the Fréchet derivative L(A, dA) = ∫₀¹ e^{sA} dA e^{(1−s)A} ds.  Its
    adjoint under ⟨X, Y⟩ = tr(XᵀY) moves each exponential to the other side, transposed:
    ⟨Ḡ, L(A, dA)⟩ = ⟨∫₀¹ e^{sAᵀ} Ḡ e^{(1−s)Aᵀ} ds, dA⟩ — which is L(Aᵀ, Ḡ) again.  So the
    pullback is the Fréchet derivative at Aᵀ applied to the cotangent.
    """
    if isinstance(A, Tracer) or isinstance(g, Tracer):
        # tracers: L(X, Y) is the top-right block of exp([[X, Y], [0, X]])
        from .forward import expm as _expm

        n = _shape(A)[-1]
        At = _mT(A)
        top = np.concatenate([At, g + 0.0 * At], axis=-1)
        bottom = np.concatenate([np.zeros(_shape(At)), At], axis=-1)
        return _expm(np.concatenate([top, bottom], axis=-2))[..., :n, n:]
    from scipy.linalg import expm_frechet

    if A.ndim == 2:
        return expm_frechet(A.T, g, compute_expm=False)
    return np.stack([expm_vjp(gi, None, Ai) for gi, Ai in zip(g, A, strict=True)])


# mc.expm (mcutils.forward.expm) hands traced arguments to their tracer's
# __array_function__, so registering it here makes mc.expm work on Boxes.
defvjp(_forward.expm, expm_vjp)



# ═════════════════ rules added for issue 13 (functions that had no rule) ═════════════════
# Each rule here has its forward-mode twin in the section of the same name at the end of
# mcutils/forward_rules.py; tests/test_new_rules.py checks both against finite
# differences and against each other (⟨ȳ, f'(x)[dx]⟩ = ⟨f'(x)ᵀ[ȳ], dx⟩).  Where a function
# can be written as traced NumPy code, the same Python function is registered in both
# tables (``defcomposite`` here, ``compose`` there): it is then differentiable to any order.
# The conventions (eig normalisation, complex SVD phases, pinv at deficient rank, pad
# modes) are listed at the head of that section in forward_rules.py.
from . import forward_rules as _fr  # noqa: E402


def _eig_vjp(g, ans, A):
    # The forward rule (forward_rules._eig_fn) is the linear map
    #   dA ↦ P = X⁻¹dA X ↦ (dλ = diag P,  D0 = X(F∘P) ↦ D1 = D0 − X Re(xᴴD0) ↦ D1 + iθX),
    # θⱼ = −Im(D1[kⱼ, j])/x_kj.  Its transpose in the bilinear form Re Σ ȳ·dy, step by step
    # from the end:  D̄1 = X̄ − i·e_k Im(Σᵢ X̄ᵢⱼXᵢⱼ)/x_kj,  D̄0 = D̄1 − conj(X) Re(Σᵢ D̄1ᵢⱼXᵢⱼ),
    # P̄ = diag(λ̄) + F∘(XᵀD̄0),  Ā = X⁻ᵀ P̄ Xᵀ.
    gw, gX = g
    w, X = ans
    if _is_zero(gw) and _is_zero(gX):
        return np.zeros(_shape(A))
    Pbar = 0.0
    if not _is_zero(gX):
        D1bar = gX
        cplx = _iscomplex(X)
        if cplx:
            mask = _fr.eig_largest(X)
            xk = np.real(np.sum(mask * X, axis=-2))
            t = np.sum(gX * X, axis=-2)
            D1bar = gX - 1j * mask * (np.imag(t) / xk)[..., None, :]
        t1 = np.sum(D1bar * X, axis=-2)
        D0bar = D1bar - (np.conj(X) if cplx else X) * np.real(t1)[..., None, :]
        Pbar = _fr.eig_gap_inverse(w) * (_mT(X) @ D0bar)
    else:
        _fr.eig_gap_inverse(w)          # the same warning at a repeated eigenvalue
    if not _is_zero(gw):
        Pbar = Pbar + _diag_embed(gw)
    return la.solve(_mT(X), Pbar @ _mT(X))


def _eigvals_impl(A):
    return la.eigvals(A), la.eig(A)


defvjp(la.eig, _eig_vjp)
defvjp(la.eigvals, lambda g, saved, A: _eig_vjp((g, None), saved, A), impl=_eigvals_impl)


# ── element-wise: angle units, remainder, logaddexp2, sinc, nan_to_num, angle ──
_DEG = 180 / np.pi
defvjp(np.degrees, lambda g, ans, x: g * _DEG)
defvjp(np.rad2deg, lambda g, ans, x: g * _DEG)
defvjp(np.radians, lambda g, ans, x: g / _DEG)
defvjp(np.deg2rad, lambda g, ans, x: g / _DEG)
# x mod y = x − y⌊x/y⌋ (⌊x/y⌋ piecewise constant);  fmod: the same with trunc
defvjp(np.remainder, lambda g, ans, x, y: g,
       lambda g, ans, x, y: -g * np.floor_divide(_base(x), _base(y)))
defvjp(np.fmod, lambda g, ans, x, y: g, lambda g, ans, x, y: -g * np.trunc(_base(x) / _base(y)))
# d log₂(2ᵃ + 2ᵇ) = (2ᵃ da + 2ᵇ db)/(2ᵃ + 2ᵇ)
defvjp(np.logaddexp2, lambda g, ans, x, y: g * np.exp2(x - ans),
       lambda g, ans, x, y: g * np.exp2(y - ans))
# written as traced NumPy in forward_rules (the same code serves both modes)
defcomposite(np.sinc, _fr.sinc)
defcomposite(np.nan_to_num, _fr.nan_to_num)
defcomposite(np.real_if_close, _fr.real_if_close)
defcomposite(np.angle, _fr._angle)


# ── selections and rearrangements: one gather each (see forward_rules.gather) ──
for _f in (np.repeat, np.tile, np.flipud, np.fliplr, np.rot90, np.rollaxis, np.split,
           np.array_split, np.hsplit, np.vsplit, np.dsplit, np.take_along_axis):
    defcomposite(_f, _fr.gather(_f))
defcomposite(np.atleast_3d, _fr.atleast_3d)
defcomposite(np.pad, _fr.pad)
defcomposite(np.partition, _fr.partition)
defcomposite(np.select, _fr.select)
defcomposite(np.column_stack, lambda tup: np.concatenate(
    [np.reshape(t, (-1, 1)) if _ndim(t) < 2 else t for t in tup], axis=1))


def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    # a × b component by component (a 2-vector has a zero third component)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        return np.cross(_base(a), _base(b))               # NumPy's error message
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2] if na == 3 else 0.0
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2] if nb == 3 else 0.0
    if na == nb == 2:
        return a0 * b1 - a1 * b0
    c = np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return np.moveaxis(c, -1, axisc)


defcomposite(np.cross, _cross)


def _sort_any_axis(a, axis=-1, kind=None, order=None, stable=None):
    # sorting permutes entries: a taken along argsort of its values (ties: stable order)
    if order is not None:
        raise TypeError("mcutils: np.sort with order= (structured arrays) has no rule")
    if axis is None:
        a, axis = np.ravel(a), 0
    return np.take_along_axis(a, np.argsort(_base(a), axis=axis, kind="stable"), axis)


defcomposite(np.sort, _sort_any_axis)        # replaces the 1-D-only composite above


# ── linear algebra: pseudo-inverse, complex SVD, matrix norms over any axes, einsum in
#    its interleaved form, kron with a scalar ──
def _pinv_vjp(g, P, A, *args, **kw):
    # transpose of dP = −P dA P + P Pᴴ dAᴴ (I − AP) + (I − PA) dAᴴ Pᴴ P  (bilinear form;
    # the dAᴴ terms are not holomorphic and carry their conjugates):
    #   Ā = −Pᵀ Ḡ Pᵀ + conj((I − AP) Ḡᵀ P Pᴴ + PᴴP Ḡᵀ (I − PA))
    _fr.pinv_rank_check(A, P)
    Ph, Gt = _mT(_conj(P)), _mT(g)
    herm = ((Gt - A @ (P @ Gt)) @ (P @ Ph)) + ((Ph @ P) @ (Gt - (Gt @ P) @ A))
    return -(_mT(P) @ g @ _mT(P)) + _conj(herm)


defvjp(la.pinv, _pinv_vjp)

_svd_vjp_real = _svd_vjp


def _svd_vjp_any(g, saved, A, full_matrices=True, compute_uv=True, hermitian=False):
    # Complex A (the real case is _svd_vjp_real's): the transpose of forward_rules.
    # _svd_any_fn, derived in the real inner product Re tr(Xᴴ·) from cotangents
    # Ū = conj(ḡ_U), V̄ = ḡ_Vhᵀ:  Ω̄_U = UᴴŪ, Ω̄_V = VᴴV̄, X_U = F∘Ω̄_U, X_V = F∘Ω̄_V,
    #   P̄ = diag(σ̄) + (X_U + X_Uᴴ)S + S(X_V + X_Vᴴ) − i diag(Im(Ω̄_V)ᵢᵢ/σᵢ),
    #   Ā = U P̄ Vᴴ + (I − UUᴴ) Ū S⁻¹ Vᴴ + U S⁻¹ V̄ᴴ (I − VVᴴ),
    # returned conjugated (the rules' bilinear form).
    if compute_uv:
        gU, gs, gVh = g
    else:
        gU, gs, gVh = None, g, None
    if not _iscomplex(A) or (_is_zero(gU) and _is_zero(gVh)):
        return _svd_vjp_real(g, saved, A, full_matrices, compute_uv, hermitian)
    U, s, Vh = saved
    m, n = _shape(A)[-2:]
    if full_matrices and m != n:
        raise TypeError("differentiating singular vectors needs "
                        "np.linalg.svd(A, full_matrices=False)")
    k = _shape(s)[-1]
    U, Vh = U[..., :, :k], Vh[..., :k, :]
    V = _mT(np.conj(Vh))
    Uh = _mT(np.conj(U))
    F = _fr.eig_gap_inverse(s * s, what="np.linalg.svd (singular vectors)")
    Sr, Sc = s[..., None, :], s[..., :, None]
    Pbar = 0.0 if _is_zero(gs) else _diag_embed(np.real(gs))
    out = 0.0
    if not _is_zero(gU):
        Ub = np.conj(gU[..., :, :k])
        XU = F * (Uh @ Ub)
        Pbar = Pbar + (XU + _mT(np.conj(XU))) * Sr
        out = out + (Ub - U @ (Uh @ Ub)) / Sr @ Vh
    if not _is_zero(gVh):
        Vb = _mT(gVh[..., :k, :])
        Om = _mT(np.conj(V)) @ Vb
        XV = F * Om
        Pbar = Pbar + Sc * (XV + _mT(np.conj(XV))) - 1j * _diag_embed(
            np.imag(np.diagonal(Om, 0, -2, -1)) / s)
        Vbh = _mT(np.conj(Vb))
        out = out + (U / Sr) @ (Vbh - (Vbh @ V) @ Vh)
    return np.conj(U @ Pbar @ Vh + out)


defvjp(la.svd, _svd_vjp_any, impl=_svd_impl)

_norm_vjp_last_axes = _norm_vjp


def _norm_vjp_any(g, ans, x, ord=None, axis=None, keepdims=False):
    # spectral norms ('nuc' = Σσᵢ, 2 = σ₁, −2 = σ_min) over any pair of axes: move the pair
    # last.  ∇‖A‖_* = U Vᴴ, ∇σ₁ = u₁v₁ᴴ, ∇σ_min = u_k v_kᴴ  (conjugated: bilinear form)
    nd = _ndim(x)
    matrix = (axis is None and nd == 2) or (isinstance(axis, (tuple, list)) and len(axis) == 2)
    if not (matrix and isinstance(ord, (str, int, float)) and ord in ("nuc", 2, -2)):
        return _norm_vjp_last_axes(g, ans, x, ord, axis, keepdims)
    ax = tuple(int(a) % nd for a in axis) if axis is not None else (nd - 2, nd - 1)
    if ax[0] == ax[1]:
        return np.linalg.norm(_base(x), ord, axis)            # NumPy's error
    U, _, Vh = la.svd(np.moveaxis(x, ax, (-2, -1)), full_matrices=False)
    if ord == 2:
        U, Vh = U[..., :, :1], Vh[..., :1, :]
    elif ord == -2:
        U, Vh = U[..., :, -1:], Vh[..., -1:, :]
    gm = np.squeeze(g, ax) if keepdims else g
    return np.moveaxis(_scalar_to_matrix(gm) * _conj(U @ Vh), (-2, -1), ax)


defvjp(la.norm, _norm_vjp_any)


def interleaved_einsum(args):
    """einsum(a, [0, 1], b, [1, 2], [0, 2]) as ("AB,BC->AC", [a, b]); labels are NumPy's
    (0–25 → 'A'–'Z', 26–51 → 'a'–'z'), so the implicit output order is NumPy's too."""
    def label(i):
        if i is Ellipsis:
            return "..."
        i = int(i)
        return chr(ord("A") + i) if i < 26 else chr(ord("a") + i - 26)

    ops = list(args[0:len(args) - len(args) % 2:2])
    subs = ",".join("".join(label(i) for i in sub) for sub in args[1::2][:len(ops)])
    if len(args) % 2:
        subs += "->" + "".join(label(i) for i in args[-1])
    return subs, ops


_einsum_vjp_str = _einsum_vjp


def _einsum_vjp_any(g, ans, argnums, *args, **kw):
    if isinstance(args[0], str):
        return _einsum_vjp_str(g, ans, argnums, *args, **kw)
    subs, ops = interleaved_einsum(args)        # operand k sits at position 2k
    res = _einsum_vjp_str(g, ans, [1 + i // 2 for i in argnums], subs, *ops, **kw)
    out = [None] * len(args)
    for i in argnums:
        out[i] = res[1 + i // 2]
    return out


defjoint(np.einsum, _einsum_vjp_any)

_kron_vjp_arrays = _kron_vjp


def _kron_vjp_any(g, ans, argnums, a, b):
    # a scalar operand: kron(a, B) = a·B (the engine sums the broadcast cotangent back)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return [g * b, g * a]
    return _kron_vjp_arrays(g, ans, argnums, a, b)


defjoint(np.kron, _kron_vjp_any)


# ── np.gradient and np.linspace (traced endpoints), traced NumPy in forward_rules ──
defcomposite(np.gradient, _fr.gradient)
defcomposite(np.linspace, _fr.linspace)


# ── vector/matrix products of NumPy ≥ 2 (vecdot and vecmat conjugate their first argument) ──
# vecdot: y = Σₖ conj(aₖ) bₖ   ⇒  ā = conj(ḡ b),  b̄ = ḡ conj(a)
defvjp(np.vecdot, lambda g, ans, a, b: _conj(g[..., None] * b),
       lambda g, ans, a, b: g[..., None] * _conj(a))
if hasattr(np, "matvec"):
    # matvec: yᵢ = Σⱼ Aᵢⱼ xⱼ  ⇒  Āᵢⱼ = ḡᵢ xⱼ,  x̄ = Aᵀ ḡ
    defvjp(np.matvec, lambda g, ans, A, x: g[..., :, None] * x[..., None, :],
           lambda g, ans, A, x: np.matvec(_mT(A), g))
    # vecmat: yⱼ = Σᵢ conj(xᵢ) Aᵢⱼ  ⇒  x̄ = conj(A ḡ),  Āᵢⱼ = conj(xᵢ) ḡⱼ
    defvjp(np.vecmat, lambda g, ans, x, A: _conj(np.matvec(A, g)),
           lambda g, ans, x, A: _conj(x)[..., :, None] * g[..., None, :])
