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
