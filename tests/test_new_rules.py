"""Rules added for issue 13 (functions that had no rule in one mode or both).

Every function is checked in both modes against finite differences on seeded random,
non-symmetric (and where it matters non-square) inputs; forward and reverse are checked
against each other (⟨ȳ, f'(x)[dx]⟩ = ⟨f'(x)ᵀ[ȳ], dx⟩); and where the rule is written with
traced NumPy, second derivatives (mc.hvp / mc.hessian) against finite differences of the
gradient.  Keyword parameters are exercised next to positional ones.
"""

import warnings

import numpy as np
import pytest

import mcutils as mc

la = np.linalg


def rng_(seed):
    return np.random.default_rng(seed)


def _weights(y, seed):
    """Fixed random weights shaped like y (complex where y is complex)."""
    r = rng_(seed)
    w = r.standard_normal(np.shape(y))
    if np.iscomplexobj(y):
        w = w + 1j * r.standard_normal(np.shape(y))
    return w


def _plain(y):
    if isinstance(y, (list, tuple)):
        return [_plain(v) for v in y]
    return np.asarray(y)


def scalarize(f, x, seed=0):
    """s(x) = Σ Re(W·f(x)) + Σ Re(V·f(x)²): a real scalar that sees every output entry,
    and whose Hessian is not zero even when f is linear (so second order tests the rule)."""
    y0 = f(x)
    pieces0 = list(y0) if isinstance(y0, (list, tuple)) else [y0]
    W = [_weights(p, seed + 2 * i) for i, p in enumerate(pieces0)]
    V = [_weights(p, seed + 2 * i + 1) for i, p in enumerate(pieces0)]

    def s(x):
        y = f(x)
        pieces = list(y) if isinstance(y, (list, tuple)) else [y]
        total = 0.0
        for p, w, v in zip(pieces, W, V, strict=True):
            total = total + np.sum(np.real(w * p)) + np.sum(np.real(v * p * p))
        return total

    return s


def check_both(f, x, *, rtol=1e-6, second=True, seed=0, dx=None):
    """Forward and reverse mode of ``f`` at ``x`` against finite differences and each other.

    Returns the scalarized function, its gradient and the direction used."""
    x = np.asarray(x)
    r = rng_(seed + 100)
    if dx is None:
        dx = r.standard_normal(x.shape)
        if np.iscomplexobj(x):
            dx = dx + 1j * r.standard_normal(x.shape)
    # forward: value and tangent
    y, dy = mc.jvp(f, x, dx)
    y0 = f(x)
    for a, b in zip(_plain(y) if isinstance(y, (list, tuple)) else [y],
                    _plain(y0) if isinstance(y0, (list, tuple)) else [y0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    mc.check_jvp(lambda z: _stack(f(z)), lambda z, d: _stack(mc.jvp(f, z, d)[1]), x, dx,
                 rtol=rtol).assert_ok()
    # reverse: gradient of a scalarization
    s = scalarize(f, x, seed)
    g = mc.grad(s)(x)
    assert np.shape(g) == x.shape
    mc.check_gradient(s, g, x, rtol=rtol).assert_ok()
    # the two modes agree: s'(x)[dx] from forward mode = Re⟨∇s, dx⟩ from reverse mode
    _, ds = mc.jvp(s, x, dx)
    assert mc.relerr(ds, np.real(np.vdot(g, dx))) < 1e-9
    if second:
        v = r.standard_normal(x.shape)
        hv = mc.hvp(s, x, v) if not np.iscomplexobj(x) else mc.jvp(mc.grad(s), x, v)[1]
        ref = mc.fd.jvp(mc.grad(s), x, v, method="richardson")
        assert mc.relerr(hv, ref) < 100 * rtol, (mc.relerr(hv, ref), hv, ref)
    return s, g, dx


def _stack(y):
    if isinstance(y, (list, tuple)):
        return np.concatenate([np.ravel(np.asarray(p)) for p in y])
    return np.asarray(y)


def nonsym(n, seed, complex_=False, batch=()):
    r = rng_(seed)
    A = r.standard_normal(batch + (n, n))
    if complex_:
        A = A + 1j * r.standard_normal(batch + (n, n))
    return A


# ═════════════════════════════ np.linalg.eig ═════════════════════════════
EIG_CASES = {
    "real spectrum": lambda: (lambda Q: Q @ np.diag([3.0, -1.0, 0.5, 2.0]) @ la.inv(Q))(
        nonsym(4, 1) + 3 * np.eye(4)),
    "complex pair": lambda: nonsym(4, 1),          # eigenvalues 1.66, −0.90, 0.33 ± 0.48i
    "complex matrix": lambda: nonsym(4, 2, complex_=True),
    "batch": lambda: nonsym(3, 3, batch=(2,)),
}


@pytest.mark.parametrize("case", EIG_CASES)
def test_eig_eigenvalues_both_modes(case):
    A = EIG_CASES[case]()
    check_both(lambda M: la.eig(M)[0], A)
    check_both(lambda M: la.eig(M).eigenvalues, A, second=False, seed=3)
    check_both(lambda M: la.eigvals(M), A, second=False, seed=4)


def test_eig_eigenvalue_formula():
    # dλ = yᴴ dA x / (yᴴ x), y the left eigenvector (A ᴴy = λ̄ y): checked against fd
    A, dA = nonsym(5, 11), nonsym(5, 12)
    w, X = la.eig(A)
    wl, Y = la.eig(A.conj().T)
    Y = Y[:, [np.argmin(np.abs(wl - np.conj(wi))) for wi in w]]
    formula = np.array([Y[:, i].conj() @ dA @ X[:, i] / (Y[:, i].conj() @ X[:, i])
                        for i in range(5)])
    fd = mc.fd.jvp(lambda M: la.eig(M)[0], A, dA, method="richardson")
    assert mc.relerr(formula, fd) < 1e-8
    assert mc.relerr(mc.jvp(lambda M: la.eig(M)[0], A, dA)[1], formula) < 1e-12


@pytest.mark.parametrize("case", EIG_CASES)
def test_eig_eigenvectors_follow_numpy_normalisation(case):
    # NumPy's eigenvectors have unit 2-norm and (complex ones) a real largest entry; the
    # tangent keeps both, so it equals finite differences of np.linalg.eig's own output
    A = EIG_CASES[case]()
    dA = rng_(7).standard_normal(A.shape)
    w, X = la.eig(A)
    _, dX = mc.jvp(lambda M: la.eig(M)[1], A, dA)
    fd = mc.fd.jvp(lambda M: la.eig(M)[1], A, dA, method="richardson")
    assert mc.relerr(dX, fd) < 1e-7
    # ... so the reverse mode can be checked on the raw eigenvectors too
    check_both(lambda M: la.eig(M)[1], A, seed=8, second=False)
    # unit norm:  Re xⱼᴴ dxⱼ = 0
    assert np.max(np.abs(np.real(np.sum(np.conj(X) * dX, axis=-2)))) < 1e-12
    if np.iscomplexobj(X):
        k = np.argmax(np.abs(X), axis=-2)
        assert np.max(np.abs(np.imag(np.take_along_axis(dX, k[..., None, :], -2)))) < 1e-12


@pytest.mark.parametrize("case", EIG_CASES)
def test_eig_gauge_invariant_functions_both_modes(case):
    # |X|² and the spectral projectors x_j (X⁻¹)_j: do not depend on a phase of x_j
    A = EIG_CASES[case]()
    check_both(lambda M: np.abs(la.eig(M)[1]) ** 2, A, seed=5)

    def projector_sum(M):
        w, X = la.eig(M)
        Xi = la.inv(X)
        return X[..., :, :1] * Xi[..., :1, :] * w[..., :1, None]     # λ₁ x₁ y₁ᴴ/(y₁ᴴx₁)

    check_both(projector_sum, A, seed=6)


def test_eig_keyword_argument():
    A = nonsym(3, 41)
    f_pos = lambda M: np.sum(np.real(la.eig(M)[0] * la.eig(M)[1][0]))
    f_kw = lambda M: np.sum(np.real(la.eig(a=M)[0] * la.eig(a=M)[1][0]))
    assert mc.relerr(mc.grad(f_kw)(A), mc.grad(f_pos)(A)) < 1e-14
    dA = nonsym(3, 42)
    assert mc.relerr(mc.jvp(f_kw, A, dA)[1], mc.jvp(f_pos, A, dA)[1]) < 1e-14


def test_eig_second_order_hessian():
    A = nonsym(3, 21)

    def f(v):
        w, X = la.eig(np.reshape(v, (3, 3)))
        return np.sum(np.real(w) ** 2) + np.sum(np.abs(X[:, 0]) ** 4)

    H = mc.hessian(f, A.ravel())
    Hfd = mc.fd.jacobian(mc.grad(f), A.ravel(), method="richardson")
    assert mc.relerr(H, Hfd) < 1e-7
    assert mc.relerr(H, H.T) < 1e-10


def test_eig_repeated_eigenvalue_warns_in_both_modes():
    Q = nonsym(3, 31) + 3 * np.eye(3)
    A = Q @ np.diag([2.0, 2.0, -1.0]) @ la.inv(Q)
    f = lambda M: np.sum(np.real(la.eig(M)[0]))       # trace: differentiable
    with pytest.warns(RuntimeWarning, match="repeated eigenvalue"):
        g = mc.grad(f)(A)
    with pytest.warns(RuntimeWarning, match="repeated eigenvalue"):
        _, d = mc.jvp(f, A, np.ones((3, 3)))
    # the sum of the eigenvalues is tr A, whose gradient is I: still right
    assert mc.relerr(g, np.eye(3)) < 1e-8 and abs(d - 3) < 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mc.grad(f)(nonsym(3, 32))                      # distinct eigenvalues: no warning


# ═════════════════════════════ element-wise ═════════════════════════════
def test_angle_units_both_modes():
    x = rng_(50).uniform(-3, 3, (3, 4))
    for f in (np.degrees, np.radians, np.deg2rad, np.rad2deg):
        check_both(f, x)
        assert mc.relerr(mc.grad(lambda z, f=f: np.sum(f(z)))(x),
                         np.full(x.shape, f(1.0))) < 1e-15


def test_fabs_both_modes_and_subgradient_at_zero():
    x = rng_(51).uniform(0.2, 2, (5,)) * np.array([1, -1, 1, -1, 1])
    check_both(np.fabs, x)
    assert mc.grad(lambda z: np.sum(np.fabs(z)))(np.zeros(2)).tolist() == [0.0, 0.0]
    assert mc.jvp(np.fabs, 0.0, 1.0)[1] == 0.0


def test_remainder_mod_and_the_operator_both_modes():
    r = rng_(52)
    x, y = r.uniform(-5, 5, (3, 4)), r.uniform(0.7, 2, (3, 4))
    for f in (lambda a: np.remainder(a, y), lambda a: np.mod(a, y), lambda a: a % y,
              lambda a: np.fmod(a, y)):
        check_both(f, x)
    for f in (lambda b: np.remainder(x, b), lambda b: x % b, lambda b: 7.5 % b,
              lambda b: np.fmod(x, b)):
        check_both(f, y)
    # ∂(x mod y)/∂y = −⌊x/y⌋, exactly
    g = mc.grad(lambda b: np.sum(x % b))(y)
    assert np.array_equal(g, -np.floor_divide(x, y))
    check_both(lambda a: a // y + a, x)              # floor division: derivative 0


def test_logaddexp2_both_modes():
    r = rng_(53)
    x, y = r.standard_normal((4, 3)), r.standard_normal((4, 3))
    check_both(lambda a: np.logaddexp2(a, y), x)
    check_both(lambda b: np.logaddexp2(x, b), y)
    check_both(lambda a: np.logaddexp2(a, 2 * a), x)


def test_sinc_both_modes_and_second_derivative_at_zero():
    x = rng_(54).uniform(-2, 2, (7,))
    check_both(np.sinc, x)
    check_both(lambda z: np.sinc(x=z), x)
    z = np.array([0.0, 1e-5, -3e-3, 1.0])
    check_both(np.sinc, z, rtol=1e-5)
    assert abs(mc.derivative(np.sinc, 0.0)) == 0.0
    H = mc.hessian(lambda v: np.sum(np.sinc(v)), np.zeros(2))
    assert mc.relerr(np.diag(H), np.full(2, -np.pi ** 2 / 3)) < 1e-14
    np.testing.assert_allclose(mc.jvp(np.sinc, z, z)[0], np.sinc(z), rtol=1e-15)


def test_nan_to_num_both_modes():
    x = rng_(55).standard_normal(6)
    check_both(np.nan_to_num, x)
    check_both(lambda z: np.nan_to_num(z, nan=3.0, posinf=1e3), x)
    bad = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    f = lambda z: np.nan_to_num(z * 2, nan=-1.0, posinf=5.0)
    y, dy = mc.jvp(f, bad, np.ones(5))
    np.testing.assert_array_equal(y, np.nan_to_num(bad * 2, nan=-1.0, posinf=5.0))
    np.testing.assert_array_equal(dy, [2, 0, 0, 0, 2])
    with np.errstate(invalid="ignore"):
        g = mc.grad(lambda z: np.sum(np.nan_to_num(z * 2, nan=-1.0, posinf=5.0)))(bad)
    np.testing.assert_array_equal(g, [2, 0, 0, 0, 2])
    c = rng_(56).standard_normal(4) + 1j * rng_(57).standard_normal(4)
    check_both(np.nan_to_num, c)


def test_angle_both_modes():
    c = rng_(58).standard_normal((3, 2)) + 1j * rng_(59).standard_normal((3, 2))
    check_both(np.angle, c)
    check_both(lambda z: np.angle(z, deg=True), c)
    check_both(lambda z: np.angle(z, True), c, seed=2)
    x = rng_(60).uniform(0.5, 2, 3) * np.array([1, -1, 1])
    assert np.all(mc.grad(lambda z: np.sum(np.angle(z)))(x) == 0)   # real x: 0 or π


def test_real_if_close_both_modes():
    c = rng_(61).standard_normal(4) + 1j * rng_(62).standard_normal(4)
    check_both(np.real_if_close, c)                          # stays complex
    x = rng_(63).standard_normal(4)
    f = lambda z: np.real_if_close(z * (1 + 1e-18j))         # imaginary part tiny: real
    y, dy = mc.jvp(f, x, np.ones(4))
    assert not np.iscomplexobj(y) and not np.iscomplexobj(dy)
    check_both(f, x)
    check_both(lambda z: np.real_if_close(z + 0j, tol=1000), x)


# ═════════════════════════ selections and rearrangements ═════════════════════════
X34 = rng_(70).standard_normal((3, 4))
X234 = rng_(71).standard_normal((2, 3, 4))

SHAPE_CASES = {
    "repeat": (lambda x: np.repeat(x, 2), X34),
    "repeat axis": (lambda x: np.repeat(x, [1, 0, 3], axis=0), X34),
    "repeat kw": (lambda x: np.repeat(a=x, repeats=[2, 1, 1, 3], axis=1), X34),
    "tile": (lambda x: np.tile(x, (2, 1, 3)), X34),
    "tile kw": (lambda x: np.tile(A=x, reps=2), X34),
    "split": (lambda x: np.split(x, 2, axis=1), X34),
    "split kw": (lambda x: np.split(ary=x, indices_or_sections=[1, 2], axis=0), X34),
    "array_split": (lambda x: np.array_split(x, 3, 1), X34),
    "array_split kw": (lambda x: np.array_split(x, indices_or_sections=3, axis=1), X34),
    "hsplit": (lambda x: np.hsplit(x, 2), X34),
    "hsplit kw": (lambda x: np.hsplit(ary=x, indices_or_sections=[1]), X34),
    "vsplit": (lambda x: np.vsplit(x, [1]), X34),
    "dsplit": (lambda x: np.dsplit(x, 2), X234),
    "dsplit kw": (lambda x: np.dsplit(x, indices_or_sections=[3]), X234),
    "column_stack": (lambda x: np.column_stack([x[0], x[1] ** 2, X34[2]]), X34),
    "column_stack 2d": (lambda x: np.column_stack((x, X34[:, :1], x[:, 0])), X34),
    "atleast_3d": (lambda x: np.atleast_3d(x), X34),
    "atleast_3d 1d": (lambda x: np.atleast_3d(x[0]), X34),
    "atleast_3d several": (lambda x: np.atleast_3d(x[0, 0], x, X234 * x[0, 0]), X34),
    "flipud": (np.flipud, X34),
    "flipud kw": (lambda x: np.flipud(m=x), X234),
    "fliplr": (np.fliplr, X34),
    "rot90": (np.rot90, X34),
    "rot90 k": (lambda x: np.rot90(x, 3, (2, 0)), X234),
    "rot90 kw": (lambda x: np.rot90(x, k=-1, axes=(1, 2)), X234),
    "rollaxis": (lambda x: np.rollaxis(x, 2), X234),
    "rollaxis kw": (lambda x: np.rollaxis(x, axis=2, start=1), X234),
    "take_along_axis": (lambda x: np.take_along_axis(x, np.array([[2, 0, 2, 1]]), 0), X34),
    "take_along_axis kw": (lambda x: np.take_along_axis(
        x, indices=np.argsort(X34, axis=1), axis=1), X34),
    "cross": (lambda x: np.cross(x[:, :3], X34[:, 1:]), X34),
    "cross both": (lambda x: np.cross(x[:, :3], x[:, 1:] ** 2), X34),
    "cross axes": (lambda x: np.cross(x[:, :3].T, X34[:, 1:], axisa=0, axisb=1, axisc=0), X34),
    "cross axis kw": (lambda x: np.cross(a=x[:3, :3], b=X34[:, 1:], axis=0), X34),
    "pad": (lambda x: np.pad(x, 1), X34),
    "pad constant": (lambda x: np.pad(x, ((1, 0), (2, 3)), constant_values=2.5), X34),
    "pad kw": (lambda x: np.pad(array=x, pad_width=(0, 2), mode="constant",
                                constant_values=((1, 2), (3, 4))), X34),
    "pad edge": (lambda x: np.pad(x, 2, "edge"), X34),
    "pad reflect": (lambda x: np.pad(x, ((2, 1), (3, 3)), mode="reflect"), X34),
    "pad symmetric": (lambda x: np.pad(x, 2, mode="symmetric"), X34),
    "pad wrap": (lambda x: np.pad(x, ((0, 4), (1, 1)), mode="wrap"), X34),
    "partition": (lambda x: np.partition(x, 2), X34),
    "partition axis": (lambda x: np.partition(x, (0, 2), axis=0), X34),
    "partition kw": (lambda x: np.partition(a=x, kth=5, axis=None), X34),
    "select": (lambda x: np.select([X34 > 0.5, X34 < -0.5], [x, x ** 2], -x), X34),
    "select kw": (lambda x: np.select(condlist=[X34 > 0], choicelist=[np.sin(x)],
                                      default=X34), X34),
    "select broadcast": (lambda x: np.select([X34[0] > 0, X34[1] > 0], [x[0], 3.0]), X34),
}


@pytest.mark.parametrize("name", SHAPE_CASES)
def test_selection_both_modes(name):
    f, x = SHAPE_CASES[name]
    check_both(f, x)


@pytest.mark.parametrize("name", SHAPE_CASES)
def test_selection_values_are_numpys(name):
    f, x = SHAPE_CASES[name]
    y = f(x)
    flat = lambda z: np.concatenate([np.ravel(p) for p in f(z)])
    rev = mc.vjp(f if not isinstance(y, (list, tuple)) else flat, x)[0]
    for traced in (mc.jvp(f, x, np.ones_like(x))[0], rev):
        if isinstance(y, (list, tuple)) and traced is rev:
            np.testing.assert_array_equal(np.asarray(rev), np.concatenate(
                [np.ravel(p) for p in y]))
        elif isinstance(y, (list, tuple)):
            assert type(traced) is type(y) and len(traced) == len(y)
            for a, b in zip(traced, y, strict=True):
                np.testing.assert_array_equal(np.asarray(a), b)
        elif name.startswith("partition"):
            # a valid partition: kth entries in place, neighbours on the right side
            np.testing.assert_array_equal(np.sort(np.asarray(traced), axis=None),
                                          np.sort(y, axis=None))
        else:
            np.testing.assert_array_equal(np.asarray(traced), y)


def test_partition_is_a_valid_partition():
    x = rng_(72).standard_normal(9)
    y = mc.vjp(lambda z: np.partition(z, 4), x)[0]
    y = np.asarray(y)
    assert y[4] == np.sort(x)[4] and np.all(y[:4] <= y[4]) and np.all(y[5:] >= y[4])


def test_repeat_gradient_adds_up_copies():
    x = np.array([1.0, 2.0, 3.0])
    g = mc.grad(lambda z: np.sum(np.repeat(z, [2, 0, 3]) * np.arange(5.0)))(x)
    np.testing.assert_array_equal(g, [0 + 1, 0, 2 + 3 + 4])


def test_pad_unsupported_modes_raise_clearly():
    for kw in ({"mode": "mean"}, {"mode": "linear_ramp"}, {"mode": "reflect",
                                                           "reflect_type": "odd"}):
        with pytest.raises(TypeError, match=r"np.pad with mode=.*supported"):
            mc.grad(lambda z, kw=kw: np.sum(np.pad(z, 1, **kw)))(X34)
        with pytest.raises(TypeError, match=r"np.pad with mode=.*supported"):
            mc.jvp(lambda z, kw=kw: np.pad(z, 1, **kw), X34, X34)


def test_traced_parameters_raise_clearly():
    with pytest.raises(TypeError, match="first argument only"):
        mc.grad(lambda z: np.sum(np.pad(z, 1, constant_values=z[0, 0])))(X34)
    with pytest.raises(TypeError, match="first argument only"):
        mc.jvp(lambda z: np.pad(z, 1, constant_values=z[0, 0]), X34, X34)


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_sort_and_max_with_axis_second_order(axis):
    # forward-over-reverse (mc.hessian) and reverse-over-forward both need a rule for
    # take_along_axis, which sort/max/min use; compare with finite differences of ∇f
    x = rng_(73).standard_normal((3, 4))
    w = rng_(74).standard_normal(x.size if axis is None else (3, 4))

    def f(v):
        X = np.reshape(v, (3, 4))
        s = np.sort(X ** 3, axis=axis)
        m = np.max(X * X, axis=axis) if axis is not None else np.max(X * X)
        return np.sum(w * np.ravel(s) if axis is None else w * s) + np.sum(m ** 2) \
            + np.sum(np.min(np.sin(X), axis=axis) ** 3)

    v = x.ravel()
    H = mc.hessian(f, v)
    Hfd = mc.fd.jacobian(mc.grad(f), v, method="richardson")
    assert mc.relerr(H, Hfd) < 1e-7
    d = rng_(75).standard_normal(v.shape)
    rof = mc.grad(lambda z: mc.jvp(f, z, d)[1])(v)          # reverse over forward
    assert mc.relerr(rof, H @ d) < 1e-10
    check_both(lambda X: np.sort(X, axis=axis), x)
    check_both(lambda X: np.sort(X, axis), x)


# ═════════════════════════════ linear algebra ═════════════════════════════
def cplx(shape, seed):
    r = rng_(seed)
    return r.standard_normal(shape) + 1j * r.standard_normal(shape)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (4, 4), (2, 4, 3)])
@pytest.mark.parametrize("complex_", [False, True])
def test_pinv_full_rank_both_modes(shape, complex_):
    A = cplx(shape, 80) if complex_ else rng_(80).standard_normal(shape)
    check_both(la.pinv, A, rtol=1e-6)
    check_both(lambda M: la.pinv(M, rcond=1e-12), A, second=False)
    check_both(lambda M: la.pinv(a=M, rtol=1e-10), A, second=False, seed=2)


def test_pinv_formula_independently_checked():
    # tall full-column-rank A: A⁺ = (AᵀA)⁻¹Aᵀ, differentiated by the product rule by hand
    A, dA = rng_(81).standard_normal((5, 3)), rng_(82).standard_normal((5, 3))
    G = A.T @ A
    dG = dA.T @ A + A.T @ dA
    by_hand = -la.solve(G, dG) @ la.solve(G, A.T) + la.solve(G, dA.T)
    assert mc.relerr(mc.jvp(la.pinv, A, dA)[1], by_hand) < 1e-12


def test_pinv_rank_deficient_warns_and_is_right_along_constant_rank():
    r = rng_(83)
    B, C = r.standard_normal((5, 2)), r.standard_normal((2, 4))
    dB, dC = r.standard_normal((5, 2)), r.standard_normal((2, 4))
    A, dA = B @ C, dB @ C + B @ dC                       # rank 2, and stays rank 2
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        _, dP = mc.jvp(la.pinv, A, dA)
    fd = mc.fd.jvp(lambda t: la.pinv((B + t * dB) @ (C + t * dC)), 0.0, 1.0,
                   method="richardson")
    assert mc.relerr(dP, fd) < 1e-7
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        mc.grad(lambda M: np.sum(la.pinv(M)))(A)


SVD_GAUGE_FREE = {   # functions of a complex SVD that do not depend on the phases of (uᵢ, vᵢ)
    "s": lambda M: la.svd(M, compute_uv=False),
    "U s^2 Vh": lambda M: (lambda U, s, Vh: (U * s[..., None, :] ** 2) @ Vh)(
        *la.svd(M, full_matrices=False)),
    "|U|^2": lambda M: np.abs(la.svd(M, full_matrices=False)[0]) ** 2,
    "|Vh|^2": lambda M: np.abs(la.svd(M, full_matrices=False)[2]) ** 2,
    "u1 v1^H": lambda M: (lambda U, s, Vh: U[..., :, :1] * Vh[..., :1, :])(
        *la.svd(M, full_matrices=False)),
    "kw": lambda M: (lambda r: r.U[..., :, 1:2] * r.Vh[..., 1:2, :] * r.S[..., 1:2, None])(
        la.svd(a=M, full_matrices=False, compute_uv=True)),
}


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (3, 3), (2, 4, 3)])
@pytest.mark.parametrize("name", SVD_GAUGE_FREE)
def test_complex_svd_both_modes(shape, name):
    check_both(SVD_GAUGE_FREE[name], cplx(shape, 84))


def test_complex_svd_full_matrices_of_rectangular_raises_clearly():
    A = cplx((4, 3), 85)
    with pytest.raises(TypeError, match="full_matrices=False"):
        mc.grad(lambda M: np.sum(np.abs(la.svd(M)[0]) ** 2))(A)
    with pytest.raises(TypeError, match="full_matrices=False"):
        mc.jvp(lambda M: la.svd(M)[0], A, A)
    check_both(lambda M: np.abs(la.svd(M)[0]) ** 2, cplx((3, 3), 86))   # square: fine


@pytest.mark.parametrize("ord_", ["nuc", 2, -2, "fro"])
@pytest.mark.parametrize("axis", [(0, 1), (1, 2), (2, 0), (-1, -3), None])
def test_matrix_norms_over_any_axes_both_modes(ord_, axis):
    X = rng_(87).standard_normal((3, 4, 5))
    if axis is None:
        X = X[0]
    check_both(lambda M: la.norm(M, ord_, axis), X)
    check_both(lambda M: la.norm(M, ord=ord_, axis=axis, keepdims=True), X, second=False)
    check_both(lambda M: la.norm(x=M, ord=ord_, axis=axis), X, second=False, seed=3)


def test_nuclear_norm_complex_and_gradient_is_UVh():
    X = cplx((3, 4, 2), 88)
    check_both(lambda M: la.norm(M, "nuc", axis=(0, 2)), X)
    A = rng_(89).standard_normal((4, 3))
    U, _, Vh = la.svd(A, full_matrices=False)
    assert mc.relerr(mc.grad(lambda M: la.norm(M, "nuc"))(A), U @ Vh) < 1e-13


def test_einsum_interleaved_both_modes():
    r = rng_(90)
    A, B, c = r.standard_normal((2, 3)), r.standard_normal((3, 4)), r.standard_normal(4)
    cases = [
        (lambda a: np.einsum(a, [0, 1], B, [1, 2], [0, 2]), A),
        (lambda a: np.einsum(a, [0, 1], B, [1, 2]), A),                    # implicit output
        (lambda b: np.einsum(A, [0, 1], b, [1, 2], c, [2], [0]), B),
        (lambda b: np.einsum(b, [27, 3], b, [27, 3], [3]), B),            # both operands
        (lambda b: np.einsum(b, [Ellipsis, 1], c, [1], [Ellipsis]), B),
        (lambda a: np.einsum(a, [0, 1], [1, 0]) * 2, A),
    ]
    for f, x in cases:
        np.testing.assert_allclose(np.asarray(mc.vjp(f, x)[0]), f(x), rtol=1e-15)
        check_both(f, x)
    f_str = lambda a: np.einsum("ij,jk->ik", a, B)
    assert mc.relerr(mc.grad(lambda a: np.sum(cases[0][0](a) ** 2))(A),
                     mc.grad(lambda a: np.sum(f_str(a) ** 2))(A)) < 1e-15


def test_kron_with_a_scalar_operand_both_modes():
    r = rng_(91)
    B, a = r.standard_normal((2, 3)), r.standard_normal(3)
    check_both(lambda s: np.kron(s, B), 1.7)
    check_both(lambda s: np.kron(B, s), -0.4)
    check_both(lambda M: np.kron(M[0, 1], M), B)
    check_both(lambda v: np.kron(v, 2.5), a)
    check_both(lambda v: np.kron(a=v[0], b=v), a, seed=4)
    assert mc.grad(lambda s: np.sum(np.kron(s, B)))(2.0) == pytest.approx(np.sum(B), rel=1e-14)


# ═════════════════════════════ gradient, linspace ═════════════════════════════
GRADIENT_CASES = {
    "1d": (lambda f: np.gradient(f), (7,)),
    "1d spacing": (lambda f: np.gradient(f, 0.3), (7,)),
    "1d coordinates": (lambda f: np.gradient(f, np.cumsum(rng_(92).uniform(0.2, 1, 7))), (7,)),
    "1d edge_order 2": (lambda f: np.gradient(f, 0.5, edge_order=2), (6,)),
    "coords edge 2": (lambda f: np.gradient(f, np.cumsum(rng_(93).uniform(0.2, 1, 5)),
                                            edge_order=2), (5,)),
    "2d": (lambda f: np.gradient(f), (4, 5)),
    "2d two spacings": (lambda f: np.gradient(f, 0.5, np.linspace(0, 2, 5) ** 2 + 1), (4, 5)),
    "axis": (lambda f: np.gradient(f, axis=1), (3, 4, 5)),
    "axes kw": (lambda f: np.gradient(f=f, axis=(2, 0), edge_order=2), (3, 4, 5)),
    "n=2": (lambda f: np.gradient(f), (2, 3)),
    "complex": (lambda f: np.gradient(f * (1 + 2j), 0.1), (5,)),
}


@pytest.mark.parametrize("name", GRADIENT_CASES)
def test_np_gradient_both_modes(name):
    f, shape = GRADIENT_CASES[name]
    x = rng_(94).standard_normal(shape)
    check_both(f, x)
    y, traced = f(x), mc.jvp(f, x, x)[0]
    for a, b in zip(traced if isinstance(y, tuple) else [traced],
                    y if isinstance(y, tuple) else [y], strict=True):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-13, atol=1e-13)


def test_np_gradient_errors_are_numpys():
    with pytest.raises(ValueError, match="at least"):
        mc.grad(lambda f: np.sum(np.gradient(f, edge_order=2)))(np.ones(2))
    with pytest.raises(TypeError, match="first argument only"):
        mc.grad(lambda h: np.sum(np.gradient(np.arange(4.0) ** 2, h)))(0.5)


LINSPACE_CASES = {
    "both": (lambda v: np.linspace(v[0], v[1], 5), 2),
    "start": (lambda v: np.linspace(v[0], 3.0, 6, endpoint=False), 1),
    "stop kw": (lambda v: np.linspace(start=-1.0, stop=v[0], num=4), 1),
    "arrays axis": (lambda v: np.linspace(v[:3], v[3:], 4, axis=1), 6),
    "arrays axis -1": (lambda v: np.linspace(v[:2], 1.0, num=3, axis=-1), 2),
    "retstep": (lambda v: np.linspace(v[0], v[1], 7, retstep=True), 2),
    "num 1": (lambda v: np.linspace(v[0], v[1], 1), 2),
}


@pytest.mark.parametrize("name", LINSPACE_CASES)
def test_linspace_traced_endpoints_both_modes(name):
    f, n = LINSPACE_CASES[name]
    v = rng_(95).standard_normal(n)
    g = f
    if name == "retstep":
        g = lambda v: (lambda y, s: np.concatenate([y, np.reshape(s, (1,))]))(*f(v))
    check_both(g, v)
    ref, traced = f(v), mc.jvp(f, v, np.ones(n))[0]
    if name == "retstep":
        np.testing.assert_array_equal(np.asarray(traced[0]), ref[0])
        assert np.asarray(traced[1]) == ref[1]
    else:
        np.testing.assert_array_equal(np.asarray(traced), ref)   # NumPy's values exactly


def test_linspace_derivative_is_the_interpolation_weight():
    t = np.linspace(0, 1, 5)
    g = mc.grad(lambda v: np.sum(np.linspace(v[0], v[1], 5) * np.arange(5.0)))(
        np.array([0.3, 2.0]))
    assert mc.relerr(g, [np.sum((1 - t) * np.arange(5)), np.sum(t * np.arange(5))]) < 1e-15


@pytest.mark.parametrize("complex_", [False, True])
def test_vecdot_matvec_vecmat_both_modes(complex_):
    mk = (lambda s, k: cplx(s, k)) if complex_ else (lambda s, k: rng_(k).standard_normal(s))
    A, x, y, B = mk((2, 3, 4), 96), mk((4,), 97), mk((2, 3, 4), 98), mk((3,), 99)
    check_both(lambda a: np.vecdot(a, y), A)
    check_both(lambda b: np.vecdot(A, b), y)
    check_both(lambda a: np.vecdot(a, a * 2), A)
    check_both(lambda a: np.matvec(a, x), A)
    check_both(lambda v: np.matvec(A, v), x)
    check_both(lambda v: np.vecmat(v, A[0]), B)
    check_both(lambda a: np.vecmat(B, a), A)


# ═════════════════════════════ the two tables ═════════════════════════════
ISSUE_13_FUNCTIONS = [
    np.gradient, np.linspace, np.nan_to_num, np.sinc, np.degrees, np.radians, np.deg2rad,
    np.rad2deg, np.fabs, np.angle, np.remainder, np.mod, np.fmod, np.repeat, np.tile, np.split,
    np.array_split, np.hsplit, np.vsplit, np.dsplit, np.column_stack, np.atleast_3d, np.cross,
    np.flipud, np.fliplr, np.rot90, np.rollaxis, np.pad, np.partition, np.select,
    np.real_if_close, np.logaddexp2, np.take_along_axis, la.eig, la.eigvals, la.pinv, la.svd,
    la.norm, np.einsum, np.kron, np.sort, np.vecdot,
]


def test_every_issue_13_function_has_a_rule_in_both_modes():
    from mcutils import forward_rules as F
    from mcutils import reverse_rules as R

    missing = [(f.__name__, mode) for f in ISSUE_13_FUNCTIONS
               for mode, table in (("forward", {**F.FUNCTION_RULES, **F.UFUNC_RULES}),
                                   ("reverse", R.RULES)) if f not in table]
    assert not missing


COMPLEX_CASES = {
    "repeat": lambda z: np.repeat(z, [1, 2, 0], axis=0),
    "pad": lambda z: np.pad(z, ((1, 1), (0, 2)), constant_values=1j),
    "pad reflect": lambda z: np.pad(z, 1, mode="reflect"),
    "rot90": lambda z: np.rot90(z, 2),
    "split": lambda z: np.array_split(z, 3, axis=1),
    "cross": lambda z: np.cross(z[:, :3], z[:, 1:]),
    "select": lambda z: np.select([np.real(C34) > 0], [z * z], default=np.conj(z)),
    "gradient": lambda z: np.gradient(z, 0.5, axis=0),
    "linspace": lambda z: np.linspace(z[0], z[1], 3),
    "sinc": lambda z: np.sinc(z),
    "take_along_axis": lambda z: np.take_along_axis(z, np.argsort(np.abs(C34), axis=0), 0),
}
C34 = cplx((3, 4), 100)


@pytest.mark.parametrize("name", COMPLEX_CASES)
def test_complex_inputs_both_modes(name):
    check_both(COMPLEX_CASES[name], C34)


def test_structured_sorting_raises_clearly():
    x = rng_(101).standard_normal(4)
    for call in (lambda z: np.partition(z, 1, order="a"), lambda z: np.sort(z, order="a")):
        with pytest.raises(TypeError, match="order="):
            mc.grad(lambda z, call=call: np.sum(call(z)))(x)
    with pytest.raises(TypeError, match="order="):
        mc.jvp(lambda z: np.partition(z, 1, order="a"), x, x)


# ═══════════════ second order in all four nestings, for the matrix rules ═══════════════
_R5 = rng_(110)
ORDER_CASES = {
    "eig": (lambda M: np.sum(np.real(la.eig(M)[0]) ** 3) + np.sum(np.abs(la.eig(M)[1]) ** 4),
            _R5.standard_normal((3, 3))),
    "pinv": (lambda M: np.sum(la.pinv(M) ** 3), _R5.standard_normal((4, 3))),
    "complex svd": (lambda M: np.sum(np.abs(la.svd(M, full_matrices=False)[0][:, :2]) ** 4),
                    cplx((4, 3), 111)),
    "nuc axes": (lambda M: la.norm(M[:, :, None] * M[:, None, :], "nuc", axis=(0, 2)).sum() ** 2,
                 _R5.standard_normal((3, 4))),
    "linspace": (lambda M: np.sum(np.linspace(M[0], M[1], 4) ** 3), _R5.standard_normal((2, 3))),
    "gradient": (lambda M: np.sum(np.gradient(M, 0.3, edge_order=2)[0] ** 3),
                 _R5.standard_normal((4, 3))),
}


@pytest.mark.parametrize("name", ORDER_CASES)
def test_second_order_in_every_nesting(name):
    f, x = ORDER_CASES[name]
    v = rng_(112).standard_normal(x.shape)
    ref = mc.fd.jvp(mc.grad(f), x, v, method="richardson")                  # ∇²f v
    fof = mc.jvp(lambda z: mc.jvp(f, z, v)[1], x, v)[1]                      # vᵀ∇²f v
    assert mc.relerr(fof, np.real(np.vdot(v, ref))) < 1e-8
    assert mc.relerr(mc.jvp(mc.grad(f), x, v)[1], ref) < 1e-8               # fwd over rev
    if not np.iscomplexobj(x):
        ror = mc.grad(lambda z: np.vdot(v, mc.grad(f)(z)))(x)               # rev over rev
        rof = mc.grad(lambda z: mc.jvp(f, z, v)[1])(x)                      # rev over fwd
        assert mc.relerr(ror, ref) < 1e-8 and mc.relerr(rof, ref) < 1e-8


@pytest.mark.parametrize("case", EIG_CASES)
def test_eig_full_jacobians_of_the_two_modes_agree(case):
    A = EIG_CASES[case]()
    if A.ndim > 2:
        A = A[0]
    fs = [lambda M: la.eig(M)[0], lambda M: la.eig(M)[1]]
    if np.iscomplexobj(A):       # normalised eigenvectors are not holomorphic in A: a
        fs = fs[:1]              # complex Jacobian (mc.jacobian's convention) needs that
    for f in fs:
        Jf, Jr = mc.jacobian(f, A), mc.jacobian(f, A, mode="reverse")
        assert mc.relerr(Jf, Jr) < 1e-12
        J = mc.fd.jacobian(f, A, method="richardson")
        assert mc.relerr(Jf, J) < 1e-7


KEYWORD_CASES = {   # the same call positionally and by NumPy's keyword names
    "fliplr": (lambda x: np.fliplr(x), lambda x: np.fliplr(m=x), X34),
    "column_stack": (lambda x: np.column_stack([x, x[:, 0]]),
                     lambda x: np.column_stack(tup=[x, x[:, 0]]), X34),
    "vsplit": (lambda x: np.vsplit(x, [1])[1], lambda x: np.vsplit(ary=x,
                                                                   indices_or_sections=[1])[1],
               X34),
    "eigvals": (lambda x: la.eigvals(x[:, :3]), lambda x: la.eigvals(a=x[:, :3]), X34),
    "einsum interleaved": (lambda x: np.einsum(x, [0, 1], X34, [2, 1], [0, 2]),
                           lambda x: np.einsum(x, [0, 1], X34, [2, 1], [0, 2], optimize=True),
                           X34),
    "atleast_3d": (lambda x: np.atleast_3d(x), lambda x: np.atleast_3d(*[x]), X34),
    "sinc": (lambda x: np.sinc(x), lambda x: np.sinc(x=x), X34),
    "svd": (lambda x: la.svd(x, False)[0] * la.svd(x, False)[1],
            lambda x: la.svd(a=x, full_matrices=False).U * la.svd(x, compute_uv=True,
                                                                  full_matrices=False).S,
            X34.T),
    "norm nuc": (lambda x: la.norm(x[None] * x[:, None], "nuc", (0, 2), True),
                 lambda x: la.norm(x[None] * x[:, None], keepdims=True, axis=(0, 2), ord="nuc"),
                 X34),
}


@pytest.mark.parametrize("name", KEYWORD_CASES)
def test_keyword_spelling_means_the_same(name):
    f_pos, f_kw, x = KEYWORD_CASES[name]
    dx = rng_(120).standard_normal(x.shape)
    y1, d1 = mc.jvp(f_pos, x, dx)
    y2, d2 = mc.jvp(f_kw, x, dx)
    np.testing.assert_allclose(np.asarray(y1), np.asarray(y2), rtol=1e-14)  # einsum's BLAS
    assert mc.relerr(d1, d2) < 1e-13
    s1, s2 = scalarize(f_pos, x), scalarize(f_kw, x)
    assert mc.relerr(mc.grad(s1)(x), mc.grad(s2)(x)) < 1e-13
    check_both(f_kw, x, second=False)
