"""Forward mode (mcutils.Dual): every jvp rule against finite differences, nesting,
the issue's required identities, error messages, printing, random shapes."""

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import mcutils as mc
from mcutils import Dual


def fwd(f):
    """The jvp of f as a claimed derivative df(x, dx), for mc.check_jvp."""
    return lambda x, dx: mc.jvp(f, x, dx)[1]


def check(f, x, dx=None, rtol=1e-6, **kw):
    mc.check_jvp(f, fwd(f), x, dx, rtol=rtol, **kw).assert_ok()


def spd(rng, n):
    B = rng.standard_normal((n, n))
    return B @ B.T + n * np.eye(n)


def sym(rng, n):
    B = rng.standard_normal((n, n))
    return B + B.T


# ───────────────────────── element-wise rules ─────────────────────────

UNARY = {  # name: (f, domain maker)
    "negative": (np.negative, "real"), "positive": (np.positive, "real"),
    "exp": (np.exp, "real"), "exp2": (np.exp2, "real"), "expm1": (np.expm1, "real"),
    "log": (np.log, "pos"), "log2": (np.log2, "pos"), "log10": (np.log10, "pos"),
    "log1p": (np.log1p, "pos"), "sqrt": (np.sqrt, "pos"), "cbrt": (np.cbrt, "pos"),
    "sin": (np.sin, "real"), "cos": (np.cos, "real"), "tan": (np.tan, "unit"),
    "arcsin": (np.arcsin, "unit"), "arccos": (np.arccos, "unit"),
    "arctan": (np.arctan, "real"), "sinh": (np.sinh, "real"), "cosh": (np.cosh, "real"),
    "tanh": (np.tanh, "real"), "arcsinh": (np.arcsinh, "real"),
    "arccosh": (np.arccosh, "big"), "arctanh": (np.arctanh, "unit"),
    "square": (np.square, "real"), "reciprocal": (np.reciprocal, "pos"),
    "abs": (np.abs, "real"), "conj": (np.conj, "real"), "real": (np.real, "real"),
    "imag": (np.imag, "real"), "deg2rad": (np.deg2rad, "real"),
    "rad2deg": (np.rad2deg, "real"), "pow_scalar": (lambda x: x ** 3.5, "pos"),
    "pow_int": (lambda x: x ** 3, "real"), "pow_neg": (lambda x: x ** -2, "pos"),
    "rpow": (lambda x: 2.5 ** x, "real"), "sqrt_op": (lambda x: x ** 0.5, "pos"),
    "python_ops": (lambda x: (3 - x) * (x + 2) / (1 + x * x) - 1 / (2 + x * x), "real"),
}


def _domain(rng, kind, shape):
    x = rng.standard_normal(shape)
    return {"real": x, "pos": 0.5 + np.abs(x), "unit": 0.9 * np.tanh(x),
            "big": 1.5 + np.abs(x)}[kind]


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_rule_matches_finite_differences(name):
    f, kind = UNARY[name]
    rng = np.random.default_rng(7)
    check(f, _domain(rng, kind, (3, 4)))


BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "power": np.power, "arctan2": np.arctan2, "hypot": np.hypot, "maximum": np.maximum,
    "minimum": np.minimum, "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2,
    "fmax": np.fmax, "fmin": np.fmin, "float_power": np.float_power,
    "remainder": np.remainder, "fmod": np.fmod,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_rule_matches_finite_differences_in_each_argument(name):
    op = BINARY[name]
    rng = np.random.default_rng(8)
    a = 0.5 + rng.random((3, 1))          # broadcasting shapes (3,1) and (4,)
    b = 0.5 + rng.random(4) + 0.05
    if name in ("remainder", "fmod"):
        a = a + 2.0
    check(lambda x: op(x, b), a)           # Dual ∘ constant
    check(lambda y: op(a, y), b)           # constant ∘ Dual
    check(lambda z: op(z[0], z[1]), np.stack([a[:, 0], b[:3]]))  # both Duals


COMPLEX = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "arctan": np.arctan, "reciprocal": np.reciprocal, "square": np.square,
    "poly": lambda z: z ** 3 - 2j * z + 1 / z, "pow": lambda z: z ** (1.5 + 0.5j),
    "log1p": np.log1p, "expm1": np.expm1, "matmul": lambda Z: Z @ Z @ Z,
    "inv": np.linalg.inv, "det": np.linalg.det, "arcsin": np.arcsin, "arccos": np.arccos,
    "arcsinh": np.arcsinh, "arctanh": np.arctanh, "log2": np.log2, "log10": np.log10,
    "exp2": np.exp2, "solve": lambda Z: np.linalg.solve(Z, np.arange(3.0) + 1j),
    "matrix_power": lambda Z: np.linalg.matrix_power(Z, 3),
    "expm": mc.expm, "einsum_kron": lambda Z: np.einsum("ij,jk->ik", Z, np.kron(Z, Z)[:3, :3]),
    "trace_sum": lambda Z: np.trace(Z @ Z) + np.sum(Z ** 2, axis=0),
    "logdet": lambda Z: np.linalg.slogdet(Z)[1] + np.log(np.linalg.slogdet(Z)[0]),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_holomorphic_rules_on_complex_inputs(name):
    f = COMPLEX[name]
    rng = np.random.default_rng(9)
    z = 0.3 + rng.random((3, 3)) + 1j * rng.standard_normal((3, 3))
    dz = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    check(f, z, dz)


def test_derivative_of_holomorphic_function_is_complex_derivative():
    z = 0.7 - 0.4j
    assert mc.relerr(mc.derivative(np.exp, z), np.exp(z)) < 1e-15
    assert mc.relerr(mc.derivative(lambda z: z ** 3 + np.sin(z), z),
                     3 * z ** 2 + np.cos(z)) < 1e-14
    assert mc.relerr(mc.derivative(lambda z: 1 / (1 - z), z), 1 / (1 - z) ** 2) < 1e-14


def test_non_holomorphic_parts_follow_the_real_linear_derivative():
    z, dz = np.array(1.0 + 2.0j), np.array(0.3 - 0.7j)
    for f in (np.abs, np.real, np.imag, np.conj, lambda z: z * np.conj(z), np.angle):
        check(f, z, dz)


# ───────────────────────── shapes, reductions, structure ─────────────────────────

FUNCS = {  # name: (f, input shape)
    "sum_axis": (lambda x: np.sum(x, axis=1, keepdims=True), (3, 4)),
    "mean": (lambda x: np.mean(x, axis=0), (3, 4)),
    "prod": (lambda x: np.prod(x), (2, 3)),
    "prod_axis": (lambda x: np.prod(x, axis=1, keepdims=True), (3, 4)),
    "max": (lambda x: np.max(x), (3, 4)), "min_axis": (lambda x: np.min(x, axis=0), (3, 4)),
    "amax_keep": (lambda x: np.amax(x, axis=1, keepdims=True), (3, 4)),
    "cumsum": (lambda x: np.cumsum(x, axis=1), (3, 4)),
    "cumprod": (lambda x: np.cumprod(x, axis=1), (3, 4)),
    "var": (lambda x: np.var(x, axis=1), (3, 4)), "std": (lambda x: np.std(x, ddof=1), (3, 4)),
    "reshape": (lambda x: x.reshape(4, 3) * np.arange(12.0).reshape(4, 3), (3, 4)),
    "transpose": (lambda x: x.T @ x, (3, 4)),
    "transpose_axes": (lambda x: np.transpose(x, (2, 0, 1)) ** 2, (2, 3, 4)),
    "indexing": (lambda x: x[1:, ::2] * x[0, 1] + x[[0, 2], [1, 3]].sum(), (3, 4)),
    "bool_index": (lambda x: np.sin(x[np.arange(12).reshape(3, 4) % 3 == 0]), (3, 4)),
    "iteration": (lambda x: sum(r * r for r in x), (3, 4)),
    "concatenate": (lambda x: np.concatenate([x, np.ones((1, 4)), x ** 2], axis=0), (3, 4)),
    "stack": (lambda x: np.stack([x, 2 * x, np.zeros((3, 4))]), (3, 4)),
    "hstack": (lambda x: np.hstack([x, x[:, :1] ** 3]), (3, 4)),
    "vstack": (lambda x: np.vstack([x, np.ones(4)]), (3, 4)),
    "diag": (lambda x: np.diag(np.diag(x)) + np.diag(x[0]), (4, 4)),
    "diagonal": (lambda x: np.diagonal(x, offset=1), (3, 4)),
    "trace": (lambda x: np.trace(x @ x.T), (3, 4)),
    "tril_triu": (lambda x: np.tril(x) * 2 + np.triu(x, 1) ** 2, (4, 3)),
    "outer": (lambda x: np.outer(x, np.sin(x)), (5,)),
    "inner": (lambda x: np.inner(x, x[::-1]), (5,)),
    "dot_vec": (lambda x: np.dot(x, x), (5,)),
    "dot_mat": (lambda x: np.dot(x, x.T), (3, 4)),
    "vdot": (lambda x: np.vdot(x, np.cos(x)), (3, 4)),
    "kron": (lambda x: np.kron(x, x[:2, :3]), (3, 4)),
    "tensordot": (lambda x: np.tensordot(x, x, axes=([1], [1])), (3, 4)),
    "einsum": (lambda x: np.einsum("ij,kj,k->i", x, x, x[:, 0]), (3, 4)),
    "cross": (lambda x: np.cross(x, x ** 2), (4, 3)),
    "multi_dot": (lambda x: np.linalg.multi_dot([x, x.T, x]), (3, 4)),
    "where": (lambda x: np.where(x > 0, x ** 2, -x), (3, 4)),
    "where_const": (lambda x: np.where(x > 0, 1.0, x), (3, 4)),
    "matmul_rect": (lambda x: np.ones((2, 3)) @ x @ x.T @ x, (3, 4)),
    "batched_matmul": (lambda x: x @ np.swapaxes(x, -1, -2), (2, 3, 4)),
    "broadcast_to": (lambda x: np.broadcast_to(x, (2, 3, 4)) * np.arange(2.0)[:, None, None],
                     (3, 4)),
    "expand_squeeze": (lambda x: np.squeeze(np.expand_dims(x, 0) ** 2), (3, 4)),
    "swap_move": (lambda x: np.moveaxis(np.swapaxes(x, 0, 2), 0, 1), (2, 3, 4)),
    "flip_roll": (lambda x: np.roll(np.flip(x, 0), 1, axis=1) * x, (3, 4)),
    "sort": (lambda x: np.sort(x, axis=1) * np.arange(4.0), (3, 4)),
    "clip": (lambda x: np.clip(x, -0.5, 0.5), (3, 4)),
    "diff": (lambda x: np.diff(x ** 2, axis=1), (3, 4)),
    "tile_repeat": (lambda x: np.tile(x, 2) + np.repeat(x, 2, axis=1), (3, 4)),
    "take": (lambda x: np.take(x, [0, 2], axis=1), (3, 4)),
    "polyval": (lambda x: np.polyval([1.0, -2.0, 0.5, 3.0], x), (3, 4)),
    "split": (lambda x: np.split(x, 2, axis=1)[1] * 3, (3, 4)),
    "ravel": (lambda x: np.ravel(x) @ np.ravel(x), (3, 4)),
    "add_reduce": (lambda x: np.add.reduce(x, axis=0), (3, 4)),
    "methods": (lambda x: x.sum(axis=0) * x.mean() + x.max() - x.min(axis=1).sum()
                + x.reshape(-1).prod() + x.T.trace(), (3, 3)),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_function_rule_matches_finite_differences(name):
    f, shape = FUNCS[name]
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape)
    if name in ("prod", "prod_axis", "cumprod", "methods"):
        x = 0.5 + rng.random(shape)
    check(f, x)


def test_cumprod_through_zero_entries_matches_finite_differences():
    x = np.array([[2.0, 0.0, 3.0, -1.0], [0.5, 1.5, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(lambda x: np.cumprod(x, axis=1), x, rtol=1e-9, atol=1e-12)
        check(np.cumprod, x, rtol=1e-9, atol=1e-12)


def test_prod_is_differentiable_through_zero_entries():
    x = np.array([2.0, 0.0, 3.0, 0.0])
    # ∂/∂xᵢ ∏x = ∏_{j≠i} xⱼ: all zero with two zeros; with one zero only that entry
    assert np.array_equal(mc.jacobian(np.prod, x), np.zeros(4))
    y = np.array([2.0, 0.0, 3.0])
    assert np.array_equal(mc.jacobian(np.prod, y), [0.0, 6.0, 0.0])


# ───────────────────────── linear algebra ─────────────────────────

def test_inv_rule():
    rng = np.random.default_rng(12)
    A = rng.standard_normal((4, 4)) + 4 * np.eye(4)
    check(np.linalg.inv, A)
    dA = rng.standard_normal((4, 4))
    Ai = np.linalg.inv(A)
    assert mc.relerr(mc.jvp(np.linalg.inv, A, dA)[1], -Ai @ dA @ Ai) < 1e-14


@pytest.mark.parametrize("bshape", [(4,), (4, 3)])
def test_solve_rule_in_both_arguments(bshape):
    rng = np.random.default_rng(13)
    A = rng.standard_normal((4, 4)) + 3 * np.eye(4)
    b = rng.standard_normal(bshape)
    check(lambda A: np.linalg.solve(A, b), A)
    check(lambda b: np.linalg.solve(A, b), b)
    n = A.size
    check(lambda z: np.linalg.solve(z[:n].reshape(4, 4), z[n:].reshape(bshape)),
          np.concatenate([A.ravel(), b.ravel()]))


def test_solve_on_singular_matrix_raises_like_numpy():
    with pytest.raises(np.linalg.LinAlgError):
        mc.jvp(lambda A: np.linalg.solve(A, np.ones(2)), np.ones((2, 2)), np.eye(2))


def test_det_rule_nonsingular_and_batched():
    rng = np.random.default_rng(14)
    check(np.linalg.det, rng.standard_normal((4, 4)))
    check(np.linalg.det, rng.standard_normal((2, 3, 3)))


def test_det_derivative_at_singular_matrix_is_the_adjugate_form():
    rng = np.random.default_rng(15)
    u, v = rng.standard_normal((2, 4, 3))
    A = u @ v.T                      # rank 3 in 4×4: det = 0, adj(A) ≠ 0
    B = rng.standard_normal((4, 4))
    d = mc.derivative(lambda t: np.linalg.det(A + t * B), 0.0)
    # det(A + tB) is a polynomial in t: its derivative at 0 by a 4-point stencil is exact-ish
    h = 1e-3
    g = lambda t: np.linalg.det(A + t * B)
    fd = (8 * (g(h) - g(-h)) - (g(2 * h) - g(-2 * h))) / (12 * h)
    assert abs(d - fd) < 1e-9 * max(1.0, abs(fd))
    assert abs(d) > 1e-3             # a genuine nonzero derivative, not 0·tr(A⁻¹B)


def test_det_derivative_is_det_times_trace_identity():
    rng = np.random.default_rng(16)
    A, B = rng.standard_normal((2, 5, 5))
    d = mc.derivative(lambda t: np.linalg.det(A + t * B), 0.0)
    assert mc.relerr(d, np.linalg.det(A) * np.trace(np.linalg.solve(A, B))) < 1e-12


def test_slogdet_rule_real_and_complex():
    rng = np.random.default_rng(17)
    A = rng.standard_normal((4, 4))
    check(lambda A: np.linalg.slogdet(A)[1], A)
    check(lambda A: np.linalg.slogdet(A).logabsdet, rng.standard_normal((2, 3, 3)))
    Z = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    dZ = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    check(lambda Z: np.linalg.slogdet(Z)[1], Z, dZ)
    check(lambda Z: np.linalg.slogdet(Z)[0], Z, dZ)


def test_eigh_values_and_vectors():
    rng = np.random.default_rng(18)
    A = sym(rng, 5)
    E = sym(rng, 5)
    check(lambda A: np.linalg.eigh(A).eigenvalues, A, E)
    # eigenvectors are defined up to sign: compare the gauge-invariant projectors q qᵀ
    check(lambda A: np.einsum("ik,jk->kij", *[np.linalg.eigh(A)[1]] * 2), A, E)
    # convention: eigh is a function of symmetric matrices, applied to (A + Aᵀ)/2, so a
    # non-symmetric direction acts through its symmetric part (finite differences of the
    # symmetrized function are the reference; NumPy itself reads one triangle)
    D = rng.standard_normal((5, 5))
    for f in (lambda A: np.linalg.eigh(A)[0], lambda A: np.linalg.eigvalsh(A, UPLO="U")):
        dy = mc.jvp(f, A, D)[1]
        ref = mc.fd.jvp(lambda A: f((A + A.T) / 2), A, D, method="richardson")
        assert mc.relerr(dy, ref) < 1e-7


def test_eigh_vector_formula_against_fd_on_columns():
    rng = np.random.default_rng(19)
    A, E = sym(rng, 4), sym(rng, 4)
    _, Q = np.linalg.eigh(A)
    # LAPACK may flip an eigenvector's sign between nearby matrices: fix the sign gauge
    # by the unperturbed Q (the sign is piecewise constant, so it has no tangent)
    check(lambda A: (lambda V: V * np.sign(np.sum(V * Q, axis=0)))(np.linalg.eigh(A)[1]),
          A, E)


def test_eigvalsh_derivative_is_diag_QtEQ():
    rng = np.random.default_rng(20)
    A, E = sym(rng, 6), sym(rng, 6)
    _, Q = np.linalg.eigh(A)
    d = mc.derivative(lambda t: np.linalg.eigvalsh(A + t * E), 0.0)
    assert mc.relerr(d, np.diag(Q.T @ E @ Q)) < 1e-13


def test_eigvals_of_general_matrix():
    rng = np.random.default_rng(21)
    A, E = rng.standard_normal((2, 4, 4))

    def sorted_eigvals(A):
        lam = np.linalg.eigvals(A)
        order = np.lexsort((np.imag(lam), np.real(lam)))
        return lam[order]

    check(sorted_eigvals, A, E)


def test_cholesky_rule():
    rng = np.random.default_rng(22)
    A = spd(rng, 4)
    check(np.linalg.cholesky, A, sym(rng, 4))
    # a non-symmetric direction acts through its symmetric part (cholesky, like eigh, is
    # applied to (A + Aᵀ)/2): the reference is the symmetrized function
    D = rng.standard_normal((4, 4))
    ref = mc.fd.jvp(lambda A: np.linalg.cholesky((A + A.T) / 2), A, D, method="richardson")
    assert mc.relerr(mc.jvp(np.linalg.cholesky, A, D)[1], ref) < 1e-7
    check(lambda A: np.linalg.cholesky(A, upper=True), A, sym(rng, 4))
    Z = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    H = Z @ Z.conj().T + 3 * np.eye(3)
    dZ = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    check(np.linalg.cholesky, H, dZ + dZ.conj().T)


@pytest.mark.parametrize("shape", [(5, 3), (4, 4)])
def test_qr_rule(shape):
    rng = np.random.default_rng(23)
    A = rng.standard_normal(shape)
    check(lambda A: np.linalg.qr(A)[0], A)
    check(lambda A: np.linalg.qr(A).R, A)
    check(lambda A: np.linalg.qr(A, mode="r"), A)
    Z = A + 1j * rng.standard_normal(shape)
    check(lambda A: np.linalg.qr(A)[1], Z, A + 1j)
    check(lambda A: np.linalg.qr(A)[0], Z, A + 1j)


def test_qr_of_wide_matrix_raises_with_reason():
    with pytest.raises(TypeError, match="m ≥ n"):
        mc.jvp(np.linalg.qr, np.ones((2, 3)), np.ones((2, 3)))


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_svd_values_and_vectors(shape):
    rng = np.random.default_rng(24)
    A = rng.standard_normal(shape)
    check(lambda A: np.linalg.svd(A, compute_uv=False), A)
    check(np.linalg.svdvals, A)
    U = np.linalg.svd(A, full_matrices=False)[0]

    def uv(A):
        U_, s_, Vh_ = np.linalg.svd(A, full_matrices=False)
        sg = np.sign(np.sum(U_ * U, axis=0))      # fix the joint sign gauge of (uᵢ, vᵢ)
        U_, Vh_ = U_ * sg, Vh_ * sg[:, None]
        return np.concatenate([U_.ravel(), Vh_.ravel()])

    check(uv, A)
    Z = A + 1j * rng.standard_normal(shape)
    check(lambda A: np.linalg.svd(A, compute_uv=False), Z, rng.standard_normal(shape) + 1j)


def test_svd_vectors_of_complex_or_full_rectangular_raise():
    with pytest.raises(TypeError, match="full_matrices=False"):
        mc.jvp(np.linalg.svd, np.ones((3, 2)), np.ones((3, 2)))


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power_rule(k):
    rng = np.random.default_rng(25)
    A = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    check(lambda A: np.linalg.matrix_power(A, k), A, atol=1e-12 if k == 0 else 0.0)


NORMS = {
    "fro_default": (lambda x: np.linalg.norm(x), (3, 4)),
    "fro": (lambda x: np.linalg.norm(x, "fro"), (3, 4)),
    "vec2": (lambda x: np.linalg.norm(x), (5,)),
    "vec1": (lambda x: np.linalg.norm(x, 1), (5,)),
    "vec3": (lambda x: np.linalg.norm(x, 3), (5,)),
    "vecinf": (lambda x: np.linalg.norm(x, np.inf), (5,)),
    "axis": (lambda x: np.linalg.norm(x, axis=1), (3, 4)),
    "axis_keep": (lambda x: np.linalg.norm(x, 2, axis=0, keepdims=True), (3, 4)),
    "mat2": (lambda x: np.linalg.norm(x, 2), (3, 4)),
    "mat_minus2": (lambda x: np.linalg.norm(x, -2), (4, 3)),
    "nuc": (lambda x: np.linalg.norm(x, "nuc"), (3, 4)),
    "batched_fro": (lambda x: np.linalg.norm(x, axis=(1, 2)), (2, 3, 4)),
    "batched_2": (lambda x: np.linalg.norm(x, 2, axis=(1, 2)), (2, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_norm_rules(name):
    f, shape = NORMS[name]
    rng = np.random.default_rng(26)
    check(f, rng.standard_normal(shape))


def test_norm_of_complex_vector_and_at_zero():
    rng = np.random.default_rng(27)
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    check(np.linalg.norm, z, rng.standard_normal(4) + 1j * rng.standard_normal(4))
    # ‖x‖ at x = 0: the subgradient 0, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(mc.jvp(np.linalg.norm, np.zeros(3), np.ones(3))[1] == 0)


def test_expm_through_frechet_derivative():
    rng = np.random.default_rng(28)
    A = rng.standard_normal((4, 4))
    check(mc.expm, A)
    Z = A + 1j * rng.standard_normal((4, 4))
    check(mc.expm, Z, rng.standard_normal((4, 4)) + 0.5j)
    assert np.allclose(mc.expm(A), scipy.linalg.expm(A))
    # d/dt e^{tA} = A e^{tA}
    d = mc.derivative(lambda t: mc.expm(t * A), 0.7)
    assert mc.relerr(d, A @ scipy.linalg.expm(0.7 * A)) < 1e-12
    # nested: d²/dt² e^{tA} = A² e^{tA}
    d2 = mc.derivative(lambda s: mc.derivative(lambda t: mc.expm(t * A), s), 0.7)
    assert mc.relerr(d2, A @ A @ scipy.linalg.expm(0.7 * A)) < 1e-10


def test_plain_numpy_function_from_the_issue():
    f = lambda X: np.trace(np.linalg.inv(X) @ X @ X) + np.sin(X).sum()
    rng = np.random.default_rng(29)
    X = rng.standard_normal((4, 4)) + 3 * np.eye(4)
    check(f, X)
    dX = rng.standard_normal((4, 4))
    assert mc.relerr(mc.jvp(f, X, dX)[1], np.trace(dX) + np.sum(np.cos(X) * dX)) < 1e-12


# ───────────────────────── nesting and the issue's identities ─────────────────────────

def test_no_perturbation_confusion():
    assert mc.derivative(lambda x: x * mc.derivative(lambda y: x + y, 1.0), 1.0) == 1.0
    # the inner derivative is a function of x: d/dx [x · d/dy (x y)] = d/dx x² = 2x
    assert mc.derivative(lambda x: x * mc.derivative(lambda y: x * y, 2.0), 3.0) == 6.0


def test_nested_derivatives_exact_on_polynomials():
    p = lambda x: 3 * x ** 4 - 2 * x ** 3 + x * x - 7 * x + 5
    d1 = lambda x: mc.derivative(p, x)
    d2 = lambda x: mc.derivative(d1, x)
    d3 = lambda x: mc.derivative(d2, x)
    for x in (-1.5, 0.0, 2.0, 0.25):
        assert d1(x) == 12 * x ** 3 - 6 * x ** 2 + 2 * x - 7
        assert d2(x) == 36 * x ** 2 - 12 * x + 2
        assert d3(x) == 72 * x - 12
    assert mc.derivative(d3, 1.3) == 72.0


def babylonian(a, iterations=10):
    x = (a + 1) / 2
    for _ in range(iterations):
        x = (x + a / x) / 2
    return x


def test_babylonian_sqrt_derivative_at_2():
    d = mc.derivative(babylonian, 2.0)
    assert abs(d - 1 / (2 * math.sqrt(2))) < 1e-15
    assert abs(mc.derivative(lambda a: mc.derivative(babylonian, a), 2.0)
               - (-0.25 * 2.0 ** -1.5)) < 1e-14


def test_second_derivative_of_det_through_nested_duals():
    rng = np.random.default_rng(30)
    A, B = rng.standard_normal((2, 4, 4))
    # det(A + tB) = det A · det(I + tM), M = A⁻¹B: second coefficient e₂(M)·det A
    M = np.linalg.solve(A, B)
    e2 = (np.trace(M) ** 2 - np.trace(M @ M)) / 2
    d2 = mc.derivative(lambda s: mc.derivative(lambda t: np.linalg.det(A + t * B), s), 0.0)
    assert mc.relerr(d2, 2 * e2 * np.linalg.det(A)) < 1e-10


def test_mixed_second_derivative_of_logdet():
    # ∂²/∂s∂t log det(A + sB + tC) = −tr(A⁻¹C A⁻¹B)
    rng = np.random.default_rng(31)
    A = spd(rng, 4)
    B, C = sym(rng, 4), sym(rng, 4)
    d2 = mc.derivative(lambda t: mc.derivative(
        lambda s: np.linalg.slogdet(A + s * B + t * C)[1], 0.0), 0.0)
    Ai = np.linalg.inv(A)
    assert mc.relerr(d2, -np.trace(Ai @ C @ Ai @ B)) < 1e-12


@pytest.mark.parametrize("name", ["inv", "solve", "eigh", "cholesky", "qr", "svd", "norm2"])
def test_matrix_rules_nest_forward_over_forward(name):
    """Second directional derivatives: d/ds f'(A + sE)[F] vs finite differences of the jvp."""
    rng = np.random.default_rng(32)
    A, E, F = spd(rng, 4), sym(rng, 4), sym(rng, 4)
    b = rng.standard_normal(4)
    f = {"inv": np.linalg.inv, "solve": lambda X: np.linalg.solve(X, b),
         "eigh": lambda X: np.linalg.eigh(X)[0], "cholesky": np.linalg.cholesky,
         "qr": lambda X: np.linalg.qr(X)[1],
         "svd": lambda X: np.linalg.svd(X, compute_uv=False),
         "norm2": lambda X: np.linalg.norm(X, 2)}[name]
    g = lambda X: mc.jvp(f, X, F)[1]            # X ↦ f'(X)[F]
    second = mc.derivative(lambda s: g(A + s * E), 0.0)
    num = mc.fd.jvp(g, A, E, method="richardson")
    assert mc.relerr(second, num) < 1e-6


def test_jvp_inside_derivative_and_outputs_that_ignore_the_input():
    assert mc.derivative(lambda x: 3.0, 1.0) == 0.0
    y, dy = mc.jvp(lambda x: (x, np.ones(2)), np.ones(3), np.ones(3))
    assert np.array_equal(dy[0], np.ones(3)) and np.array_equal(dy[1], np.zeros(2))
    # a constant output of an inner derivative at the outer level
    assert mc.derivative(lambda x: mc.derivative(lambda y: x * 0 + y, x), 2.0) == 0.0


def test_jacobian_forward_mode_matches_finite_differences():
    rng = np.random.default_rng(33)
    W = rng.standard_normal((3, 4))
    f = lambda x: np.tanh(W @ x) * np.sum(x ** 2)
    x = rng.standard_normal(4)
    J = mc.jacobian(f, x, mode="forward")
    assert J.shape == (3, 4)
    assert mc.relerr(J, mc.fd.jacobian(f, x, method="richardson")) < 1e-8
    X = rng.standard_normal((2, 3))
    JX = mc.jacobian(lambda X: X @ X.T, X, mode="forward")
    assert JX.shape == (2, 2, 2, 3)
    assert mc.relerr(JX, mc.fd.jacobian(lambda X: X @ X.T, X, method="richardson")) < 1e-8


def test_array_jvp_of_mlp_equals_hand_derivative():
    rng = np.random.default_rng(34)
    W1, W2 = rng.standard_normal((2, 6, 6))
    x, dx = rng.standard_normal((2, 6))
    f = lambda x: np.tanh(W2 @ np.tanh(W1 @ x))
    h = np.tanh(W1 @ x)
    dh = (1 - h ** 2) * (W1 @ dx)
    y = np.tanh(W2 @ h)
    assert mc.relerr(mc.jvp(f, x, dx)[1], (1 - y ** 2) * (W2 @ dh)) < 1e-14


# ───────────────────────── bad input and conventions ─────────────────────────

def test_unsupported_numpy_function_names_it_and_says_how_to_add_a_rule():
    with pytest.raises(TypeError) as e:
        mc.jvp(lambda A: np.linalg.lstsq(A, np.ones(2))[0], np.eye(2), np.eye(2))
    msg = str(e.value)
    assert "lstsq" in msg and "FUNCTION_RULES" in msg and "forward_rules.py" in msg
    with pytest.raises(TypeError, match="UFUNC_RULES.*forward_rules.py"):
        mc.derivative(np.spacing, 1.0)


def test_float_and_int_refuse_to_drop_the_tangent():
    d = Dual(2.0, 1.0)
    with pytest.raises(TypeError, match="drop"):
        float(d)
    with pytest.raises(TypeError, match="drop"):
        int(d)
    with pytest.raises(TypeError, match="drop"):
        mc.derivative(lambda x: math.sin(x), 1.0)
    with pytest.raises(TypeError, match="drop its derivative.*np.stack"):
        np.asarray(Dual(np.ones(2), np.ones(2)), dtype=float)


def test_comparisons_and_bool_use_the_value():
    d = Dual(2.0, -5.0)
    assert d > 1 and d >= 2 and d < 3 and d <= 2 and d == 2.0 and d != 1.0
    assert bool(d) and not bool(Dual(0.0, 1.0))
    a = Dual(np.array([1.0, -1.0]), np.ones(2))
    assert np.array_equal(a > 0, [True, False])
    # a branch on the value picks the branch's derivative
    assert mc.derivative(lambda x: x ** 2 if x > 0 else -x, 3.0) == 6.0


def test_mismatched_shapes_raise_at_construction():
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\)"):
        Dual(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        mc.jvp(np.sin, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="scalar x"):
        mc.derivative(np.sin, np.ones(2))


def test_nondifferentiable_points_follow_documented_conventions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mc.derivative(np.abs, 0.0) == 0.0
        assert mc.derivative(abs, 0.0) == 0.0
        assert mc.derivative(lambda x: np.maximum(x, 0.0), 0.0) == 1.0
    with pytest.warns(RuntimeWarning):
        assert mc.derivative(np.sqrt, 0.0) == np.inf
    with pytest.warns(RuntimeWarning):
        assert mc.derivative(lambda x: x ** 0.5, 0.0) == np.inf


def test_in_place_writes_raise_clearly():
    d = Dual(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="in-place"):
        d[0] = 1.0
    with pytest.raises(TypeError, match="in-place write"):
        np.sin(d, out=np.empty(3))


# ───────────────────────── printing ─────────────────────────

def test_dual_prints_readably():
    assert repr(Dual(2.0, 1.0) ** 0.5) == "Dual(1.4142135623730951, 0.35355339059327373)"
    assert repr(mc.Dual(np.float64(2.0), 1.0)) == "Dual(2.0, 1.0)"
    s = repr(Dual(np.array([1.0, 2.0]), np.array([0.5, 0.25])))
    assert s == "Dual(array([1., 2.]),\n     array([0.5 , 0.25]))"
    assert f"{Dual(2.0, 1.0) ** 0.5}" == "Dual(1.4142135623730951, 0.35355339059327373)"
    assert f"{Dual(2.0, 1.0) ** 0.5:.3f}" == "Dual(1.414, 0.354)"
    assert "ε² = 0" in Dual.__doc__


# ───────────────────────── random shapes (hypothesis) ─────────────────────────

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2 ** 16))
def test_elementwise_and_reductions_on_random_shapes(shape, seed):
    rng = np.random.default_rng(seed)
    x, dx = rng.standard_normal(shape), rng.standard_normal(shape)
    f = lambda x: np.sum(np.exp(np.sin(x)) * x ** 2, axis=-1 if x.ndim else None) \
        + np.mean(np.tanh(x))
    y, dy = mc.jvp(f, x, dx)
    assert np.shape(dy) == np.shape(y)
    assert mc.relerr(dy, mc.fd.jvp(f, x, dx, method="richardson")) < 1e-7


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 5), k=st.integers(1, 5), n=st.integers(1, 5), seed=st.integers(0, 999))
def test_matmul_chain_on_random_shapes(m, k, n, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    dA = rng.standard_normal((m, k))
    # d(A B Bᵀ Aᵀ) = dA B Bᵀ Aᵀ + A B Bᵀ dAᵀ
    dy = mc.jvp(lambda A: A @ B @ B.T @ A.T, A, dA)[1]
    assert mc.relerr(dy, dA @ B @ B.T @ A.T + A @ B @ B.T @ dA.T) < 1e-12


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 999))
def test_logdet_and_inverse_on_random_sizes(n, seed):
    rng = np.random.default_rng(seed)
    A = spd(rng, n)
    dA = rng.standard_normal((n, n))
    assert mc.relerr(mc.jvp(lambda A: np.linalg.slogdet(A)[1], A, dA)[1],
                     np.trace(np.linalg.solve(A, dA))) < 1e-12
    check(np.linalg.inv, A, dA)


# ───────────────────────── operators with NumPy objects on the left ─────────────────────────

def test_operators_with_arrays_and_numpy_scalars_on_either_side():
    rng = np.random.default_rng(35)
    A = rng.standard_normal((3, 3))
    x, dx = 0.5 + rng.random(3), rng.standard_normal(3)
    f = lambda x: (A @ x + A * x - A / x + 2.0 ** x - x ** np.float64(1.5)
                   + np.float64(2.0) * x + x @ A + (A - x) @ (x % 0.3))
    check(f, x, dx)
    # a scalar Dual broadcast against an array: the tangent takes the value's shape
    y, dy = mc.jvp(lambda t: A + t, np.array(1.0), np.array(2.0))
    assert dy.shape == A.shape and np.all(dy == 2.0)
    assert np.array_equal(mc.derivative(lambda t: np.arange(3.0) * t + 1, 5.0), [0, 1, 2])
    d = Dual(np.arange(3.0), np.ones(3))
    assert len(d) == 3 and [r.value for r in d] == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="np.stack"):
        np.array([Dual(1.0, 1.0), Dual(2.0, 0.0)], dtype=float)


# ───────────────────────── together with reverse mode ─────────────────────────

HESS = {
    "logdet": lambda X: np.linalg.slogdet(X)[1],
    "inv": lambda X: np.sum(np.linalg.inv(X) * np.arange(16.0).reshape(4, 4)),
    "solve": lambda X: np.linalg.solve(X, np.arange(4.0)) @ np.ones(4),
    "det": np.linalg.det,
    "eigvalsh": lambda X: np.sum(np.linalg.eigvalsh(X) ** 3),
    "cholesky": lambda X: np.sum(np.linalg.cholesky(X) ** 2 * np.arange(4.0)),
    "expm": lambda X: np.sum(mc.expm(0.1 * X) * np.arange(16.0).reshape(4, 4)),
    "norm2": lambda X: np.linalg.norm(X, 2),
    "issue_example": lambda X: np.trace(np.linalg.inv(X) @ X @ X) + np.sin(X).sum(),
}


@pytest.mark.parametrize("name", sorted(HESS))
def test_forward_over_reverse_hvp_and_reverse_over_forward_agree(name):
    """hvp = jvp of grad (Duals inside Boxes); grad of a jvp (Boxes inside Duals)."""
    f = HESS[name]
    rng = np.random.default_rng(36)
    S, V = spd(rng, 4), sym(rng, 4)
    h = mc.hvp(f, S, V)
    num = mc.fd.jvp(mc.grad(f), S, V, method="richardson")
    assert mc.relerr(h, num) < 1e-7
    h2 = mc.grad(lambda X: mc.jvp(f, X, V)[1])(S)       # ∇⟨f'(X)[V]⟩ = ∇²f V
    assert mc.relerr(h2, h) < 1e-12


def test_hessian_forward_over_reverse_of_quadratic_is_exact():
    rng = np.random.default_rng(37)
    A = rng.standard_normal((5, 5))
    H = mc.hessian(lambda x: x @ A @ x + np.sum(x ** 3), x := rng.standard_normal(5))
    assert mc.relerr(H, A + A.T + np.diag(6 * x)) < 1e-14


def test_docstring_examples_run():
    import doctest

    import mcutils.forward

    assert doctest.testmod(mcutils.forward).failed == 0
