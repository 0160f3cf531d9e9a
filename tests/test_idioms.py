"""Arrays built from traced values (issue 13): np.array([...]), np.r_, np.c_, lists handed
to reductions — both modes, first and second order, against finite differences.

The design (object arrays of Entries, lifted to one traced array by the engines) is
described in the module docstring section of mcutils/_core.py.
"""

import numpy as np
import pytest

import mcutils as mc

rng = np.random.default_rng(2024)
X = rng.standard_normal(3)
DX = rng.standard_normal(3)
W = rng.standard_normal((2, 2))


def _checks(f, x=X, dx=DX, second=True):
    """jvp, vjp/grad and (for scalar f) Hessian of f against finite differences."""
    y = np.asarray(f(x), dtype=float)          # plain input: plain NumPy
    yj, dy = mc.jvp(f, x, dx)
    assert isinstance(yj, np.ndarray) or np.ndim(yj) == 0
    assert np.allclose(yj, y, rtol=1e-15, atol=0)
    ref = mc.fd.jvp(f, x, dx, method="richardson")
    assert mc.relerr(dy, ref) < 1e-8
    yv, pb = mc.vjp(f, x)
    w = rng.standard_normal(np.shape(y))
    assert mc.relerr(np.sum(pb(w) * dx), np.sum(w * ref)) < 1e-8
    J = mc.fd.jacobian(f, x, method="richardson")
    for mode in ("forward", "reverse"):
        assert mc.relerr(mc.jacobian(f, x, mode=mode), J) < 1e-8
    if second:
        s = lambda x: np.sum(w * f(x))              # noqa: E731
        H = mc.fd.hessian(s, x)
        assert mc.relerr(mc.hessian(s, x), H) < 1e-5
        assert mc.relerr(mc.hvp(s, x, dx), H @ dx) < 1e-5
        assert mc.relerr(mc.grad(s)(x), mc.fd.gradient(s, x, method="richardson")) < 1e-8


IDIOMS = {
    "array_of_scalars": lambda x: np.array([x[0] * x[1], np.sin(x[2])]),
    "array_2x2_times_matrix": lambda x: np.ravel(W @ np.array([[x[0], x[1] ** 2],
                                                              [np.exp(x[2]), 1.5]])),
    "array_mixed_with_constants": lambda x: np.array([x[0], 2.0, x[1] * x[2], 0.0]) * 3,
    "array_then_elementwise": lambda x: np.tanh(np.array([x[0] * x[2], x[1]])) + 1,
    "array_of_vectors": lambda x: np.ravel(np.array([x[:2] * x[2], np.cos(x[1:])])),
    "array_into_traced_op": lambda x: np.concatenate([np.array([x[0] ** 2, x[1]]), x]),
    "array_times_traced": lambda x: np.array([x[0], x[1]]) * x[1:],
    "r_": lambda x: np.r_[x[0], x[1:] * 2, 5.0, np.sin(x[2])],
    "c_": lambda x: np.ravel(np.c_[x, x ** 2]),
    "array_matmul_array": lambda x: np.array([[x[0], x[1]], [x[2], x[0]]]) @ np.array([x[1], 1.0]),
}


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_vector_valued_function_built_with_np_array(name):
    _checks(IDIOMS[name])


REDUCTIONS = {
    "sum": np.sum, "mean": np.mean, "std": np.std, "var": np.var, "norm": np.linalg.norm,
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_python_list_of_traced_values_handed_to_a_reduction(name):
    fn = REDUCTIONS[name]
    _checks(lambda x: fn([x[0] * x[1], np.sin(x[2]), x[0], 0.5]))
    # a list of traced vectors, reduced along an axis
    _checks(lambda x: fn([x[:2], x[1:] ** 2], axis=0))
    # the value is the plain NumPy value
    v = fn([X[0] * X[1], np.sin(X[2]), X[0], 0.5])
    assert mc.value_and_grad(lambda x: fn([x[0] * x[1], np.sin(x[2]), x[0], 0.5]))(X)[0] == v


def test_scalar_function_from_np_array_gradient_matches_hand_derivative():
    f = lambda x: np.sum(np.array([x[0] * x[1], x[2] ** 2]) ** 2)      # noqa: E731
    g = mc.grad(f)(X)
    a, b, c = X
    assert np.allclose(g, [2 * a * b * b, 2 * a * a * b, 4 * c ** 3], rtol=1e-14)


def test_what_cannot_work_says_what_to_write():
    with pytest.raises(TypeError, match=r"np\.stack\(\[a, b\]\)"):
        mc.grad(lambda x: np.sum(np.array([x[0], x[1]], dtype=float)))(X)
    with pytest.raises(TypeError, match=r"np\.stack"):
        mc.jvp(lambda x: np.array([x[0], x[1]], dtype=np.float64), X, DX)

    def write(x):
        A = np.zeros(2)
        A[0] = x[0]
        return A

    for run in (lambda: mc.grad(lambda x: np.sum(write(x)))(X), lambda: mc.jvp(write, X, DX)):
        # NumPy may wrap mcutils' TypeError in "setting an array element with a sequence"
        with pytest.raises((TypeError, ValueError)) as err:
            run()
        e = err.value if isinstance(err.value, TypeError) else err.value.__cause__
        assert isinstance(e, TypeError) and "np.stack" in str(e) and "A[i]" in str(e)
    with pytest.raises(TypeError, match="np.stack"):
        mc.grad(lambda x: np.sum(np.asarray(np.tile(x, 4000))))(X)


def test_entries_never_drop_the_derivative_silently():
    # comparisons and bool use the value; float() raises
    def f(x):
        v = np.array([x[0], x[1]])
        return v[0] if v[0] > v[1] else v[1]

    g = mc.grad(f)(X)
    assert np.array_equal(g, [1.0, 0, 0] if X[0] > X[1] else [0, 1.0, 0])
    with pytest.raises(TypeError, match="drop its derivative"):
        mc.grad(lambda x: float(np.array([x[0], x[1]])[0]))(X)
