"""Tests of mcutils.fd: accuracy of each method, stencils, shapes, and error messages."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mcutils as mc
from mcutils import fd

f_es = lambda x: np.exp(np.sin(x))
df_es = lambda x: np.cos(x) * np.exp(np.sin(x))


# ---------------------------------------------------------------- accuracy (issue numbers)
@pytest.mark.parametrize(
    "method, tol",
    [("forward", 1e-7), ("backward", 1e-7), ("central", 1e-9), ("richardson", 1e-12),
     ("complex", 1e-15)],
)
def test_default_step_accuracy_on_exp_sin(method, tol):
    err = mc.relerr(fd.derivative(f_es, 1.0, method=method), df_es(1.0))
    assert err <= tol


def test_central_beats_forward_beats_nothing():
    errs = {m: mc.relerr(fd.derivative(f_es, 1.0, method=m), df_es(1.0))
            for m in ("forward", "central", "richardson")}
    assert errs["richardson"] < errs["central"] < errs["forward"]


@pytest.mark.parametrize("x", [1e-3, 0.05, 3.0, 100.0, 1e4])
def test_richardson_log_across_scales(x):
    # at x = 0.05 the first step 0.1 would leave log's domain: it must shrink, not fail
    assert mc.relerr(fd.derivative(np.log, x, method="richardson"), 1 / x) < 1e-10


@pytest.mark.parametrize("x", [0.0, 1.0, 10.0, 1000.0])
def test_richardson_does_not_alias_on_oscillating_function(x):
    # regression: a first step relative to |x| = 1000 aliased sin and gave cos(1000) wrong
    assert abs(fd.derivative(np.sin, x, method="richardson") - np.cos(x)) < 1e-10


def test_central_difference_is_exact_on_quadratics_even_for_large_steps():
    rng = np.random.default_rng(3)
    X, dX = rng.standard_normal((4, 3, 3))[:2]
    exact = X @ dX + dX @ X
    assert mc.relerr(fd.jvp(lambda X: X @ X, X, dX, h=0.5), exact) < 1e-14
    assert mc.relerr(fd.jvp(lambda X: X @ X, X, dX, h=0.5, method="forward"), exact) > 0.1


def test_complex_step_needs_no_cancellation_tiny_h():
    # h = 1e-200: central differences would return 0, the complex step is still exact
    d = fd.derivative(f_es, 1.0, h=1e-200, method="complex")
    assert mc.relerr(d, df_es(1.0)) < 1e-15


def test_step_h_is_used():
    # forward difference of x² with step h is 2x + h exactly (up to roundoff)
    assert abs(fd.derivative(lambda x: x**2, 1.0, h=0.25, method="forward") - 2.25) < 1e-15
    assert abs(fd.derivative(lambda x: x**2, 1.0, h=0.25, method="backward") - 1.75) < 1e-15


def test_default_step_values():
    assert fd.default_step("central", 1.0) == pytest.approx(np.finfo(float).eps ** (1 / 3))
    assert fd.default_step("forward", 100.0) == pytest.approx(100 * np.sqrt(np.finfo(float).eps))
    # along a direction no entry moves more than base·max(1, |x_k|)
    t = fd.default_step("central", np.array([100.0, 0.5]), np.array([1.0, 2.0]))
    assert t * 2.0 == pytest.approx(fd.METHODS["central"])
    # Richardson's first step does not grow with |x|
    assert fd.default_step("richardson", 1000.0) == pytest.approx(0.1)


# ---------------------------------------------------------------- stencils
def test_stencil_one_sided_first_derivative_is_exact_fractions():
    w = fd.stencil([0, 1, 2, 3], 1)
    assert w == [Fraction(-11, 6), Fraction(3), Fraction(-3, 2), Fraction(1, 3)]
    assert all(isinstance(v, Fraction) for v in w)


@pytest.mark.parametrize(
    "points, m, expected",
    [([-1, 1], 1, [Fraction(-1, 2), Fraction(1, 2)]),
     ([-1, 0, 1], 2, [1, -2, 1]),
     ([0, 1], 1, [-1, 1]),
     ([-2, -1, 0, 1, 2], 1, [Fraction(1, 12), Fraction(-2, 3), 0, Fraction(2, 3),
                             Fraction(-1, 12)]),
     ([Fraction(-1, 2), Fraction(1, 2)], 1, [-1, 1]),
     ([0, 1, 2], 0, [1, 0, 0])],
)
def test_stencil_classic_weights(points, m, expected):
    assert fd.stencil(points, m) == expected


def test_stencil_float_points_give_float_weights_matching_exact():
    w = fd.stencil([0.0, 1.0, 2.0, 3.0], 1)
    assert isinstance(w, np.ndarray) and w.dtype == float
    assert np.allclose(w, [-11 / 6, 3, -3 / 2, 1 / 3], rtol=1e-12, atol=0)


@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_stencil_of_order_p_has_error_slope_p(p):
    # one-sided stencil on p + 1 points for f': error C·h^p; fit the log–log slope
    points = list(range(p + 1))
    hs = np.logspace(-1.6, -0.8, 6)
    errs = [abs(fd.stencil_derivative(np.exp, 0.3, points, 1, h=h) - np.exp(0.3)) for h in hs]
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(slope - p) < 0.15


def test_central_and_forward_slopes_in_truncation_regime():
    hs = np.logspace(-3, -1.5, 6)
    for method, p in [("forward", 1), ("backward", 1), ("central", 2), ("complex", 2)]:
        errs = [abs(fd.derivative(f_es, 1.0, h=h, method=method) - df_es(1.0)) for h in hs]
        slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
        assert abs(slope - p) < 0.15, (method, slope)


def test_stencil_derivative_second_derivative_default_step():
    d2 = fd.stencil_derivative(np.sin, 1.0, [-2, -1, 0, 1, 2], m=2)
    assert abs(d2 + np.sin(1.0)) < 1e-7


@given(st.lists(st.integers(-6, 6), min_size=2, max_size=6, unique=True),
       st.integers(0, 3))
@settings(max_examples=40, deadline=None)
def test_stencil_reproduces_monomials_exactly(points, m):
    if m >= len(points):
        return
    w = fd.stencil(points, m)
    # Σ w_k p_k^j = m!·[j = m] for every j < n: exact on polynomials of degree < n
    for j in range(len(points)):
        lhs = sum(wk * Fraction(p) ** j for wk, p in zip(w, points, strict=True))
        assert lhs == math.factorial(m) * (j == m)


# ---------------------------------------------------------------- shapes and conventions
def test_derivative_of_vector_valued_function_of_scalar():
    d = fd.derivative(lambda t: np.array([np.sin(t), t**2]), 0.5, method="richardson")
    assert d.shape == (2,)
    assert mc.relerr(d, np.array([np.cos(0.5), 1.0])) < 1e-12


def test_derivative_of_scalar_returns_numpy_scalar():
    d = fd.derivative(np.sin, 1.0)
    assert np.ndim(d) == 0 and isinstance(float(d), float)


def test_derivative_holomorphic_complex_x():
    z = 1.0 + 1.0j
    assert mc.relerr(fd.derivative(np.exp, z, method="richardson"), np.exp(z)) < 1e-12


def test_jvp_matrix_to_scalar_and_matrix():
    rng = np.random.default_rng(3)
    X, dX = rng.standard_normal((2, 4, 4))
    dd = fd.jvp(np.linalg.det, X, dX, method="richardson")
    assert np.ndim(dd) == 0
    assert mc.relerr(dd, np.linalg.det(X) * np.trace(np.linalg.solve(X, dX))) < 1e-10
    Xi = np.linalg.inv(X)
    assert mc.relerr(fd.jvp(np.linalg.inv, X, dX, method="richardson"), -Xi @ dX @ Xi) < 1e-10


def test_integer_input_is_promoted():
    assert fd.gradient(lambda x: x @ x, np.array([1, 2])).dtype == float


def test_gradient_real():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((3, 4))
    X = rng.standard_normal((3, 4))
    g = fd.gradient(lambda X: np.sum(A * np.sin(X)), X)
    assert g.shape == X.shape
    assert mc.relerr(g, A * np.cos(X)) < 1e-9


def test_gradient_of_complex_input_is_d_re_plus_i_d_im():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    a = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    assert mc.relerr(fd.gradient(lambda z: np.sum(np.abs(z) ** 2), z), 2 * z) < 1e-9
    # f(z) = Re⟨a, z⟩ = Re Σ conj(a) z has gradient a (not conj(a))
    assert mc.relerr(fd.gradient(lambda z: np.real(np.vdot(a, z)), z), a) < 1e-9


def test_gradient_accepts_complex_dtype_with_zero_imaginary_output():
    g = fd.gradient(lambda x: np.sum(x**2) + 0j, np.array([1.0, 2.0]))
    assert g.dtype == float and mc.relerr(g, np.array([2.0, 4.0])) < 1e-9


@pytest.mark.parametrize("method", list(fd.METHODS))
def test_gradient_every_method(method):
    x = np.array([0.3, -0.7, 1.1])
    g = fd.gradient(lambda x: np.sum(np.exp(np.sin(x))), x, method=method)
    tol = {"forward": 1e-6, "backward": 1e-6}.get(method, 1e-9)
    assert mc.relerr(g, df_es(x)) < tol


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 10**6))
@settings(max_examples=25, deadline=None)
def test_jacobian_shape_and_value_of_linear_map(m, n, p, seed):
    # f(X) = A X, so J[i, j, k, l] = A[i, k] δ_jl: shape f(x).shape + x.shape
    rng = np.random.default_rng(seed)
    A, X = rng.standard_normal((p, m)), rng.standard_normal((m, n))
    J = fd.jacobian(lambda X: A @ X, X)
    assert J.shape == (p, n, m, n)
    assert mc.relerr(J, np.einsum("ik,jl->ijkl", A, np.eye(n))) < 1e-8


@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 10**6))
@settings(max_examples=25, deadline=None)
def test_gradient_matches_jacobian_and_jvp(m, n, seed):
    rng = np.random.default_rng(seed)
    X, dX = rng.standard_normal((2, m, n))
    f = lambda X: np.sum(np.tanh(X) ** 2)
    g = fd.gradient(f, X, method="richardson")
    J = fd.jacobian(f, X, method="richardson")
    assert J.shape == X.shape
    assert mc.relerr(J, g) < 1e-10
    assert abs(fd.jvp(f, X, dX, method="richardson") - np.sum(g * dX)) < 1e-10 * (
        1 + np.abs(g).sum() * np.abs(dX).max())


def test_jacobian_of_scalar_input_and_complex_holomorphic():
    J = fd.jacobian(lambda t: np.array([t, t**2, t**3]), 2.0)
    assert J.shape == (3,) and mc.relerr(J, np.array([1.0, 4.0, 12.0])) < 1e-9
    z = np.array([1 + 1j, 0.5 - 2j])
    J = fd.jacobian(np.exp, z, method="richardson")
    assert mc.relerr(J, np.diag(np.exp(z))) < 1e-12


@pytest.mark.parametrize("method, tol", [("central", 1e-7), ("richardson", 1e-11),
                                         ("complex", 1e-8), ("forward", 1e-4),
                                         ("backward", 1e-4)])
def test_hessian_of_known_function(method, tol):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((3, 3))
    x = rng.standard_normal(3) * 0.5
    f = lambda x: np.exp(0.2 * x @ A @ x)
    S = A + A.T
    exact = f(x) * (0.2 * S + 0.04 * np.outer(S @ x, S @ x))
    H = fd.hessian(f, x, method=method)
    assert H.shape == (3, 3)
    assert np.array_equal(H, H.T)
    assert mc.relerr(H, exact) < tol


def test_hessian_of_matrix_input_has_shape_x_x():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]])
    H = fd.hessian(lambda X: np.sum(X**2), X)
    assert H.shape == (3, 2, 3, 2)
    assert mc.relerr(H.reshape(6, 6), 2 * np.eye(6)) < 1e-7


# ---------------------------------------------------------------- bad input
def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown finite-difference method 'centered'") as e:
        fd.derivative(np.sin, 1.0, method="centered")
    for m in fd.METHODS:
        assert repr(m) in str(e.value)


def test_gradient_of_non_scalar_function_says_use_jacobian():
    with pytest.raises(ValueError, match=r"scalar-valued f, but f\(x\) has shape \(3,\).*jacobian"):
        fd.gradient(lambda x: 2 * x, np.ones(3))
    with pytest.raises(ValueError, match="real-valued f"):
        fd.gradient(lambda x: np.sum(x) * 1j, np.ones(3))


def test_nan_and_inf_are_reported_not_returned():
    with pytest.raises(FloatingPointError, match="returned nan"):
        fd.derivative(np.log, 1e-9, h=1e-3)
    with pytest.raises(FloatingPointError, match="returned inf"):
        fd.jvp(lambda x: 1 / (x - 1.0), np.array([1.0]), np.array([1.0]), method="forward")
    with pytest.raises(FloatingPointError, match="returned nan"):
        fd.gradient(lambda x: np.sum(np.sqrt(x)), np.array([-1.0, 1.0]))


def test_complex_step_on_non_analytic_function_is_detected():
    with pytest.raises(ValueError, match="not analytic at x.*expected a complex result"):
        fd.derivative(np.abs, 1.0, method="complex")
    with pytest.raises(ValueError, match="not analytic"):
        fd.gradient(lambda x: np.linalg.norm(x), np.ones(3), method="complex")


def test_complex_step_rejects_complex_x_and_complex_f():
    with pytest.raises(ValueError, match="needs real x and real dx"):
        fd.derivative(np.exp, 1.0 + 1j, method="complex")
    with pytest.raises(ValueError, match="f to be real at real x"):
        fd.derivative(lambda x: np.exp(1j * x), 1.0, method="complex")


def test_shape_errors():
    msg = r"dx must have the shape of x, expected \(3,\), got \(2,\)"
    with pytest.raises(ValueError, match=msg):
        fd.jvp(np.sin, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"fd.derivative needs a scalar x, got shape \(2,\)"):
        fd.derivative(np.sin, np.ones(2))
    with pytest.raises(ValueError, match="must return arrays of one shape"):
        fd.jvp(lambda x: np.ones(3) if x[0] > 1 else np.ones(2), np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match="step h must be positive"):
        fd.derivative(np.sin, 1.0, h=-1e-3)
    with pytest.raises(TypeError, match="needs a real x"):
        fd.hessian(lambda z: np.sum(np.abs(z)), np.ones(2) + 0j)
    with pytest.raises(TypeError, match="must be a real or complex number"):
        fd.derivative(np.sin, "1.0")


def test_stencil_errors():
    with pytest.raises(ValueError, match="needs at least 3 points, got 2"):
        fd.stencil([0, 1], 2)
    with pytest.raises(ValueError, match="must be distinct"):
        fd.stencil([0, 1, 1], 1)
    with pytest.raises(ValueError, match="non-negative integer"):
        fd.stencil([0, 1], -1)


# ---------------------------------------------------------------- docstrings and the figure
@pytest.mark.parametrize("name", ["fd", "checks", "linalg", "transforms", "grading", "reverse"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    module = importlib.import_module(f"mcutils.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_plot_fd_error_draws_labelled_log_log_axes(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = mc.plot_fd_error(f_es, df_es, 1.0, hs=np.logspace(-14, 0, 29))
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "step size h" and "relative error" in ax.get_ylabel()
    assert "roundoff" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for expected in ["forward", "central", "richardson", "complex", "slope 1: O(h)",
                     "slope 2: O(h²)", "slope −1: roundoff ε/h"]:
        assert expected in labels
    # the central curve's minimum sits near ε^(1/3), the forward one's near √ε
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    for method, h_opt in [("central", 6e-6), ("forward", 1.5e-8)]:
        h, e = lines[method].get_data()
        assert abs(np.log10(h[np.argmin(e)] / h_opt)) <= 1.5
    ax.figure.savefig(tmp_path / "fd_error.png")
    plt.close(ax.figure)


def test_plot_fd_error_array_input_with_direction():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    X = np.random.default_rng(3).standard_normal((3, 3))
    dX = np.random.default_rng(4).standard_normal((3, 3))
    out = mc.plot_fd_error(lambda X: X @ X @ X, lambda X, dX: dX @ X @ X + X @ dX @ X + X @ X @ dX,
                           X, methods=("central",), ax=ax, dx=dX)
    assert out is ax
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="pass a direction dx"):
        mc.plot_fd_error(np.sin, np.cos, np.ones(2))


def test_richardson_hessian_keeps_small_entries_accurate():
    """Entries ~1e-4 next to ~5e-3 (logdet + trace of a solve) keep ~9 digits."""
    rng = np.random.default_rng(13)
    B = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    X = B + B.T + 6 * np.eye(3)
    f = lambda X: np.linalg.slogdet(X)[1] + np.trace(np.linalg.inv(X) @ B)
    assert mc.relerr(fd.hessian(f, X, method="richardson"), mc.hessian(f, X)) < 1e-8
