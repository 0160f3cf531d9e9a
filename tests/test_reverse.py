"""Reverse mode (mcutils.reverse): every rule against finite differences, nesting, tapes,
conventions and error messages."""

import warnings

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mcutils as mc
from mcutils.reverse_rules import cofactor

rng = np.random.default_rng(5)
la = np.linalg


def R(*shape):
    return rng.standard_normal(shape)


def P(*shape):          # positive entries
    return rng.uniform(0.5, 2.0, shape)


def U(*shape):          # entries in (−0.8, 0.8)
    return rng.uniform(-0.8, 0.8, shape)


def spd(n, batch=()):
    X = rng.standard_normal(batch + (n, n))
    return X @ np.swapaxes(X, -1, -2) + n * np.eye(n)


def C(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def check(f, x, rtol=1e-6, **kw):
    """mc.grad(f)(x) agrees with finite differences (Richardson) along random directions."""
    g = mc.grad(f)(x)
    assert np.shape(g) == np.shape(x)
    mc.check_gradient(f, g, x, rtol=rtol, **kw).assert_ok()
    return g


_consts = {}


def K(*shape):
    """A fixed random array of this shape: a constant inside a function under test."""
    if shape not in _consts:
        _consts[shape] = np.random.default_rng(sum(shape) * 31 + len(shape)).standard_normal(shape)
    return _consts[shape]


def KC(*shape):
    return K(*shape) + 1j * K(*shape[::-1]).T.reshape(shape)


def sym(X):
    return (X + np.swapaxes(X, -1, -2)) / 2


# --------------------------------------------------------------------- elementwise
W34 = R(3, 4)
UNARY = {
    "sin": (np.sin, R), "cos": (np.cos, R), "tan": (np.tan, U), "exp": (np.exp, R),
    "exp2": (np.exp2, R), "expm1": (np.expm1, R), "log": (np.log, P), "log2": (np.log2, P),
    "log10": (np.log10, P), "log1p": (np.log1p, P), "sqrt": (np.sqrt, P), "cbrt": (np.cbrt, P),
    "square": (np.square, R), "reciprocal": (np.reciprocal, P), "arcsin": (np.arcsin, U),
    "arccos": (np.arccos, U), "arctan": (np.arctan, R), "sinh": (np.sinh, R),
    "cosh": (np.cosh, R), "tanh": (np.tanh, R), "arcsinh": (np.arcsinh, R),
    "arccosh": (lambda x: np.arccosh(1 + x), P), "arctanh": (np.arctanh, U),
    "abs": (np.abs, R), "fabs": (np.fabs, R), "negative": (np.negative, R),
    "positive": (np.positive, R), "conj": (np.conj, R), "real": (np.real, R),
    "expit": (sp.expit, R), "erf": (sp.erf, R), "erfc": (sp.erfc, R),
    "gammaln": (sp.gammaln, P), "log_expit": (sp.log_expit, R),
    "pow_scalar": (lambda x: x ** 3, R), "pow_half": (lambda x: x ** 0.5, P),
    "rpow": (lambda x: 2.0 ** x, R), "abs_op": (abs, R), "neg_op": (lambda x: -x, R),
    "rdiv": (lambda x: 1.0 / x, P),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_elementwise_vjp_matches_finite_differences(name):
    func, sample = UNARY[name]
    check(lambda x: np.sum(W34 * func(x)), sample(3, 4))


BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "power": np.power, "arctan2": np.arctan2, "hypot": np.hypot, "maximum": np.maximum,
    "minimum": np.minimum, "logaddexp": np.logaddexp, "fmax": np.fmax,
    "op_add": lambda a, b: a + b, "op_sub": lambda a, b: a - b, "op_mul": lambda a, b: a * b,
    "op_div": lambda a, b: a / b, "op_pow": lambda a, b: a ** b,
}
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3), ())]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_vjp_undoes_broadcasting(name, shapes):
    func = BINARY[name]
    a, b = P(*shapes[0]), P(*shapes[1])
    w = R(*np.broadcast_shapes(*shapes))
    check(lambda a: np.sum(w * func(a, b)), a)
    check(lambda b: np.sum(w * func(a, b)), b)
    ga, gb = mc.grad(lambda a, b: np.sum(w * func(a, b)), argnum=(0, 1))(a, b)
    assert ga.shape == a.shape and gb.shape == b.shape


# --------------------------------------------------------------------- reductions, shapes
X34 = R(3, 4)
X234 = R(2, 3, 4)
SHAPE_OPS = {
    "sum": (lambda x: np.sum(x ** 2), X34),
    "sum_axis0": (lambda x: np.sum(W34[0] * np.sum(x, axis=0) ** 2), X34),
    "sum_axis1_keep": (lambda x: np.sum(W34[:, :1] * x.sum(axis=1, keepdims=True) ** 2), X34),
    "sum_axes": (lambda x: np.sum(np.sin(np.sum(x, axis=(0, 2)))), X234),
    "mean": (lambda x: np.mean(x, axis=1) @ np.arange(3.0), X34),
    "mean_all": (lambda x: x.mean() ** 2, X34),
    "prod": (lambda x: np.sum(np.prod(x, axis=0)), P(3, 4)),
    "max": (lambda x: np.sum(W34[0] * np.max(x, axis=0)), X34),
    "min": (lambda x: np.min(x) ** 2, X34),
    "amax_keep": (lambda x: np.sum(np.amax(x, axis=1, keepdims=True) ** 2), X34),
    "cumsum": (lambda x: np.sum(W34 * np.cumsum(x, axis=1)), X34),
    "cumsum_flat": (lambda x: np.sum(W34.ravel() * np.cumsum(x)), X34),
    "cumprod": (lambda x: np.sum(W34 * np.cumprod(x, axis=1)), P(3, 4)),
    "cumprod_flat": (lambda x: np.sum(W34.ravel() * np.cumprod(x)), P(3, 4)),
    "var": (lambda x: np.sum(np.var(x, axis=0)), X34),
    "std": (lambda x: np.std(x, ddof=1), X34),
    "reshape": (lambda x: np.sum(W34.reshape(4, 3) * np.sin(x.reshape(4, 3))), X34),
    "reshape_F": (lambda x: np.sum(np.arange(12.0) * np.reshape(x, -1, order="F")), X34),
    "ravel": (lambda x: np.ravel(x) @ np.arange(12.0), X34),
    "transpose": (lambda x: np.sum(W34.T * np.sin(x.T)), X34),
    "transpose_axes": (lambda x: np.sum(X234.transpose(2, 0, 1) * np.transpose(x, (2, 0, 1))
                                        ** 2), X234),
    "swapaxes": (lambda x: np.sum(np.sin(np.swapaxes(x, 0, 2)) * X234.T), X234),
    "moveaxis": (lambda x: np.sum(np.moveaxis(x, 0, -1) ** 3), X234),
    "squeeze": (lambda x: np.sum(np.squeeze(x) ** 2 * W34), R(3, 1, 4)),
    "expand_dims": (lambda x: np.sum(np.expand_dims(x, 1) ** 2), X34),
    "broadcast_to": (lambda x: np.sum(W34 * np.broadcast_to(x, (3, 4)) ** 2), R(4)),
    "flip": (lambda x: np.sum(W34 * np.flip(x, 1) ** 2), X34),
    "tril": (lambda x: np.sum(np.tril(x, 1) ** 2 * W34), X34),
    "triu": (lambda x: np.sum(np.triu(x) ** 3), X34),
    "where": (lambda x: np.sum(np.where(W34 > 0, x ** 2, np.sin(x))), X34),
    "clip": (lambda x: np.sum(np.clip(x, -0.5, 0.5) * W34), X34),
    "concatenate": (lambda x: np.sum(np.concatenate([x, x ** 2], axis=1) ** 2), X34),
    "concatenate_none": (lambda x: np.sum(np.concatenate([x, W34], axis=None) ** 3), X34),
    "stack": (lambda x: np.sum(np.stack([x, np.sin(x)], 1) * np.arange(2.0)[:, None]), X34),
    "hstack": (lambda x: np.sum(np.hstack([x, x]) ** 2), R(5)),
    "vstack": (lambda x: np.sum(np.vstack([x, 2 * x]) ** 3), X34),
    "append": (lambda x: np.sum(np.append(x, x[:2]) ** 2), R(5)),
    "diff": (lambda x: np.sum(np.diff(x, 2) ** 2), R(7)),
    "diff_axis0": (lambda x: np.sum(np.diff(x, axis=0) ** 2), X34),
    "roll": (lambda x: np.sum(np.roll(x, 2) * np.arange(7.0)), R(7)),
    "sort": (lambda x: np.sort(x) @ np.arange(7.0), R(7)),
    "diag_build": (lambda x: np.sum(np.diag(x, 1) * K(5, 5)), R(4)),
    "diag_read": (lambda x: np.sum(np.diag(x, -1) ** 2), X34),
    "diagonal": (lambda x: np.sum(np.diagonal(x, 1) ** 2), X34),
    "diagonal_3d": (lambda x: np.sum(np.diagonal(x, 0, 1, 2) ** 3), X234),
    "trace": (lambda x: np.trace(x @ x.T), X34),
    "trace_offset": (lambda x: np.trace(x, 1) ** 2, X34),
    "trace_3d": (lambda x: np.sum(np.trace(x, 0, 1, 2) ** 2), X234),
    "linalg_trace": (lambda x: np.sum(np.linalg.trace(x) ** 2), R(2, 3, 3)),
    "getitem_basic": (lambda x: np.sum(x[1:, ::2] ** 2) + x[0, 0] * x[2, 3], X34),
    "getitem_fancy": (lambda x: np.sum(x[[0, 0, 2], [1, 1, 3]] ** 2), X34),
    "getitem_mask": (lambda x: np.sum(x[W34 > 0] ** 3), X34),
    "getitem_newaxis": (lambda x: np.sum(x[:, None, :] * x[None, :, :]), X34),
    "iterate": (lambda x: sum(row @ row for row in x), X34),
    "copy": (lambda x: np.sum(np.copy(x) ** 2), X34),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_reduction_and_shape_vjp_matches_finite_differences(name):
    f, x = SHAPE_OPS[name]
    check(f, x.copy())


# --------------------------------------------------------------------- products
A34, B42, v4, v3 = R(3, 4), R(4, 2), R(4), R(3)
PRODUCTS = {
    "matmul": (lambda x: np.sum(np.sin(x @ B42)), A34),
    "matmul_right": (lambda x: np.sum(np.sin(A34 @ x)), B42),
    "matvec": (lambda x: np.sum(np.tanh(A34 @ x)), v4),
    "matvec_A": (lambda x: np.sum(np.tanh(x @ v4)), A34),
    "vecmat": (lambda x: np.sum(np.sin(x @ A34)), v3),
    "vecmat_A": (lambda x: np.sum(np.sin(v3 @ x)), A34),
    "vecvec": (lambda x: (x @ v4) ** 2, R(4)),
    "batched": (lambda x: np.sum(np.sin(x @ B42)), R(2, 3, 4)),
    "batched_B": (lambda x: np.sum(np.sin(K(2, 1, 3, 4) @ x)), R(5, 4, 2)),
    "batched_vec": (lambda x: np.sum((K(2, 3, 4) @ x) ** 2), R(4)),
    "vec_batched": (lambda x: np.sum((x @ K(2, 3, 4)) ** 2), R(3)),
    "batched_vec_A": (lambda x: np.sum((x @ v4) ** 2), R(2, 3, 4)),
    "dot": (lambda x: np.sum(np.dot(x, B42) ** 2), A34),
    "dot_3d": (lambda x: np.sum(np.dot(x, K(3, 4, 2)) ** 2), R(2, 4)),
    "dot_scalar": (lambda x: np.sum(np.dot(2.0, x) ** 2), v4),
    "inner": (lambda x: np.inner(x, v4) ** 2, R(4)),
    "inner_2d": (lambda x: np.sum(np.inner(x, A34) ** 2), R(2, 4)),
    "outer": (lambda x: np.sum(np.outer(x, v3) * W34.T), R(4)),
    "outer_2": (lambda x: np.sum(np.outer(v3, x) ** 2), R(2, 2)),
    "vdot": (lambda x: np.vdot(x, A34) ** 2, R(3, 4)),
    "kron": (lambda x: np.sum(np.kron(x, B42) * K(12, 8)), A34),
    "kron_right": (lambda x: np.sum(np.kron(A34, x) ** 2), B42),
    "kron_1d": (lambda x: np.sum(np.kron(x, v3) * K(12)), R(4)),
    "tensordot": (lambda x: np.sum(np.tensordot(x, K(4, 3, 5), axes=([2, 1], [0, 1])) ** 2),
                  R(2, 3, 4)),
    "multi_dot": (lambda x: np.sum(np.linalg.multi_dot([A34, x, K(2, 3)]) ** 2), B42),
    "einsum_mm": (lambda x: np.sum(np.einsum("ij,jk->ik", x, B42) ** 2), A34),
    "einsum_trace": (lambda x: np.einsum("ii->", x) ** 2, R(3, 3)),
    "einsum_diag": (lambda x: np.sum(np.einsum("ii->i", x) ** 3), R(3, 3)),
    "einsum_sum": (lambda x: np.einsum("ij->", np.sin(x)), A34),
    "einsum_rowdot": (lambda x: np.sum(np.einsum("ij,ij->i", x, x) ** 2), A34),
    "einsum_implicit": (lambda x: np.sum(np.einsum("ij,jk", x, B42) ** 2), A34),
    "einsum_ellipsis": (lambda x: np.sum(np.einsum("...ij,jk->...ik", x, B42) ** 2),
                        R(2, 3, 4)),
    "einsum_bilinear": (lambda x: np.einsum("i,ij,j", x, A34, v4), R(3)),
    "einsum_broadcast_only_in_x": (lambda x: np.sum(np.einsum("ij,k->ik", x, v4) ** 2), A34),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_product_vjp_matches_finite_differences(name):
    f, x = PRODUCTS[name]
    check(f, x.copy())


# --------------------------------------------------------------------- linear algebra
M3, M5, Mb = R(3, 3) + 3 * np.eye(3), R(5, 5), R(2, 4, 4)
LINALG = {
    "inv": (lambda A: np.sum(W34[:3, :3] * la.inv(A)), M3),
    "inv_batched": (lambda A: np.sum(la.inv(A) ** 2), Mb),
    "inv_1x1": (lambda A: la.inv(A)[0, 0], R(1, 1)),
    "solve_A": (lambda A: np.sum(la.solve(A, v3) ** 2), M3),
    "solve_b": (lambda b: np.sum(la.solve(M3, b) ** 2), v3),
    "solve_A_matrix_rhs": (lambda A: np.sum(np.sin(la.solve(A, K(3, 2)))), M3),
    "solve_B_matrix_rhs": (lambda B: np.sum(np.sin(la.solve(M3, B))), R(3, 2)),
    "solve_batched_A": (lambda A: np.sum(la.solve(A, K(4)) ** 2), Mb),
    "solve_batched_b": (lambda b: np.sum(la.solve(Mb, b) ** 2), R(4)),
    "det": (lambda A: la.det(A), M5),
    "det_1x1": (lambda A: la.det(A) ** 2, R(1, 1)),
    "det_batched": (lambda A: np.sum(la.det(A) ** 2), Mb),
    "slogdet": (lambda A: la.slogdet(A)[1], M5),
    "slogdet_named": (lambda A: la.slogdet(A).logabsdet * 2, spd(4)),
    "slogdet_batched": (lambda A: np.sum(la.slogdet(A)[1]), Mb),
    "eigvalsh": (lambda A: np.sum(K(4) * la.eigvalsh(sym(A))), R(4, 4)),
    "eigh_values": (lambda A: la.eigh(sym(A))[0] @ np.arange(4.0), R(4, 4)),
    "eigh_vectors": (lambda A: np.sum(W34[:, :3] @ (la.eigh(sym(A))[1] * np.arange(3.0))
                                      @ la.eigh(sym(A))[1].T), R(3, 3)),
    "eigh_batched": (lambda A: np.sum(la.eigh(sym(A)).eigenvalues ** 3), Mb),
    "cholesky": (lambda X: np.sum(W34[:3, :3] * la.cholesky(X @ X.T + 3 * np.eye(3))), R(3, 3)),
    "cholesky_batched": (lambda X: np.sum(la.cholesky(X @ np.swapaxes(X, 1, 2)
                                                      + 4 * np.eye(4)) ** 2), Mb),
    "qr_R": (lambda A: np.sum(np.abs(la.qr(A)[1]) * K(3, 3)), R(5, 3)),
    "qr_Q": (lambda A: np.sum(la.qr(A)[0] * la.qr(A)[0][:, :1] * K(5, 1)), R(5, 3)),
    "qr_square": (lambda A: np.sum(np.sin(la.qr(A).Q @ la.qr(A).R ** 2)), R(3, 3)),
    "svd_values_wide": (lambda A: np.sum(K(3) * la.svd(A, compute_uv=False)), R(3, 5)),
    "svd_values_tall": (lambda A: la.svd(A)[1] @ np.arange(3.0), R(5, 3)),
    "svdvals": (lambda A: np.sum(la.svdvals(A) ** 3), R(4, 2)),
    "svd_vectors_tall": (lambda A: np.sum(W34[:, :3].T[:3] * (
        (lambda u, s, vh: (u * np.arange(1.0, 4.0)) @ vh)(*la.svd(A, full_matrices=False))
    )[:3]), R(5, 3)),
    "svd_vectors_wide": (lambda A: np.sum(K(3, 6) * (
        (lambda u, s, vh: (u * np.arange(1.0, 4.0)) @ vh)(*la.svd(A, full_matrices=False)))),
        R(3, 6)),
    "qr_batched": (lambda A: np.sum(np.sin(la.qr(A)[1])) + np.sum(la.qr(A)[0] ** 3), R(2, 4, 3)),
    "svd_values_batched": (lambda A: np.sum(la.svd(A, compute_uv=False) ** 2 * [1.0, 2.0]),
                           R(3, 2, 4)),
    "svd_1x1": (lambda A: np.sum(la.svd(A)[1] ** 3), R(1, 1)),
    "eigvalsh_1x1": (lambda A: la.eigvalsh(A)[0] ** 2, R(1, 1)),
    "cholesky_1x1": (lambda A: la.cholesky(A * A + 1)[0, 0] ** 3, R(1, 1)),
    "solve_1x1": (lambda A: la.solve(A, np.ones(1))[0] ** 2, R(1, 1) + 2),
    "matrix_power_batched": (lambda A: np.sum(la.matrix_power(A, 2) ** 2), R(2, 3, 3)),
    "norm_fro": (lambda A: la.norm(A), A34),
    "norm_fro_named": (lambda A: la.norm(A, "fro") ** 3, A34),
    "norm_nuc": (lambda A: la.norm(A, "nuc"), A34),
    "norm_2_matrix": (lambda A: la.norm(A, 2), A34),
    "norm_vec": (lambda x: la.norm(x), R(6)),
    "norm_vec_1": (lambda x: la.norm(x, 1), R(6)),
    "norm_vec_inf": (lambda x: la.norm(x, np.inf), R(6)),
    "norm_vec_3": (lambda x: la.norm(x, 3), R(6)),
    "norm_axis": (lambda A: np.sum(la.norm(A, axis=0) * K(4)), A34),
    "norm_axis_keep": (lambda A: np.sum(la.norm(A, axis=1, keepdims=True) ** 2), A34),
    "vector_norm": (lambda A: la.vector_norm(A), A34),
    "matrix_norm": (lambda A: np.sum(la.matrix_norm(A)), R(2, 3, 4)),
    "matrix_power_3": (lambda A: np.sum(W34[:3, :3] * la.matrix_power(A, 3)), R(3, 3)),
    "matrix_power_0": (lambda A: np.sum(la.matrix_power(A, 0) * A), R(3, 3)),
    "matrix_power_neg": (lambda A: np.sum(la.matrix_power(A, -2)), M3),
    "expm": (lambda A: np.sum(W34[:3, :3] * mc.expm(A)), R(3, 3)),
    "expm_1x1": (lambda A: mc.expm(A)[0, 0], R(1, 1)),
}


@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg_vjp_matches_finite_differences(name):
    f, x = LINALG[name]
    check(f, x.copy())


def test_det_gradient_is_cofactor_matrix_also_when_singular():
    # rank n−1: det = 0 but ∇det = adj(A)ᵀ ≠ 0 (det(A)A⁻ᵀ is 0·∞ there)
    X = R(4, 3)
    A = X @ R(3, 4)                       # rank 3
    minors = np.array([[(-1) ** (i + j) * la.det(np.delete(np.delete(A, i, 0), j, 1))
                        for j in range(4)] for i in range(4)])
    g = mc.grad(la.det)(A)
    assert np.linalg.norm(minors) > 1e-3
    assert mc.relerr(g, minors) < 1e-10
    assert mc.relerr(cofactor(A), minors) < 1e-10
    # rank n−2: every (n−1)-minor vanishes, so does the gradient
    B = R(4, 2) @ R(2, 4)
    assert np.max(np.abs(mc.grad(la.det)(B))) < 1e-12
    # nonsingular: det(A) A⁻ᵀ
    assert mc.relerr(mc.grad(la.det)(M5), la.det(M5) * la.inv(M5).T) < 1e-12


def test_slogdet_reuses_the_forward_factorization(monkeypatch):
    # the pullback must not factorize A again: np.linalg.inv/solve/slogdet are not called
    A = M5.copy()
    y, pb = mc.vjp(lambda A: la.slogdet(A)[1], A)
    for name in ("inv", "solve", "slogdet", "det"):
        monkeypatch.setattr(np.linalg, name, lambda *a, _n=name, **k: pytest.fail(_n))
    g = pb(1.0)
    monkeypatch.undo()
    assert mc.relerr(g, la.inv(A).T) < 1e-12


def test_eigh_eigenvalue_functions_are_fine_at_repeated_eigenvalues():
    Q = la.qr(R(4, 4))[0]
    A = Q @ np.diag([1.0, 1.0, 2.0, 3.0]) @ Q.T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = mc.grad(lambda A: np.sum(la.eigh(A)[0] ** 2))(A)
    assert mc.relerr(g, 2 * A) < 1e-12             # ∇ tr(A²) = 2A (A symmetric)
    g = mc.grad(lambda A: la.eigvalsh(A)[-1])(A)
    assert mc.relerr(g, np.outer(Q[:, 3], Q[:, 3])) < 1e-10   # Hellmann–Feynman qqᵀ
    assert np.allclose(g, g.T)


def test_eigh_warns_for_eigenvector_functions_at_repeated_eigenvalues():
    A = np.diag([1.0, 1.0, 2.0])
    with pytest.warns(RuntimeWarning, match="repeated eigenvalue"):
        mc.grad(lambda A: np.sum(la.eigh(A)[1][:, 0] ** 4))(A)


def test_eigh_gradient_is_symmetric():
    A = sym(R(4, 4))
    g = mc.grad(lambda A: np.sum(la.eigh(A)[1][0] ** 2 * np.arange(4.0)))(A)
    assert np.allclose(g, g.T, atol=1e-14)
    # it gives the derivative along symmetric directions even though eigh reads one triangle
    E = sym(R(4, 4))
    f = lambda A: np.sum(la.eigh(A)[1][0] ** 2 * np.arange(4.0))
    assert abs(np.sum(g * E) - mc.fd.jvp(f, A, E, method="richardson")) < 1e-8


# --------------------------------------------------------------------- second order
SECOND = {
    "inv": (lambda A: np.sum(np.sin(la.inv(A))), M3),
    "solve": (lambda A: np.sum(la.solve(A, v3) ** 2), M3),
    "det": (lambda A: la.det(A), R(4, 4)),
    "slogdet": (lambda A: la.slogdet(A)[1], M5),
    "eigvalsh": (lambda A: la.eigvalsh(sym(A)) @ np.arange(4.0) ** 2, R(4, 4)),
    "cholesky": (lambda X: np.sum(np.sin(la.cholesky(X @ X.T + 3 * np.eye(3)))), R(3, 3)),
    "svdvals": (lambda A: np.sum(la.svd(A, compute_uv=False) ** 3), R(4, 3)),
    "norm_nuc": (lambda A: la.norm(A, "nuc"), R(3, 4)),
    "matmul_trace": (lambda A: np.trace(A @ A @ A.T), R(3, 3)),
    "expm": (lambda A: np.sum(W34[:3, :3] * mc.expm(A)), R(3, 3) / 2),
    "mlp": (lambda x: np.sum(np.tanh(A34 @ np.tanh(x * v4))), R(4)),
    "einsum": (lambda A: np.einsum("ij,jk,ki->", A, A, A), R(3, 3)),
    "eigh_vectors": (lambda A: np.sum(la.eigh(sym(A))[1][:, 0] ** 4), R(3, 3)),
    "qr": (lambda A: np.sum(np.sin(la.qr(A)[1])) + np.sum(la.qr(A)[0][:, 0] ** 4), R(4, 3)),
    "svd_vectors": (lambda A: (lambda u, s, vh: np.sum(np.sin(u[:, :1] @ vh[:1])))(
        *la.svd(A, full_matrices=False)), R(3, 4)),
    "solve_b": (lambda b: np.sum(np.sin(la.solve(M3, b * b))), R(3)),
    "getitem_rosenbrock": (lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
                           R(5)),
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_grad_of_grad_matches_finite_differences_of_grad(name):
    # reverse-over-reverse: ⟨∇²f(x) v, w⟩ from nesting grad, against fd of the gradient
    f, x = SECOND[name]
    v = R(*x.shape)
    g = mc.grad(f)
    Hv = mc.grad(lambda x: np.sum(v * g(x)))(x)    # H is symmetric: ∇⟨v, ∇f⟩ = Hv
    Hv_fd = mc.fd.jvp(g, x, v, method="richardson")
    assert mc.relerr(Hv, Hv_fd) < 1e-6


@pytest.mark.parametrize("name", sorted(SECOND))
def test_hvp_forward_over_reverse_matches_finite_differences(name):
    f, x = SECOND[name]
    v = R(*x.shape)
    Hv = mc.hvp(f, x, v)
    Hv_fd = mc.fd.jvp(mc.grad(f), x, v, method="richardson")
    assert mc.relerr(Hv, Hv_fd) < 1e-6


# --------------------------------------------------------------------- engine properties
def test_nested_grad_has_no_perturbation_confusion():
    assert mc.grad(lambda x: x * mc.grad(lambda y: x * y)(2.0))(3.0) == 6
    # d/dx [x · d/dy (x + y)] = 1, and a third-order check on a polynomial
    assert mc.grad(lambda x: x * mc.grad(lambda y: x + y)(1.0))(1.0) == 1
    d3 = mc.grad(mc.grad(mc.grad(lambda x: x ** 4)))(1.5)
    assert d3 == pytest.approx(24 * 1.5)


def test_nested_grad_when_the_outer_box_comes_first_in_a_numpy_call():
    # NumPy asks the first Box it sees; it must hand the call to the innermost one
    assert mc.grad(lambda x: mc.grad(lambda y: np.multiply(x, y))(2.0))(3.0) == 1.0
    assert mc.grad(lambda x: mc.grad(lambda y: np.sum(np.stack([x, y]) ** 2))(2.0))(3.0) == 0.0
    assert mc.grad(lambda x: mc.grad(lambda y: np.sum(np.stack([x, x * y]) ** 2))(2.0))(3.0) \
        == pytest.approx(4 * 2.0 * 3.0)              # d/dx [2 x² y] at y = 2
    assert mc.grad(lambda x: mc.grad(lambda y: np.dot(x, y) * np.tanh(y))(0.5))(1.5) == \
        pytest.approx(np.tanh(0.5) + 0.5 / np.cosh(0.5) ** 2)


def test_reverse_over_forward():
    # ∇ of a jvp: d/dx [f'(x)·1] for f = Π x  (forward rules run on Boxes)
    x = np.array([1.0, 2.0, 3.0])
    g = mc.grad(lambda x: mc.jvp(np.prod, x, np.ones(3))[1])(x)
    # jvp = Σ_i Π_{j≠i} x_j = x₂x₃ + x₁x₃ + x₁x₂;  ∇ = (x₂+x₃, x₁+x₃, x₁+x₂)
    assert np.allclose(g, [5.0, 4.0, 3.0], rtol=1e-14)


def test_long_tape_has_no_recursion_error():
    def f(x):
        for _ in range(100_000):
            x = x * 0.99999 + 1e-6
        return x

    g = mc.grad(f)(1.0)
    assert g == pytest.approx(0.99999 ** 100_000, rel=1e-9)


def test_pullback_called_twice_gives_the_same_result():
    x = R(5)
    y, pb = mc.vjp(lambda x: np.sin(x) * x, x)
    ybar = R(5)
    first = pb(ybar)
    second = pb(ybar)
    assert np.array_equal(first, second)
    assert mc.relerr(first, ybar * (np.cos(x) * x + np.sin(x))) < 1e-14
    assert mc.relerr(pb(2 * ybar), 2 * first) < 1e-14


def test_vjp_of_vector_function_matches_jacobian_transpose():
    A = R(4, 3)
    f = lambda x: np.tanh(A @ x)
    x, ybar = R(3), R(4)
    y, pb = mc.vjp(f, x)
    J = mc.fd.jacobian(f, x, method="richardson")
    assert mc.relerr(y, f(x)) == 0
    assert mc.relerr(pb(ybar), J.T @ ybar) < 1e-8


def test_vjp_with_several_primals_returns_a_tuple():
    A, b = M3.copy(), v3.copy()
    x, pb = mc.vjp(la.solve, A, b)
    Abar, bbar = pb(np.ones(3))
    assert mc.relerr(bbar, la.solve(A.T, np.ones(3))) < 1e-12
    assert mc.relerr(Abar, -np.outer(bbar, x)) < 1e-12


def test_value_and_grad_and_tuple_argnum():
    W1, W2, x = R(5, 4), R(3, 5), R(4)
    f = lambda W1, W2, x: np.sum(np.tanh(W2 @ np.tanh(W1 @ x)))
    val, (g1, g2) = mc.value_and_grad(f, argnum=(0, 1))(W1, W2, x)
    assert val == f(W1, W2, x)
    mc.check_gradient(lambda W: f(W, W2, x), g1, W1).assert_ok()
    mc.check_gradient(lambda W: f(W1, W, x), g2, W2).assert_ok()
    gx = mc.grad(f, argnum=-1)(W1, W2, x)
    mc.check_gradient(lambda x: f(W1, W2, x), gx, x).assert_ok()


def test_function_independent_of_input_has_zero_gradient():
    assert np.array_equal(mc.grad(lambda x: 3.0)(R(2, 2)), np.zeros((2, 2)))
    assert np.array_equal(mc.grad(lambda x: np.sum(np.sign(x)))(R(3)), np.zeros(3))


def test_scalar_input_gives_scalar_gradient_and_integers_are_promoted():
    g = mc.grad(lambda x: x ** 2)(3)
    assert g == 6.0 and np.ndim(g) == 0
    g = mc.grad(lambda x: np.sum(x ** 2))(np.arange(3))
    assert g.dtype == np.float64 and np.array_equal(g, [0.0, 2.0, 4.0])


def test_box_looks_like_an_array():
    def f(x):
        assert x.shape == (3, 4) and x.ndim == 2 and x.size == 12 and len(x) == 3
        assert x.dtype == np.float64
        assert (x > -100).all() and bool(x[0, 0] == x[0, 0])
        if isinstance(x, mc.reverse.Box):
            assert "Box(" in repr(x)
        assert x.argmax() == np.argmax(X34) and x.any() and not (x > 100).any()
        return (x.T.sum() + x.reshape(12).mean() + x.ravel().max() + x.dot(np.ones(4)).sum()
                + x.std() + x.var(axis=0).sum() + x.clip(-0.5, 0.5).sum()
                + np.sum(x.swapaxes(0, 1) * x.mT) + x.cumsum(1).sum() + x.min() * x.prod())

    check(f, X34.copy())


# --------------------------------------------------------------------- complex numbers
def test_complex_gradient_convention_is_steepest_ascent():
    z = C(4)
    assert mc.relerr(mc.grad(lambda z: np.sum(np.abs(z) ** 2))(z), 2 * z) < 1e-15
    assert mc.relerr(mc.grad(lambda z: np.sum(z * np.conj(z)).real)(z), 2 * z) < 1e-15
    # f = Re Σ z² = Σ (x² − y²): ∂f/∂x + i ∂f/∂y = 2x − 2iy = 2 z̄
    assert mc.relerr(mc.grad(lambda z: np.sum(z ** 2).real)(z), 2 * np.conj(z)) < 1e-15


COMPLEX = {
    "holomorphic": (lambda z: np.sum(np.abs(np.sin(z) * np.exp(z) / (1 + z ** 2)) ** 2), C(3)),
    "real_imag": (lambda z: np.sum(np.real(z) ** 3 - np.imag(z) * np.real(z)), C(3)),
    "conj_abs": (lambda z: np.sum(np.abs(np.conj(z) * z + z)), C(3)),
    "log_sqrt": (lambda z: np.sum(np.real(np.log(z) * np.sqrt(z))), C(3)),
    "matmul": (lambda Z: np.sum(np.abs(Z @ KC(3, 2)) ** 2), C(4, 3)),
    "inv": (lambda Z: np.real(np.trace(KC(3, 3) @ la.inv(Z))), C(3, 3)),
    "solve": (lambda Z: np.sum(np.abs(la.solve(Z, KC(3))) ** 2), C(3, 3)),
    "det": (lambda Z: np.abs(la.det(Z)) ** 2, C(3, 3)),
    "slogdet": (lambda Z: la.slogdet(Z)[1], C(4, 4)),
    "slogdet_sign": (lambda Z: np.real(la.slogdet(Z)[0] * (1 + 2j)), C(3, 3)),
    "eigvalsh": (lambda Z: la.eigvalsh(Z + Z.conj().T) @ np.arange(3.0), C(3, 3)),
    "eigh_values": (lambda Z: np.sum(la.eigh(Z @ Z.conj().T)[0] ** 2), C(3, 3)),
    "eigh_vectors": (lambda Z: np.sum(np.abs(la.eigh(Z + Z.conj().T)[1][0]) ** 2
                                      * np.arange(3.0)), C(3, 3)),
    "svdvals": (lambda Z: np.sum(la.svd(Z, compute_uv=False) ** 2 * np.arange(1.0, 3.0)),
                C(2, 3)),
    "norm_fro": (lambda Z: la.norm(Z), C(3, 2)),
    "norm_nuc": (lambda Z: la.norm(Z, "nuc"), C(3, 2)),
    "norm_vec": (lambda z: la.norm(z), C(4)),
    "expm": (lambda Z: np.sum(np.abs(mc.expm(Z))), C(2, 2) / 2),
    "einsum": (lambda Z: np.abs(np.einsum("ij,ji->", Z, Z)), C(3, 3)),
    "getitem": (lambda z: np.abs(z[0] * z[2]) + np.sum(np.abs(z[[1, 1]])), C(3)),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_inputs_match_finite_differences(name):
    f, z = COMPLEX[name]
    check(f, z.copy())


def test_complex_vjp_uses_real_inner_product():
    # holomorphic f: Re⟨ȳ, f'(z)dz⟩ = Re⟨x̄, dz⟩ gives x̄ = conj(f'(z)) ȳ
    z, ybar = C(3), C(3)
    y, pb = mc.vjp(lambda z: np.exp(z) * z, z)
    assert mc.relerr(pb(ybar), np.conj(np.exp(z) * (z + 1)) * ybar) < 1e-14
    # real input, complex output: x̄ = Re(conj(f'(x)) ȳ)
    x = R(3)
    y, pb = mc.vjp(lambda x: np.exp(1j * x), x)
    assert mc.relerr(pb(ybar), np.real(np.conj(1j * np.exp(1j * x)) * ybar)) < 1e-14
    assert pb(ybar).dtype == np.float64


# --------------------------------------------------------------------- bad input
def test_non_scalar_output_error_points_to_vjp_and_jacobian():
    with pytest.raises(ValueError, match=r"must return a scalar|needs f to return a scalar"):
        mc.grad(lambda x: x * 2)(R(3))
    with pytest.raises(ValueError, match="mc.vjp.*mc.jacobian"):
        mc.grad(lambda x: x * 2)(R(3))
    with pytest.raises(ValueError, match="real scalar"):
        mc.grad(lambda z: np.sum(z))(C(2))


def test_unsupported_function_names_it_and_says_how_to_add_a_rule():
    with pytest.raises(TypeError, match=r"numpy.*lstsq.*To add one.*reverse_rules"):
        mc.grad(lambda A: np.sum(la.lstsq(A, np.ones(3))[0]))(R(3, 3))
    with pytest.raises(TypeError, match=r"multiply\.outer"):
        mc.grad(lambda x: np.sum(np.multiply.outer(x, x)))(R(3))
    # ufunc methods with a NumPy-function equivalent are that function
    x = R(4)
    assert np.allclose(mc.grad(lambda x: np.add.reduce(x * x))(x), 2 * x)


def test_in_place_assignment_is_a_clear_error():
    def f(x):
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(TypeError, match="in-place assignment"):
        mc.grad(f)(R(3))
    with pytest.raises(TypeError, match="in-place"):
        mc.grad(lambda x: np.sum(np.sin(x, out=np.zeros(3))))(R(3))


def test_dropping_the_derivative_is_an_error():
    with pytest.raises(TypeError, match="float.*drop its derivative"):
        mc.grad(lambda x: float(x) * 2)(1.0)
    with pytest.raises(TypeError, match="np.stack"):
        mc.grad(lambda x: np.sum(np.asarray(x, dtype=float)))(R(2))
    with pytest.raises(TypeError, match="np.stack"):
        mc.grad(lambda x: np.sum(np.array([x[0], x[1]], dtype=float)))(R(2))
    with pytest.raises(TypeError, match="mc.expm"):
        import scipy.linalg

        mc.grad(lambda A: np.sum(scipy.linalg.expm(A)))(R(2, 2))


def test_cotangent_shape_must_match_output():
    y, pb = mc.vjp(lambda x: x * 2, R(3))
    with pytest.raises(ValueError, match=r"cotangent has shape \(2,\).*shape \(3,\)"):
        pb(np.ones(2))


def test_bad_argnum_and_bad_input_type():
    with pytest.raises(ValueError, match="argnum 2 is out of range"):
        mc.grad(lambda x: x, argnum=2)(1.0)
    with pytest.raises(TypeError, match="real or complex"):
        mc.grad(lambda x: x)("abc")


# --------------------------------------------------------------------- property tests
@settings(max_examples=25, deadline=None)
@given(shape_a=st.lists(st.integers(1, 3), min_size=0, max_size=3),
       drop=st.integers(0, 3), ones=st.lists(st.booleans(), min_size=3, max_size=3),
       op=st.sampled_from(["add", "multiply", "divide", "hypot", "maximum"]))
def test_broadcasting_is_undone_for_any_shapes(shape_a, drop, ones, op):
    # b's shape: a suffix of a's shape with some axes set to 1 — every legal broadcast
    shape_b = [1 if o else n for n, o in zip(shape_a[drop:], ones, strict=False)]
    r = np.random.default_rng(len(shape_a) * 7 + drop)
    a, b = r.uniform(0.5, 2, shape_a), r.uniform(0.5, 2, shape_b)
    func = getattr(np, op)
    w = r.standard_normal(np.broadcast_shapes(a.shape, b.shape))
    ga, gb = mc.grad(lambda a, b: np.sum(w * func(a, b)), argnum=(0, 1))(a, b)
    assert np.shape(ga) == a.shape and np.shape(gb) == b.shape
    mc.check_gradient(lambda a: np.sum(w * func(a, b)), ga, a).assert_ok()
    mc.check_gradient(lambda b: np.sum(w * func(a, b)), gb, b).assert_ok()


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 99))
def test_matrix_rules_on_random_shapes(m, k, n, seed):
    r = np.random.default_rng(seed)
    A, B, S = r.standard_normal((m, k)), r.standard_normal((k, n)), r.standard_normal((k, k))
    S = S + 3 * np.sqrt(k) * np.eye(k)
    f = lambda A: np.sum(np.sin(A @ la.solve(S, B))) + la.norm(A) + la.slogdet(A.T @ A
                                                                             + np.eye(k))[1]
    check(f, A)


# ------------------------------------------------- issue 13: wrong answers, both modes
def _both(f, x, dx):
    """(jvp, ⟨∇f, dx⟩, finite differences) of a scalar f at x along dx."""
    return (mc.jvp(f, x, dx)[1], np.sum(mc.grad(f)(x) * dx),
            mc.fd.jvp(f, x, dx, method="richardson"))


def test_clip_with_keyword_bounds_matches_finite_differences_in_both_modes():
    x = np.array([-1.2, -0.1, 0.05, 0.2, 0.9, 1.7])
    dx = R(6)
    for f in (lambda x: np.sum(np.clip(x, a_min=-0.3, a_max=0.3) ** 2),
              lambda x: np.sum(np.clip(x, None, a_max=0.3) ** 2),
              lambda x: np.sum(np.clip(x, min=-0.3, max=0.3) ** 2),
              lambda x: np.sum(x.clip(-0.3, 0.3) ** 2)):
        j, r, ref = _both(f, x, dx)
        assert mc.relerr(j, ref) < 1e-8 and mc.relerr(r, ref) < 1e-8
    g = mc.grad(lambda x: np.sum(np.clip(x, a_min=-0.3, a_max=0.3) ** 2))(x)
    assert np.all(g[[0, 4, 5]] == 0)          # clipped entries have no derivative


def test_eigh_convention_symmetrizes_so_jvp_and_grad_agree_for_nonsymmetric_direction():
    A = sym(R(4, 4))
    D = R(4, 4)                              # not symmetric
    for f, A in ((lambda A: np.sum(np.linalg.eigh(A)[0] * np.arange(4.0)), A),
                 (lambda A: np.sum(np.linalg.eigvalsh(A) ** 3), A),
                 (lambda A: np.sum(K(4, 4) * np.linalg.eigh(A)[1] ** 2), A),
                 (lambda A: np.sum(K(4, 4) * np.linalg.cholesky(A)), spd(4))):
        j, r, _ = _both(f, A, D)
        ref = mc.fd.jvp(lambda A: f((A + A.T) / 2), A, D, method="richardson")
        assert mc.relerr(j, r) < 1e-10
        assert mc.relerr(j, ref) < 1e-7
    # for a symmetric input the value is NumPy's, bit for bit
    w, Q = mc.jvp(np.linalg.eigh, A, D)[0]
    assert np.array_equal(w, np.linalg.eigh(A)[0]) and np.array_equal(Q, np.linalg.eigh(A)[1])


def test_complex_eigh_eigenvector_tangent_matches_finite_differences_gauge_invariantly():
    Z = C(4, 4)
    H = Z + Z.conj().T
    dZ = C(4, 4)
    proj = lambda H: (lambda Q: np.einsum("ik,jk->kij", Q, np.conj(Q)))(np.linalg.eigh(H)[1])
    sq = lambda H: np.abs(np.linalg.eigh(H)[1]) ** 2
    for f in (proj, sq):
        for dH in (dZ + dZ.conj().T, dZ):     # Hermitian, and general (symmetrized)
            ref = mc.fd.jvp(lambda H: f((H + H.conj().T) / 2), H, dH, method="richardson")
            assert mc.relerr(mc.jvp(f, H, dH)[1], ref) < 1e-7
    # the gauge: the tangent keeps qᵢᴴ dqᵢ = 0
    Q, dQ = (a[1] for a in mc.jvp(np.linalg.eigh, H, dZ + dZ.conj().T))
    assert np.allclose(np.diag(Q.conj().T @ dQ), 0, atol=1e-12)
    # reverse mode of a real gauge-invariant function agrees
    k = K(4, 4)
    f = lambda H: np.sum(k * sq(H))
    dH = dZ + dZ.conj().T
    g = mc.grad(f)(H)
    assert mc.relerr(np.real(np.sum(np.conj(g) * dH)), mc.jvp(f, H, dH)[1]) < 1e-8


@pytest.mark.parametrize("fn", [np.std, np.var])
def test_std_and_var_of_one_entry_have_derivative_zero_not_nan(fn):
    x = R(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no divide-by-zero on the way
        for f in (lambda x: fn(x[:1]), lambda x: np.sum(fn(x[:, None] * np.ones(3)[None, :]
                                                            [:, :1], axis=1))):
            assert np.all(mc.grad(f)(x) == 0)
            assert mc.jvp(f, x, R(5))[1] == 0
            assert mc.fd.jvp(f, x, R(5)) == 0
    # second order too
    assert np.all(mc.hessian(lambda x: np.std(x[:1]) + np.sum(x ** 2), x) == 2 * np.eye(5))
    # and away from that point std is still right
    check(lambda x: np.std(x[:2] * 3.0), x)


def test_power_at_zero_has_derivative_zero_not_nan_in_both_modes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # ∂/∂y 0ʸ = 0 for y > 0
        assert mc.jvp(lambda y: np.power(0.0, y), 2.0, 1.0)[1] == 0
        assert mc.grad(lambda y: np.power(0.0, y))(2.0) == 0
        # ∂/∂x x⁰ = 0, also at x = 0
        assert mc.grad(lambda x: np.power(x, 0.0))(0.0) == 0
        assert mc.jvp(lambda x: np.power(x, 0.0), 0.0, 1.0)[1] == 0
        x = np.array([0.0, 0.5, 2.0])
        y = np.array([0.0, 1.0, 2.5])
        assert np.array_equal(mc.grad(lambda x: np.sum(x ** y))(x), [0.0, 1.0, 2.5 * 2 ** 1.5])
        assert np.array_equal(mc.jvp(lambda x: x ** y, x, np.ones(3))[1],
                              [0.0, 1.0, 2.5 * 2 ** 1.5])
        assert np.array_equal(mc.jvp(lambda y: np.power(np.array([0.0, 2.0]), y),
                                     np.array([1.5, 1.5]), np.ones(2))[1],
                              [0.0, np.log(2.0) * 2 ** 1.5])


# ------------------------------------------------- issue 13: composability of grad
def test_grad_of_an_output_with_one_entry_is_the_gradient_of_that_entry():
    A = K(3, 3)
    x = R(3, 1)
    g = mc.grad(lambda x: x.T @ A @ x)(x)                # shape (1, 1)
    assert g.shape == (3, 1) and np.allclose(g, (A + A.T) @ x, rtol=1e-14)
    v, g1 = mc.value_and_grad(lambda x: np.sum(x * x, keepdims=True))(R(4))
    assert np.shape(v) == (1,)
    # second order through it
    H = mc.hessian(lambda x: (x[None, :] @ A @ x[:, None]), R(3))
    assert np.allclose(H, A + A.T, rtol=1e-14)


def test_grad_of_a_non_scalar_output_says_what_to_use():
    with pytest.raises(ValueError, match=r"shape \(3,\).*mc\.vjp.*mc\.jacobian.*np\.sum"):
        mc.grad(lambda x: x * 2)(R(3))
    with pytest.raises(ValueError, match="tuple of 2 values"):
        mc.grad(lambda x: (np.sum(x), np.sum(x)))(R(3))


def test_gradient_with_respect_to_complex_input_is_always_complex():
    z = C(3)
    for f in (lambda z: np.sum(np.real(z)), lambda z: np.sum(np.real(z) ** 2),
              lambda z: np.sum(np.abs(z) ** 2), lambda z: 2.0, lambda z: np.real(z[0])):
        g = mc.grad(f)(z)
        assert np.iscomplexobj(g) and g.shape == z.shape
        dz = C(3)
        assert mc.relerr(np.real(np.vdot(g, dz)), mc.fd.jvp(f, z, dz)) < 1e-8 or \
            np.allclose(g, 0)
    assert np.array_equal(mc.grad(lambda z: np.sum(np.real(z)))(z), np.ones(3) + 0j)
    assert np.iscomplexobj(mc.grad(lambda z: np.real(z) * 3.0)(1.0 + 2.0j))


def test_max_and_min_at_ties_agree_between_the_modes():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    dx = R(2, 3)
    for f in (np.max, np.min, lambda x: np.max(x, axis=1), lambda x: np.min(x, axis=0),
              lambda x: np.amax(x, axis=0, keepdims=True)):
        y, dy = mc.jvp(f, x, dx)
        _, pb = mc.vjp(f, x)
        w = R(*np.shape(y))
        assert mc.relerr(np.sum(w * dy), np.sum(pb(w) * dx)) < 1e-14
    assert mc.jvp(np.max, x, np.arange(6.0).reshape(2, 3))[1] == 1.5   # mean of tied 1, 2
