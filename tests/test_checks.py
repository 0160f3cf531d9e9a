"""Tests of relerr, check_jvp, check_gradient and CheckResult."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mcutils as mc
from mcutils.checks import CheckResult


# ---------------------------------------------------------------- relerr
def test_relerr_scalars_and_arrays():
    assert mc.relerr(1.0 + 1e-8, 1.0) == pytest.approx(1e-8, rel=1e-6)
    a, b = np.array([[3.0, 0.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [0.0, 4.0]])
    assert mc.relerr(a, b) == pytest.approx(5 / 4)  # Frobenius norms
    assert mc.relerr(1j, 1.0) == pytest.approx(np.sqrt(2))
    assert isinstance(mc.relerr(np.ones(2), np.ones(2)), float)


def test_relerr_zero_reference():
    assert mc.relerr(np.zeros(3), np.zeros(3)) == 0.0
    assert mc.relerr(np.ones(3), np.zeros(3)) == float("inf")


def test_relerr_shape_mismatch_message():
    with pytest.raises(ValueError, match=r"shapes differ, a has shape \(3,\), b has \(3, 1\)"):
        mc.relerr(np.ones(3), np.ones((3, 1)))
    assert mc.relerr(np.ones(1), 1.0) == 0.0  # size-1 arrays compare with scalars


# ---------------------------------------------------------------- CheckResult
def test_checkresult_prints_with_two_significant_digits():
    r = CheckResult(ok=True, relerr=3.2149e-10, method="richardson")
    assert repr(r) == "CheckResult(ok=True, relerr=3.2e-10, method='richardson')"
    assert str(r) == repr(r)
    assert bool(r) and r.assert_ok() is r


def test_checkresult_with_parts_prints_one_line_per_part_and_fails_with_any():
    good = CheckResult(ok=True, relerr=2.5e-12, method="richardson", what="jvp part")
    bad = CheckResult(ok=False, relerr=1.25e-3, method="richardson", what="vjp part, longer",
                      claimed=np.array([1.00125]), numeric=np.array([1.0]), x_shape=(1,))
    both = CheckResult(ok=False, relerr=1.25e-3, method="richardson", what="rules of f",
                       parts=(good, bad))
    assert repr(both) == (
        "CheckResult(ok=False, relerr=0.0013, method='richardson'), rules of f:\n"
        "  jvp part          ok      relerr 2.5e-12\n"
        "  vjp part, longer  FAILED  relerr 0.0013")
    assert not both
    with pytest.raises(AssertionError, match=r"rules of f: 1 of 2 comparisons failed\n"
                       r"vjp part, longer check failed: relerr = 0\.00125"):
        both.assert_ok()
    fine = CheckResult(ok=True, relerr=2.5e-12, method="richardson", parts=(good,))
    assert fine.assert_ok() is fine


def test_checkresult_failure_is_falsy_and_assert_ok_shows_numbers_and_shapes():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, 2))
    r = mc.check_jvp(lambda X: X.T @ X, lambda X, dX: 2 * X.T @ dX, X)
    assert not r
    assert repr(r).startswith("CheckResult(ok=False, relerr=")
    with pytest.raises(AssertionError) as e:
        r.assert_ok()
    msg = str(e.value)
    assert "jvp check failed: relerr =" in msg and "> rtol = 1e-06" in msg
    assert "x has shape (3, 2), f(x) has shape (2, 2)" in msg
    assert "claimed" in msg and "numerical" in msg and "largest difference" in msg


# ---------------------------------------------------------------- check_gradient
def _matrix_problem():
    rng = np.random.default_rng(3)
    A, B, X = rng.standard_normal((3, 10, 10))
    f = lambda X: np.sum(np.sin(A @ X)) + np.trace(X @ B @ X)
    grad = lambda X: A.T @ np.cos(A @ X) + (B @ X).T + (X @ B).T
    return f, grad, X


def test_check_gradient_accepts_correct_gradient_of_matrix_function():
    f, grad, X = _matrix_problem()
    r = mc.check_gradient(f, grad, X)
    assert r and r.relerr < 1e-10 and r.method == "richardson"
    assert mc.check_gradient(f, grad(X), X)  # an array works as well as a callable
    assert mc.check_gradient(f, grad, X, full=True)


def test_check_gradient_rejects_gradient_wrong_by_relative_1e_minus_4():
    f, grad, X = _matrix_problem()
    rng = np.random.default_rng(4)
    g = grad(X)
    E = rng.standard_normal(g.shape)
    wrong = g + 1e-4 * np.linalg.norm(g) / np.linalg.norm(E) * E  # ‖error‖ = 1e-4 ‖∇f‖
    r = mc.check_gradient(f, wrong, X)
    assert not r and 1e-5 < r.relerr < 1e-3
    assert not mc.check_gradient(f, g * (1 + 1e-4), X)
    one_entry = g.copy()
    one_entry[3, 4] *= 1 + 1e-4  # a single entry off by a relative 1e-4
    assert not mc.check_gradient(f, one_entry, X)
    assert not mc.check_gradient(f, one_entry, X, full=True)


@pytest.mark.parametrize("method, rtol", [("forward", 1e-6), ("backward", 1e-6),
                                          ("central", 1e-6), ("complex", 1e-12)])
def test_check_gradient_other_methods(method, rtol):
    f, grad, X = _matrix_problem()
    assert mc.check_gradient(f, grad, X, method=method, rtol=rtol)


def test_check_gradient_is_deterministic():
    f, grad, X = _matrix_problem()
    r1, r2 = mc.check_gradient(f, grad, X), mc.check_gradient(f, grad, X)
    assert r1.relerr == r2.relerr and repr(r1) == repr(r2)
    r3 = mc.check_gradient(f, grad, X, seed=1)
    assert r3 and r3.relerr != r1.relerr


def test_check_gradient_complex_input_convention():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    f = lambda z: np.sum(np.abs(z) ** 2)
    assert mc.check_gradient(f, lambda z: 2 * z, z)
    assert mc.check_gradient(f, lambda z: 2 * z, z, full=True)
    assert not mc.check_gradient(f, lambda z: 2 * np.conj(z), z)
    A = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    Z = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    # f(Z) = Re tr(A Z) = Re⟨Aᴴ, Z⟩, so ∇f = Aᴴ
    assert mc.check_gradient(lambda Z: np.real(np.trace(A @ Z)), A.conj().T, Z)
    assert not mc.check_gradient(lambda Z: np.real(np.trace(A @ Z)), A.T, Z)


def test_check_gradient_scalar_x_and_scalar_gradient():
    assert mc.check_gradient(np.sin, np.cos(0.7), 0.7)
    assert mc.check_gradient(lambda x: np.sum(x**3), lambda x: 3 * x**2, np.array([2.0]))


def test_check_gradient_atol_near_stationary_point():
    f = lambda x: np.sum((x - 1.0) ** 2)
    x = np.ones(3) + 1e-13
    assert mc.check_gradient(f, lambda x: 2 * (x - 1.0), x, atol=1e-9)


def test_check_gradient_bad_input_messages():
    x = np.ones((2, 3))
    msg = r"gradient has shape \(6,\), expected the shape of x, \(2, 3\)"
    with pytest.raises(ValueError, match=msg):
        mc.check_gradient(np.sum, np.ones(6), x)
    with pytest.raises(ValueError, match=r"scalar-valued f, but f\(x\) has shape \(2, 3\)"):
        mc.check_gradient(np.sin, np.ones((2, 3)), x)
    with pytest.raises(ValueError, match="unknown finite-difference method 'exact'; valid"):
        mc.check_gradient(np.sum, np.ones((2, 3)), x, method="exact")
    with pytest.raises(ValueError, match="x is real but the claimed gradient is complex"):
        mc.check_gradient(np.sum, np.ones((2, 3)) * 1j, x)
    with pytest.raises(FloatingPointError, match=r"f\(x\) returned nan"):
        mc.check_gradient(lambda x: np.sum(np.log(x)), 1 / x, -x)


# ---------------------------------------------------------------- check_jvp
def test_check_jvp_matrix_to_matrix():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 4))
    inv = np.linalg.inv
    assert mc.check_jvp(inv, lambda X, dX: -inv(X) @ dX @ inv(X), X)
    assert not mc.check_jvp(inv, lambda X, dX: -inv(X) @ inv(X) @ dX, X)
    assert mc.check_jvp(lambda X: X @ X, lambda X, dX: X @ dX + dX @ X, X, full=True)


def test_check_jvp_matrix_to_scalar_with_python_float():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, 3))
    det_jvp = lambda X, dX: float(np.linalg.det(X) * np.trace(np.linalg.solve(X, dX)))
    assert mc.check_jvp(np.linalg.det, det_jvp, X)
    assert mc.check_jvp(np.linalg.det, det_jvp, X, full=True)


def test_check_jvp_non_square_shapes():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 2))
    r = mc.check_jvp(lambda X: X.T @ X, lambda X, dX: dX.T @ X + X.T @ dX, X)
    assert r and r.claimed.shape == (2, 2, 2)  # 2 directions, f(x) is 2×2


def test_check_jvp_complex_holomorphic():
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    assert mc.check_jvp(lambda Z: Z @ Z @ Z, lambda Z, dZ: dZ @ Z @ Z + Z @ dZ @ Z + Z @ Z @ dZ, Z)
    z = np.array([0.5 + 1j, -1 + 0.2j])
    assert mc.check_jvp(np.exp, lambda z, dz: np.exp(z) * dz, z)
    assert not mc.check_jvp(np.exp, lambda z, dz: np.exp(z) * np.conj(dz), z)


def test_check_jvp_given_direction_and_scalar_x():
    assert mc.check_jvp(np.sin, lambda x, dx: np.cos(x) * dx, 0.3)
    assert mc.check_jvp(np.sin, lambda x, dx: np.cos(x) * dx, np.ones(3), dx=np.arange(3.0))
    assert mc.check_jvp(np.sin, lambda x, dx: np.cos(x) * dx, 1.0, method="complex", rtol=1e-14)


def test_check_jvp_bad_input_messages():
    with pytest.raises(ValueError, match=r"df\(x, dx\) returned shape \(3,\), expected the "
                                         r"shape of f\(x\), \(3, 1\)"):
        mc.check_jvp(lambda x: x.reshape(3, 1), lambda x, dx: dx, np.ones(3))
    msg = r"dx must have the shape of x, expected \(3,\), got \(2,\)"
    with pytest.raises(ValueError, match=msg):
        mc.check_jvp(np.sin, lambda x, dx: dx, np.ones(3), dx=np.ones(2))
    with pytest.raises(ValueError, match="not analytic"):
        mc.check_jvp(np.abs, lambda x, dx: np.sign(x) * dx, np.ones(2), method="complex")


def test_check_jvp_nan_in_claim_fails():
    r = mc.check_jvp(np.sin, lambda x, dx: np.full(2, np.nan), np.ones(2))
    assert not r


# ---------------------------------------------------------------- random shapes
shapes = st.tuples(st.integers(1, 5), st.integers(1, 5))


@given(shapes, st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_check_gradient_on_random_shapes(shape, seed):
    rng = np.random.default_rng(seed)
    B, X = rng.standard_normal((2,) + shape)
    f = lambda X: np.sum(B * np.sin(X)) + 0.5 * np.sum(X**2)
    g = B * np.cos(X) + X
    assert mc.check_gradient(f, g, X)
    E = rng.standard_normal(shape)
    assert not mc.check_gradient(f, g + 1e-3 * np.linalg.norm(g) / np.linalg.norm(E) * E, X)


@given(shapes, st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_check_jvp_on_random_shapes(shape, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape)
    f = lambda X: X.T @ np.tanh(X)
    df = lambda X, dX: dX.T @ np.tanh(X) + X.T @ (dX / np.cosh(X) ** 2)
    assert mc.check_jvp(f, df, X)
    assert not mc.check_jvp(f, lambda X, dX: dX.T @ np.tanh(X), X)
