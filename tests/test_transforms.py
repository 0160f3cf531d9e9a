"""Derived operators (mcutils.transforms): jacobian in both modes, hessian, hvp."""

import numpy as np
import pytest

import mcutils as mc

rng = np.random.default_rng(13)
A = rng.standard_normal((4, 3))
B = rng.standard_normal((3, 3)) + 3 * np.eye(3)

FUNCS = {
    "vector_to_vector": (lambda x: np.tanh(A @ x), rng.standard_normal(3)),
    "vector_to_scalar": (lambda x: np.sum(np.sin(x) * x), rng.standard_normal(5)),
    "matrix_to_matrix": (lambda X: X @ X, rng.standard_normal((2, 2))),
    "matrix_to_matrix_nonsquare": (lambda X: np.sin(X) @ A[:3, :2], rng.standard_normal((4, 3))),
    "inverse": (lambda X: np.linalg.inv(X), B.copy()),
    "scalar_to_vector": (lambda t: np.stack([np.cos(t), np.sin(t), t ** 2]), np.float64(0.3)),
    "one_by_one": (lambda X: np.linalg.det(X) * X, np.array([[1.5]])),
}


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_jacobian_matches_finite_differences(name, mode):
    f, x = FUNCS[name]
    J = mc.jacobian(f, x, mode=mode)
    J_fd = mc.fd.jacobian(f, x, method="richardson")
    assert J.shape == np.shape(f(x)) + np.shape(x)
    assert mc.relerr(J, J_fd) < 1e-8


def test_jacobian_of_square_is_kron_formula():
    # vec(d(X²)) = (I⊗X + Xᵀ⊗I) vec(dX), column-major vec
    M = np.array([[1.0, 2.0], [3.0, 4.0]])
    J = mc.jacobian(lambda X: X @ X, M, mode="reverse")
    J_vec = J.transpose(1, 0, 3, 2).reshape(4, 4)          # row-major index → column-major
    assert np.allclose(J_vec, np.kron(np.eye(2), M) + np.kron(M.T, np.eye(2)), atol=1e-14)
    assert np.array_equal(J, mc.jacobian(lambda X: X @ X, M, mode="forward"))


def test_jacobian_modes_agree_for_real_input_complex_output():
    x = rng.standard_normal(3)
    f = lambda x: np.exp(1j * x) * np.sum(x)
    Jf = mc.jacobian(f, x, mode="forward")
    Jr = mc.jacobian(f, x, mode="reverse")
    assert np.iscomplexobj(Jr)
    assert mc.relerr(Jr, Jf) < 1e-14
    assert mc.relerr(Jr, mc.fd.jacobian(f, x, method="richardson")) < 1e-8


def test_jacobian_of_holomorphic_function_of_complex_input():
    z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    f = lambda z: np.sin(z) * z[0] + z ** 2
    exact = np.diag(np.cos(z) * z[0] + 2 * z)
    exact[:, 0] += np.sin(z)
    for mode in ("forward", "reverse"):
        assert mc.relerr(mc.jacobian(f, z, mode=mode), exact) < 1e-14
    Z = rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2))
    Jr = mc.jacobian(np.linalg.inv, Z, mode="reverse")
    Jf = mc.jacobian(np.linalg.inv, Z, mode="forward")
    assert mc.relerr(Jr, Jf) < 1e-13


def test_reverse_jacobian_of_real_function_of_complex_input_is_the_gradient():
    z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    f = lambda z: np.sum(np.abs(z) ** 2)
    assert mc.relerr(mc.jacobian(f, z, mode="reverse"), 2 * z) < 1e-15


def test_jacobian_empty_input_and_bad_mode():
    J = mc.jacobian(lambda x: np.sum(x) * np.ones(2), np.zeros(0), mode="forward")
    assert J.shape == (2, 0)
    J = mc.jacobian(lambda x: x * 2, np.zeros(0), mode="reverse")
    assert J.shape == (0, 0)
    with pytest.raises(ValueError, match="mode must be 'forward' or 'reverse'"):
        mc.jacobian(np.sin, np.ones(2), mode="sideways")


HESS = {
    "rosenbrock": (lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
                   rng.standard_normal(5)),
    "logdet": (lambda X: np.linalg.slogdet(X)[1] + np.trace(np.linalg.inv(X) @ B),
               B + B.T + 6 * np.eye(3)),
    "quadratic_form": (lambda x: x @ (B @ x), rng.standard_normal(3)),
    "mlp": (lambda x: np.sum(np.tanh(A @ np.tanh(x))), rng.standard_normal(3)),
    "eigvalsh": (lambda X: np.linalg.eigvalsh(X + X.T)[-1], rng.standard_normal((3, 3))),
    "one_by_one": (lambda X: np.exp(X[0, 0]) * np.linalg.det(X), np.array([[0.7]])),
}


@pytest.mark.parametrize("name", sorted(HESS))
def test_hessian_matches_finite_differences_and_is_symmetric(name):
    f, x = HESS[name]
    H = mc.hessian(f, x)
    assert H.shape == x.shape + x.shape
    # differences of the (exact) gradient are more accurate than second differences of f
    H_fd = mc.fd.jacobian(mc.grad(f), x, method="richardson")
    assert mc.relerr(H, H_fd) < 1e-8
    n = x.size
    Hm = H.reshape(n, n)
    assert np.allclose(Hm, Hm.T, rtol=1e-10, atol=1e-12)


def test_hessian_of_quadratic_form_is_exact():
    x = rng.standard_normal(3)
    assert np.allclose(mc.hessian(lambda x: x @ (B @ x), x), B + B.T, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", sorted(HESS))
def test_hvp_equals_hessian_times_vector(name):
    f, x = HESS[name]
    v = rng.standard_normal(x.shape)
    H = mc.hessian(f, x).reshape(x.size, x.size)
    assert mc.relerr(mc.hvp(f, x, v), (H @ v.ravel()).reshape(x.shape)) < 1e-12


# ---------------------------------------------------------------- jacobian composes
def _vec_f(x):
    return np.stack([x[0] ** 2 * x[1], np.sin(x[1]) * x[2], np.exp(x[0] * x[2]), x[2] ** 3])


def _vec_J(x):
    """The Jacobian of _vec_f by hand (4×3)."""
    e = np.exp(x[0] * x[2])
    return np.array([[2 * x[0] * x[1], x[0] ** 2, 0.0],
                     [0.0, np.cos(x[1]) * x[2], np.sin(x[1])],
                     [x[2] * e, 0.0, x[0] * e],
                     [0.0, 0.0, 3 * x[2] ** 2]])


X3 = np.array([0.4, -1.3, 0.7])


def test_hand_jacobian_is_right():
    assert mc.relerr(_vec_J(X3), mc.fd.jacobian(_vec_f, X3, method="richardson")) < 1e-10


@pytest.mark.parametrize("outer", ["forward", "reverse"])
@pytest.mark.parametrize("inner", ["forward", "reverse"])
def test_jacobian_of_jacobian_is_the_second_derivative_tensor(inner, outer):
    T = mc.jacobian(mc.jacobian(_vec_f, mode=inner), mode=outer)(X3)
    T_fd = mc.fd.jacobian(_vec_J, X3, method="richardson")        # ∂J_ij/∂x_k
    assert T.shape == (4, 3, 3)
    assert mc.relerr(T, T_fd) < 1e-9
    assert np.allclose(T, np.swapaxes(T, 1, 2), rtol=1e-13, atol=0)  # each f_i has a Hessian
    # the same with x passed explicitly, and against the Hessian of each component
    T2 = mc.jacobian(lambda x: mc.jacobian(_vec_f, x, mode=inner), X3, mode=outer)
    assert np.array_equal(T, T2)
    assert mc.relerr(T[3], mc.hessian(lambda x: _vec_f(x)[3], X3)) < 1e-14


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_grad_through_jacobian_matches_finite_differences(mode):
    W = rng.standard_normal((4, 3))                     # weights: no symmetry to hide behind
    phi = lambda x: np.sum(W * mc.jacobian(_vec_f, x, mode=mode)) + np.trace(
        mc.jacobian(_vec_f, x, mode=mode)[:3] @ W[:3])
    phi_ref = lambda x: np.sum(W * _vec_J(x)) + np.trace(_vec_J(x)[:3] @ W[:3])
    g = mc.grad(phi)(X3)
    assert mc.relerr(g, mc.fd.gradient(phi_ref, X3, method="richardson")) < 1e-9
    # forward mode through it too: the directional derivative of phi
    v = rng.standard_normal(3)
    assert mc.jvp(phi, X3, v)[1] == pytest.approx(
        mc.fd.jvp(phi_ref, X3, v, method="richardson"), rel=1e-9)
    # and a second derivative of something built on a Jacobian: ∇² log|det J| of a square f
    sq = lambda x: _vec_f(x)[:3]
    logdet = lambda x: np.linalg.slogdet(mc.jacobian(sq, x, mode=mode))[1]
    logdet_ref = lambda x: np.linalg.slogdet(_vec_J(x)[:3])[1]
    assert mc.relerr(mc.grad(logdet)(X3),
                     mc.fd.gradient(logdet_ref, X3, method="richardson")) < 1e-8


def test_jacobian_of_matrix_function_nested_and_curried():
    M = rng.standard_normal((2, 2))
    f = lambda X: X @ M @ X                              # d²f[dX, dY] = dX M dY + dY M dX
    T = mc.jacobian(mc.jacobian(f))(M.T.copy())
    assert T.shape == (2, 2, 2, 2, 2, 2)
    dX, dY = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    second = np.einsum("ijklmn,kl,mn->ij", T, dX, dY)
    assert mc.relerr(second, dX @ M @ dY + dY @ M @ dX) < 1e-14
    Jf = mc.jacobian(np.sin, mode="reverse")
    assert Jf.__name__ == "sin" and callable(Jf)
    with pytest.raises(ValueError, match="mode must be 'forward' or 'reverse'"):
        mc.jacobian(np.sin, mode="sideways")


def test_third_derivative_through_hessian():
    # f = (Σx³)(Σx): ∇²f = 6 s diag(x) + 3 (x² 1ᵀ + 1 x²ᵀ) with s = Σx, so the Laplacian
    # tr ∇²f = 6 s² + 6 Σx² and its gradient is 12 s 1 + 12 x — a third derivative of f
    f = lambda x: np.sum(x ** 3) * np.sum(x)
    tr_hess = lambda x: 6 * np.sum(x) ** 2 + 6 * np.sum(x ** 2)
    x = rng.standard_normal(3)
    assert np.trace(mc.hessian(f, x)) == pytest.approx(tr_hess(x), rel=1e-13)
    g = mc.grad(lambda x: np.trace(mc.hessian(f, x)))(x)
    assert np.array_equal(mc.hessian(f)(x), mc.hessian(f, x))
    T = mc.jacobian(mc.hessian(f))(x)                    # ∂³f, symmetric in all three
    assert mc.relerr(np.einsum("iik->k", T), g) < 1e-13
    assert np.allclose(T, np.transpose(T, (2, 0, 1)), rtol=1e-13, atol=1e-13)
    assert mc.relerr(g, mc.fd.gradient(tr_hess, x, method="richardson")) < 1e-10
    assert mc.relerr(g, 12 * np.sum(x) + 12 * x) < 1e-13
