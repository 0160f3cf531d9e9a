"""Rule-table parity (issue 13): every operation with a jvp has a vjp and vice versa, and
the two agree — the dot-product test ⟨ȳ, f'(x)[dx]⟩ = ⟨f'(x)ᵀ[ȳ], dx⟩ on random,
non-symmetric inputs, for every entry of both tables.

The sample inputs live in ONE place, ``SAMPLES`` below (ufuncs: ``UFUNC_DOMAIN``).  An
operation in the tables without a sample fails ``test_every_operation_has_a_sample``.
To add a rule:

* an element-wise ufunc: nothing to do if it is defined on all reals; otherwise add its
  domain to ``UFUNC_DOMAIN`` ("pos", "unit", "big", or a pair for binary ufuncs);
* a function: add ``np.f: (lambda x: <a call of np.f on x>, <sample x>)`` to ``SAMPLES``
  (optionally a third element: the function whose finite differences anchor the test,
  when mcutils' convention differs from NumPy's, as for eigh).
  The call may pass parameters and build other arguments; its output may be an array,
  a tuple (every part is used) or a scalar; pick x where f is differentiable and
  non-symmetric (a symmetric test matrix hides a missing transpose).
"""

import numpy as np
import pytest
import scipy.special as sp

import mcutils as mc
import mcutils.forward_rules as FR
import mcutils.reverse_rules as RR
from mcutils.primitive import Primitive

la = np.linalg
rng = np.random.default_rng(6306)
FR.register_scipy_special()
RR.register_scipy_special()

# Operations that genuinely live in one table only (each reason is a design fact):
ONE_SIDED = {
    # forward mode indexes a Dual in Dual.__getitem__; reverse records x[idx] as this op
    RR.getitem: "reverse",
    # forward mode differentiates mc.expm inside mcutils.forward.expm itself (Fréchet
    # derivative); reverse mode needs the pullback registered in its table
    mc.expm: "reverse",
}


def R(*s):
    return rng.standard_normal(s)


def P(*s):
    return rng.uniform(0.5, 2.0, s)


def C(*s):
    return rng.standard_normal(s) + 1j * rng.standard_normal(s)


def SPD(n):
    B = R(n, n)
    return B @ B.T + n * np.eye(n)


def SYM(n):
    B = R(n, n)
    return B + B.T


def _sym(A):
    return (A + A.T) / 2


def DIST(n):
    """A non-symmetric matrix with well-separated real eigenvalues."""
    Q = la.qr(R(n, n))[0] + 0.3 * R(n, n)
    return Q @ np.diag(np.arange(1.0, n + 1)) @ la.inv(Q)


K = {s: R(*s) for s in [(3, 4), (4, 3), (4,), (3,), (2, 3), (4, 4), (3, 3)]}
IDX = np.array([[0, 2, 1, 0], [1, 1, 0, 2]])

# domains of the element-wise ufuncs that are not defined on all of ℝ
UFUNC_DOMAIN = {
    "log": "pos", "log2": "pos", "log10": "pos", "log1p": "pos", "sqrt": "pos",
    "cbrt": "pos", "reciprocal": "pos", "arcsin": "unit", "arccos": "unit",
    "arctanh": "unit", "arccosh": "big", "power": ("pos", "real"),
    "float_power": ("pos", "real"), "fmod": ("pos", "pos"), "remainder": ("pos", "pos"),
    "divide": ("real", "pos"), "gammaln": "pos",
    "matmul": "matrix", "vecdot": "matrix", "matvec": "matrix", "vecmat": "matrix",
}


def _domain(kind, shape=(3, 4)):
    return {"real": lambda: R(*shape), "pos": lambda: P(*shape),
            "unit": lambda: rng.uniform(-0.8, 0.8, shape),
            "big": lambda: rng.uniform(1.5, 3.0, shape)}[kind]()


# function samples: op -> (f(x) calling op, x)
SAMPLES = {
    np.sum: (lambda x: np.sum(x, axis=1), R(3, 4)),
    np.mean: (lambda x: np.mean(x, axis=0, keepdims=True), R(3, 4)),
    np.prod: (lambda x: np.prod(x, axis=1), P(3, 4)),
    np.max: (lambda x: np.max(x, axis=1), R(3, 4)),
    np.amax: (lambda x: np.amax(x), R(3, 4)),
    np.min: (lambda x: np.min(x, axis=0), R(3, 4)),
    np.amin: (lambda x: np.amin(x), R(3, 4)),
    np.cumsum: (lambda x: np.cumsum(x, axis=1), R(3, 4)),
    np.cumprod: (lambda x: np.cumprod(x, axis=0), P(3, 4)),
    np.std: (lambda x: np.std(x, axis=1, ddof=1), R(3, 4)),
    np.var: (lambda x: np.var(x), R(3, 4)),
    np.clip: (lambda x: np.clip(x, -0.4, 0.5), R(3, 4)),
    np.average: (lambda x: np.average(x, axis=1, weights=np.arange(1.0, 5.0)), R(3, 4)),
    np.diag: (lambda x: np.diag(x, 1), R(4)),
    np.diagonal: (lambda x: np.diagonal(x, 1), R(3, 4)),
    np.trace: (lambda x: np.trace(x, -1), R(4, 3)),
    np.diff: (lambda x: np.diff(x, 2, axis=1), R(3, 5)),
    np.expand_dims: (lambda x: np.expand_dims(x, 1), R(3, 4)),
    np.squeeze: (lambda x: np.squeeze(x, 1), R(3, 1, 4)),
    np.reshape: (lambda x: np.reshape(x, (2, 6), order="F"), R(3, 4)),
    np.ravel: (lambda x: np.ravel(x), R(3, 4)),
    np.transpose: (lambda x: np.transpose(x, (1, 2, 0)), R(2, 3, 4)),
    np.swapaxes: (lambda x: np.swapaxes(x, 0, 2), R(2, 3, 4)),
    np.moveaxis: (lambda x: np.moveaxis(x, 0, -1), R(2, 3, 4)),
    np.rollaxis: (lambda x: np.rollaxis(x, 2), R(2, 3, 4)),
    np.matrix_transpose: (lambda x: np.matrix_transpose(x), R(2, 3, 4)),
    la.matrix_transpose: (lambda x: la.matrix_transpose(x), R(2, 3, 4)),
    np.broadcast_to: (lambda x: np.broadcast_to(x, (3, 4)), R(4)),
    np.broadcast_arrays: (lambda x: np.broadcast_arrays(x, K[(3, 4)]), R(4)),
    np.flip: (lambda x: np.flip(x, 0), R(3, 4)),
    np.fliplr: (lambda x: np.fliplr(x), R(3, 4)),
    np.flipud: (lambda x: np.flipud(x), R(3, 4)),
    np.rot90: (lambda x: np.rot90(x, 3), R(3, 4)),
    np.roll: (lambda x: np.roll(x, 2, axis=1), R(3, 4)),
    np.tile: (lambda x: np.tile(x, (2, 1)), R(3, 4)),
    np.repeat: (lambda x: np.repeat(x, 2, axis=0), R(3, 4)),
    np.take: (lambda x: np.take(x, [3, 0, 3], axis=1), R(3, 4)),
    np.take_along_axis: (lambda x: np.take_along_axis(x, IDX, axis=0), R(3, 4)),
    np.sort: (lambda x: np.sort(x), R(6)),
    np.partition: (lambda x: np.partition(x, 2), R(6)),
    np.tril: (lambda x: np.tril(x, 1), R(3, 4)),
    np.triu: (lambda x: np.triu(x, -1), R(3, 4)),
    np.copy: (lambda x: np.copy(x), R(3, 4)),
    np.real: (lambda x: np.real(x), C(3, 4)),
    np.imag: (lambda x: np.imag(x), C(3, 4)),
    np.angle: (lambda x: np.angle(x), C(3, 4)),
    np.atleast_1d: (lambda x: np.atleast_1d(x), R(1)[0]),
    np.atleast_2d: (lambda x: np.atleast_2d(x), R(4)),
    np.atleast_3d: (lambda x: np.atleast_3d(x), R(3, 4)),
    np.split: (lambda x: np.split(x, 2, axis=1), R(3, 4)),
    np.array_split: (lambda x: np.array_split(x, 3, axis=1), R(3, 4)),
    np.hsplit: (lambda x: np.hsplit(x, 2), R(3, 4)),
    np.vsplit: (lambda x: np.vsplit(x, 2), R(4, 3)),
    np.dsplit: (lambda x: np.dsplit(x, 2), R(2, 3, 4)),
    np.concatenate: (lambda x: np.concatenate([x, K[(3, 4)], x], axis=1), R(3, 4)),
    np.concat: (lambda x: np.concat([x, K[(3, 4)]]), R(3, 4)),
    np.stack: (lambda x: np.stack([x, K[(3, 4)]], axis=1), R(3, 4)),
    np.hstack: (lambda x: np.hstack([x, K[(3, 4)]]), R(3, 4)),
    np.vstack: (lambda x: np.vstack([x, K[(3, 4)]]), R(3, 4)),
    np.dstack: (lambda x: np.dstack([x, K[(3, 4)]]), R(3, 4)),
    np.column_stack: (lambda x: np.column_stack([x, K[(3,)]]), R(3)),
    np.append: (lambda x: np.append(x, K[(3, 4)], axis=0), R(3, 4)),
    np.where: (lambda x: np.where(K[(3, 4)] > 0, x, 2 * x), R(3, 4)),
    np.select: (lambda x: np.select([K[(3, 4)] > 0.5, K[(3, 4)] < -0.5], [x, x * x], 0.3),
                R(3, 4)),
    np.pad: (lambda x: np.pad(x, ((1, 0), (2, 1))), R(3, 4)),
    np.dot: (lambda x: np.dot(x, K[(4, 3)]), R(3, 4)),
    np.vdot: (lambda x: np.vdot(x, K[(3, 4)]), R(3, 4)),
    np.inner: (lambda x: np.inner(x, K[(3, 4)]), R(3, 4)),
    np.outer: (lambda x: np.outer(x, K[(4,)]), R(3)),
    la.outer: (lambda x: la.outer(x, K[(4,)]), R(3)),
    np.kron: (lambda x: np.kron(x, K[(2, 3)]), R(3, 4)),
    np.tensordot: (lambda x: np.tensordot(x, K[(4, 3)], axes=([1], [0])), R(3, 4)),
    np.einsum: (lambda x: np.einsum("ij,kj->ik", x, x), R(3, 4)),
    np.cross: (lambda x: np.cross(x, K[(4, 3)]), R(4, 3)),
    la.multi_dot: (lambda x: la.multi_dot([x, K[(4, 3)], x]), R(3, 4)),
    la.matmul: (lambda x: la.matmul(x, K[(4, 3)]), R(3, 4)),
    np.polyval: (lambda x: np.polyval(x, K[(3,)]), R(4)),
    np.gradient: (lambda x: np.gradient(x, axis=1), R(3, 5)),
    np.linspace: (lambda x: np.linspace(x, 2 * x + 1, 5), R(3)),
    np.nan_to_num: (lambda x: np.nan_to_num(x), R(3, 4)),
    np.real_if_close: (lambda x: np.real_if_close(x), R(3, 4)),
    np.sinc: (lambda x: np.sinc(x), R(3, 4)),
    np.fft.fft: (lambda x: np.fft.fft(x, 6), R(5)),
    np.fft.ifft: (lambda x: np.fft.ifft(x, 4, norm="ortho"), R(5)),
    np.fft.fft2: (lambda x: np.fft.fft2(x), C(3, 4)),
    np.fft.ifft2: (lambda x: np.fft.ifft2(x, (4, 3)), R(3, 4)),
    la.inv: (lambda x: la.inv(x), R(4, 4) + 4 * np.eye(4)),
    la.pinv: (lambda x: la.pinv(x), R(4, 3)),
    la.solve: (lambda x: la.solve(x, K[(4, 3)] @ x[:3, :3]), R(4, 4) + 4 * np.eye(4)),
    la.det: (lambda x: la.det(x), R(4, 4)),
    la.slogdet: (lambda x: la.slogdet(x)[1], R(4, 4)),
    # eigh, eigvalsh, cholesky act on (A + Aᵀ)/2 (mcutils' convention): a non-symmetric x,
    # and finite differences of the explicitly symmetrized function as the anchor
    la.eigh: (lambda x: la.eigh(x)[0], R(4, 4), lambda x: la.eigh(_sym(x))[0]),
    la.eigvalsh: (lambda x: la.eigvalsh(x), R(4, 4), lambda x: la.eigvalsh(_sym(x))),
    la.eig: (lambda x: np.real(la.eig(x)[0]), DIST(4)),
    la.eigvals: (lambda x: np.real(la.eigvals(x)), DIST(4)),
    la.cholesky: (lambda x: la.cholesky(x @ x.T + 4 * np.eye(4) + 0.3 * x), R(4, 4),
                  lambda x: la.cholesky(_sym(x @ x.T + 4 * np.eye(4) + 0.3 * x))),
    la.qr: (lambda x: la.qr(x), R(5, 3)),
    la.svd: (lambda x: la.svd(x, full_matrices=False), R(5, 3)),
    la.svdvals: (lambda x: la.svdvals(x), R(5, 3)),
    la.matrix_power: (lambda x: la.matrix_power(x, 3), R(3, 3)),
    la.norm: (lambda x: la.norm(x, axis=1), R(3, 4)),
    la.vector_norm: (lambda x: la.vector_norm(x, ord=3), R(3, 4)),
    la.matrix_norm: (lambda x: la.matrix_norm(x, ord="nuc"), R(3, 4)),
    la.diagonal: (lambda x: la.diagonal(x, offset=1), R(3, 4)),
    la.trace: (lambda x: la.trace(x), R(2, 3, 3)),
    mc.expm: (lambda x: mc.expm(x), 0.5 * R(3, 3)),
    RR.getitem: (lambda x: x[[0, 2, 0], 1:], R(3, 4)),
}


def _tables():
    """{op: (forward kind, reverse kind)}: kind is "rule", "nondiff" or None (absent).
    The package's own operations only: a student's ``mc.primitive`` (tests in this process
    define some) registers in the same tables, and ``mc.check_rule`` is what tests those."""
    ops = {}
    for table in (FR.UFUNC_RULES, FR.FUNCTION_RULES):
        for op, rule in table.items():
            ops.setdefault(op, [None, None])[0] = "nondiff" if rule is FR.NONDIFF else "rule"
    for op, rule in RR.RULES.items():
        ops.setdefault(op, [None, None])[1] = "nondiff" if rule[0] == "const" else "rule"
    return {op: kinds for op, kinds in ops.items() if not isinstance(op, Primitive)}


def _name(op):
    return f"{getattr(op, '__module__', None) or 'numpy'}.{op.__name__}"


def test_every_operation_is_in_both_tables_with_the_same_kind():
    problems = []
    for op, (fwd, rev) in _tables().items():
        side = ONE_SIDED.get(op)
        if side == "reverse" and fwd is None and rev == "rule":
            continue
        if fwd is None or rev is None:
            problems.append(f"{_name(op)}: only in the {'forward' if rev is None else 'reverse'}"
                            " table")
        elif fwd != rev:
            problems.append(f"{_name(op)}: forward {fwd}, reverse {rev}")
    assert not problems, "rule tables differ:\n  " + "\n  ".join(sorted(problems))


def _differentiable():
    return [op for op, (fwd, rev) in _tables().items() if "rule" in (fwd, rev)]


def test_every_operation_has_a_sample():
    missing = sorted(_name(op) for op in _differentiable()
                     if not isinstance(op, np.ufunc) and op not in SAMPLES)
    assert not missing, ("add a sample input to SAMPLES in tests/test_rule_parity.py for: "
                         + ", ".join(missing))
    # samples for ops no longer in a table are stale
    stale = sorted(_name(op) for op in SAMPLES if op not in _tables())
    assert not stale, f"SAMPLES has entries for operations without rules: {stale}"


def _ufunc_sample(u):
    dom = UFUNC_DOMAIN.get(u.__name__, "real")
    if dom == "matrix":
        if u.__name__ == "matmul":
            return (lambda x: u(x, K[(4, 3)])), R(3, 4)
        if u.__name__ == "vecmat":
            return (lambda x: u(x, K[(4, 4)])), R(3, 4)
        if u.__name__ == "matvec":
            return (lambda x: u(x, K[(4,)])), R(3, 4)
        return (lambda x: u(x, K[(3, 4)])), R(3, 4)
    if u.nin == 1:
        return u, _domain(dom)
    da, db = dom if isinstance(dom, tuple) else (dom, dom)
    b = _domain(db)
    return None, (_domain(da), b)


def _parts(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _dot_test(f, x, name, f_ref=None):
    real_in = not np.iscomplexobj(x)
    dx = R(*np.shape(x)) if real_in else C(*np.shape(x))
    y, dy = mc.jvp(f, x, dx)
    ys, dys = _parts(y), _parts(dy)
    ybars = [R(*np.shape(a)) + (1j * R(*np.shape(a)) if np.iscomplexobj(a) else 0) for a in ys]

    def g(x):                       # ⟨ȳ, f(x)⟩ as one real scalar: Re Σ conj(ȳ)·f(x)
        return sum(np.sum(np.real(np.conj(b) * p)) for b, p in zip(ybars, _parts(f(x)),
                                                                      strict=True))

    lhs = sum(np.real(np.vdot(b, d)) for b, d in zip(ybars, dys, strict=True))
    xbar = mc.grad(g)(x)
    rhs = np.real(np.vdot(xbar, dx))
    assert np.isfinite(lhs) and np.isfinite(rhs)
    assert mc.relerr(lhs, rhs) < 1e-9, f"{name}: ⟨ȳ, jvp⟩ = {lhs!r} but ⟨vjp, dx⟩ = {rhs!r}"
    # the dot-product test compares the modes; one finite difference anchors them
    if f_ref is not None:
        def g(x):                   # noqa: F811  (finite differences of the reference)
            return sum(np.sum(np.real(np.conj(b) * p))
                       for b, p in zip(ybars, _parts(f_ref(x)), strict=True))
    ref = mc.fd.jvp(g, x, dx, method="richardson")
    assert mc.relerr(lhs, ref) < 1e-6, f"{name}: both modes {lhs!r}, finite differences {ref!r}"


def _ids():
    return sorted(_name(op) for op in _differentiable())


_BY_NAME = {}


def _op(name):
    if not _BY_NAME:
        _BY_NAME.update({_name(op): op for op in _differentiable()})
    return _BY_NAME[name]


@pytest.mark.parametrize("name", _ids())
def test_dot_product_test_forward_and_reverse_agree(name):
    op = _op(name)
    if isinstance(op, np.ufunc):
        f, x = _ufunc_sample(op)
        if f is None:               # binary: each argument in turn, the other held fixed
            a, b = x
            _dot_test(lambda a: op(a, b), a, name + " (argument 0)")
            _dot_test(lambda b: op(a, b), b, name + " (argument 1)")
            return
    else:
        if op not in SAMPLES:
            pytest.fail(f"{name} has no sample in SAMPLES (see the module docstring)")
        f, x, *ref = SAMPLES[op]
        return _dot_test(f, x, name, *ref)
    _dot_test(f, x, name)


def test_scipy_special_rules_are_in_both_tables():
    for u in (sp.expit, sp.erf, sp.erfc, sp.gammaln, sp.log_expit):
        assert u in FR.UFUNC_RULES and u in RR.RULES
