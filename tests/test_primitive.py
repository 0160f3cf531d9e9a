"""mc.primitive / defjvp / defvjp / check_rule: rules a student writes, tested against
finite differences (first and second order), error messages asserted."""

import doctest
import functools
import importlib

import numpy as np
import pytest

import mcutils as mc
from mcutils import fd

rng = np.random.default_rng(18)


def _logsumexp():
    @mc.primitive
    def logsumexp(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    logsumexp.defjvp(lambda dx, y, x: np.sum(np.exp(x - y) * dx))
    logsumexp.defvjp(lambda g, y, x: g * np.exp(x - y))
    return logsumexp


def _lse_plain(x):
    return np.log(np.sum(np.exp(x)))


X5 = rng.standard_normal(5)
V5 = rng.standard_normal(5)


# ------------------------------------------------------------------ first derivatives
def test_logsumexp_first_derivatives_match_finite_differences():
    lse = _logsumexp()
    assert lse(X5) == pytest.approx(_lse_plain(X5), rel=1e-15)
    assert mc.relerr(mc.grad(lse)(X5), fd.gradient(_lse_plain, X5, method="richardson")) < 1e-10
    y, dy = mc.jvp(lse, X5, V5)
    assert y == pytest.approx(_lse_plain(X5), rel=1e-15)
    assert dy == pytest.approx(fd.jvp(_lse_plain, X5, V5, method="richardson"), rel=1e-10)
    # vjp of a primitive inside a larger computation (the chain rule around it)
    h = lambda x: np.sin(lse(3 * x)) * np.sum(x ** 2)
    assert mc.relerr(mc.grad(h)(X5), fd.gradient(h, X5, method="richardson")) < 1e-9


def test_primitive_is_never_traced_inside():
    # float() and a Python loop with a stopping test: impossible to trace, fine here
    @mc.primitive
    def cbrt(a):
        a = float(a)
        x = max(abs(a), 1.0)
        while abs(x ** 3 - a) > 1e-15 * max(1.0, abs(a)):
            x = x - (x ** 3 - a) / (3 * x ** 2)
        return np.float64(x)

    # implicit function theorem: x³ = a  ⇒  3x² dx = da
    cbrt.defjvp(lambda da, x, a: da / (3 * x ** 2))
    cbrt.defvjp(lambda g, x, a: g / (3 * x ** 2))
    a = 2.7
    assert mc.derivative(cbrt, a) == pytest.approx(a ** (-2 / 3) / 3, rel=1e-13)
    assert mc.grad(cbrt)(a) == pytest.approx(a ** (-2 / 3) / 3, rel=1e-13)
    # second derivative: the rules (NumPy code) are differentiated again, x'' = −(2/9) a^(−5/3)
    assert mc.derivative(lambda b: mc.derivative(cbrt, b), a) == pytest.approx(
        -2 / 9 * a ** (-5 / 3), rel=1e-12)
    assert mc.grad(mc.grad(cbrt))(a) == pytest.approx(-2 / 9 * a ** (-5 / 3), rel=1e-12)
    assert bool(mc.check_rule(cbrt, a))


def test_two_matrix_arguments_with_argnum():
    # f(A, B) = tr(A B A): df = tr(dA B A + A B dA) + tr(A dB A)
    @mc.primitive
    def trABA(A, B):
        return np.trace(A @ B @ A)

    trABA.defjvp(lambda dA, y, A, B: np.trace(dA @ B @ A + A @ B @ dA), argnum=0)
    trABA.defjvp(lambda dB, y, A, B: np.trace(A @ dB @ A), argnum=1)
    trABA.defvjp(lambda g, y, A, B: g * (B @ A + A @ B).T, argnum=0)
    trABA.defvjp(lambda g, y, A, B: g * (A @ A).T, argnum=1)
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))   # not symmetric
    plain = lambda A, B: np.trace(A @ B @ A)
    gA, gB = mc.grad(trABA, argnum=(0, 1))(A, B)
    assert mc.relerr(gA, fd.gradient(lambda A: plain(A, B), A, method="richardson")) < 1e-10
    assert mc.relerr(gB, fd.gradient(lambda B: plain(A, B), B, method="richardson")) < 1e-10
    dA, dB = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    # both arguments moving at once: the two partial jvps add up
    both = lambda t: trABA(A + t * dA, B + t * dB)
    assert mc.derivative(both, 0.0) == pytest.approx(
        fd.derivative(lambda t: plain(A + t * dA, B + t * dB), 0.0, method="richardson"),
        rel=1e-10)
    # second order, mixed: ∂²/∂A∂B through the rules, against finite differences of ∇_B
    H = mc.jacobian(lambda A: mc.grad(trABA, argnum=1)(A, B), A)
    H_fd = fd.jacobian(lambda A: mc.grad(lambda B: plain(A, B))(B), A, method="richardson")
    assert mc.relerr(H, H_fd) < 1e-8
    r = mc.check_rule(trABA, A, B)
    assert r and len(r.parts) == 6


def test_rule_returning_a_broadcast_cotangent_is_summed_like_builtin_rules():
    # f(s, x) = s·x with a scalar s: the natural vjp for s, g·x, has x's shape
    scale = mc.primitive(lambda s, x: s * x)
    scale.defvjp(lambda g, y, s, x: g * x, argnum=0)
    scale.defvjp(lambda g, y, s, x: g * s, argnum=1)
    scale.defjvp(lambda ds, y, s, x: ds * x, argnum=0)
    scale.defjvp(lambda dx, y, s, x: s * dx, argnum=1)
    x = rng.standard_normal(4)
    assert mc.grad(lambda s: np.sum(scale(s, x) ** 2))(1.5) == pytest.approx(
        2 * 1.5 * np.sum(x ** 2), rel=1e-14)
    assert mc.check_rule(scale, 1.5, x)


# ------------------------------------------------------------------ second derivatives
def test_logsumexp_second_derivatives_match_finite_differences():
    lse = _logsumexp()
    H_fd = fd.hessian(_lse_plain, X5, method="richardson")
    # exact Hessian: diag(p) − p pᵀ, p = softmax(x)
    p = np.exp(X5 - _lse_plain(X5))
    H_exact = np.diag(p) - np.outer(p, p)
    assert mc.relerr(H_fd, H_exact) < 1e-8
    assert mc.relerr(mc.hessian(lse, X5), H_exact) < 1e-13                 # forward over reverse
    assert mc.relerr(mc.hvp(lse, X5, V5), H_exact @ V5) < 1e-13
    rr = mc.grad(lambda x: np.sum(mc.grad(lse)(x) * V5))(X5)             # reverse over reverse
    assert mc.relerr(rr, H_exact @ V5) < 1e-13
    rf = mc.grad(lambda x: mc.jvp(lse, x, V5)[1])(X5)                    # reverse over forward
    assert mc.relerr(rf, H_exact @ V5) < 1e-13
    ff = mc.jacobian(lambda x: mc.jacobian(lse, x), X5)                  # forward over forward
    assert mc.relerr(ff, H_exact) < 1e-13


def test_matrix_primitive_second_order():
    # f(X) = log det X with its textbook rules: df = tr(X⁻¹ dX), ∇f = X⁻ᵀ
    @mc.primitive
    def logdet(X):
        return np.linalg.slogdet(X)[1]

    logdet.defjvp(lambda dX, y, X: np.trace(np.linalg.solve(X, dX)))
    logdet.defvjp(lambda g, y, X: g * np.linalg.inv(X).T)
    X = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    V = rng.standard_normal((3, 3))
    plain = lambda X: np.linalg.slogdet(X)[1]
    assert mc.relerr(mc.grad(logdet)(X), np.linalg.inv(X).T) < 1e-13
    # d²f[V, V] = −tr(X⁻¹V X⁻¹V), and the Hessian against finite differences
    Xi = np.linalg.inv(X)
    assert np.sum(mc.hvp(logdet, X, V) * V) == pytest.approx(-np.trace(Xi @ V @ Xi @ V),
                                                             rel=1e-12)
    assert mc.relerr(mc.hessian(logdet, X), fd.hessian(plain, X, method="richardson")) < 1e-7


# ------------------------------------------------------------------ check_rule
def test_check_rule_accepts_correct_and_rejects_relative_1e3_errors():
    lse = _logsumexp()
    r = mc.check_rule(lse, X5)
    assert r and r.ok and r.relerr < 1e-9 and len(r.parts) == 3
    for wrong in ("jvp", "vjp"):
        bad = mc.primitive(_lse_plain)
        s_j = 1 + 1e-3 if wrong == "jvp" else 1.0
        s_v = 1 + 1e-3 if wrong == "vjp" else 1.0
        bad.defjvp(lambda dx, y, x, s=s_j: s * np.sum(np.exp(x - y) * dx))
        bad.defvjp(lambda g, y, x, s=s_v: s * g * np.exp(x - y))
        r = mc.check_rule(bad, X5)
        assert not r
        assert r.relerr == pytest.approx(1e-3, rel=1e-3)
        oks = {p.what: p.ok for p in r.parts}
        assert oks[f"{wrong} of argument 0 vs finite differences"] is False
        other = "vjp" if wrong == "jvp" else "jvp"
        assert oks[f"{other} of argument 0 vs finite differences"] is True
        assert oks["jvp vs vjp (dot-product test), argument 0"] is False
        with pytest.raises(AssertionError, match=r"rules of _lse_plain: 2 of 3 comparisons "
                           r"failed\n" + wrong + r" of argument 0 vs finite differences check "
                           r"failed: relerr = 0\.001"):
            r.assert_ok()


def test_check_rule_catches_a_missing_transpose_on_a_nonsymmetric_matrix():
    # f(A) = Σ (A c)ᵢ² ; ∇f = 2 (A c) cᵀ — forgetting which side c goes on is a transpose
    c = rng.standard_normal(3)
    f = mc.primitive(lambda A: np.sum((A @ c) ** 2))
    f.defjvp(lambda dA, y, A: 2 * np.sum((A @ c) * (dA @ c)))
    f.defvjp(lambda g, y, A: 2 * g * np.outer(c, A @ c))          # transposed: wrong
    A = rng.standard_normal((3, 3))
    r = mc.check_rule(f, A)
    assert not r
    assert [p.ok for p in r.parts] == [True, False, False]
    f.defvjp(lambda g, y, A: 2 * g * np.outer(A @ c, c))          # redefine: right
    assert mc.check_rule(f, A)


def test_check_rule_complex_holomorphic_and_real_valued():
    # holomorphic: f(z) = z·e^z elementwise, f'(z) = (1 + z) e^z; the vjp uses plain
    # transposes (no conjugate), as the package's own rules do
    f = mc.primitive(lambda z: z * np.exp(z))
    f.defjvp(lambda dz, y, z: (1 + z) * np.exp(z) * dz)
    f.defvjp(lambda g, y, z: g * (1 + z) * np.exp(z))
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    assert mc.check_rule(f, z)
    # the same vjp with a conjugate is wrong, and check_rule says so
    g = mc.primitive(lambda z: z * np.exp(z))
    g.defjvp(lambda dz, y, z: (1 + z) * np.exp(z) * dz)
    g.defvjp(lambda gg, y, z: gg * np.conj((1 + z) * np.exp(z)))
    assert not mc.check_rule(g, z)
    # real-valued f(z) = Σ|z|² : df = Re Σ 2 z̄ dz, so x̄ = 2 g z̄ in the bilinear pairing,
    # and mc.grad returns the user-facing 2z (∂f/∂Re z + i ∂f/∂Im z)
    n2 = mc.primitive(lambda z: np.sum(np.abs(z) ** 2))
    n2.defjvp(lambda dz, y, z: 2 * np.real(np.sum(np.conj(z) * dz)))
    n2.defvjp(lambda gg, y, z: 2 * gg * np.conj(z))
    assert mc.check_rule(n2, z)
    assert mc.relerr(mc.grad(n2)(z), 2 * z) < 1e-15
    # holomorphic forward mode and a complex Jacobian through the primitive
    assert mc.relerr(mc.jacobian(f, z), np.diag((1 + z) * np.exp(z))) < 1e-14
    assert mc.relerr(mc.jacobian(f, z, mode="reverse"), np.diag((1 + z) * np.exp(z))) < 1e-14


def test_check_rule_repr_and_partial_rules():
    only_jvp = mc.primitive(np.sin)
    only_jvp.defjvp(lambda dx, y, x: np.cos(x) * dx)
    r = mc.check_rule(only_jvp, np.array([0.3, 1.2]))
    assert r and [p.what for p in r.parts] == ["jvp of argument 0 vs finite differences"]
    text = repr(r)
    assert text.startswith("CheckResult(ok=True, relerr=")
    assert "rules of sin:\n  jvp of argument 0 vs finite differences  ok      relerr" in text
    with pytest.raises(ValueError, match=r"f has no rules to check yet; define them with "
                       r"f\.defjvp"):
        mc.check_rule(mc.primitive(lambda x: x), 1.0)
    with pytest.raises(ValueError, match=r"sin has no rule for argument 1"):
        mc.check_rule(only_jvp, 1.0, 2.0, argnums=1)
    with pytest.raises(TypeError, match="checks the rules of an mc.primitive"):
        mc.check_rule(np.sin, 1.0)
    bad_shape = mc.primitive(lambda x: np.sum(x))
    bad_shape.defjvp(lambda dx, y, x: dx)       # forgot the sum: shape (3,), not ()
    with pytest.raises(ValueError, match=r"the jvp rule of f \(argument 0\) returned shape "
                       r"\(3,\); f'\(x\)\[dx\] has the shape of the output, \(\)"):
        mc.check_rule(bad_shape, np.ones(3))


# ------------------------------------------------------------------ errors
def test_missing_rule_errors_name_the_function_and_the_method():
    only_jvp = mc.primitive(_lse_plain)
    only_jvp.defjvp(lambda dx, y, x: np.sum(np.exp(x - y) * dx))
    with pytest.raises(TypeError, match=r"the mc.primitive _lse_plain has no vjp rule for "
                       r"argument 0, which reverse mode .* needs; define one with "
                       r"_lse_plain\.defvjp\(lambda g, y, \*args: \.\.\.\)"):
        mc.grad(only_jvp)(X5)
    with pytest.raises(TypeError, match=r"_lse_plain\.defvjp"):   # hvp needs both rules
        mc.hvp(only_jvp, X5, V5)
    only_vjp = mc.primitive(_lse_plain)
    only_vjp.defvjp(lambda g, y, x: g * np.exp(x - y))
    with pytest.raises(TypeError, match=r"no jvp rule for argument 0, which forward mode .* "
                       r"_lse_plain\.defjvp\(lambda dx, y, \*args: \.\.\.\)"):
        mc.jvp(only_vjp, X5, V5)
    with pytest.raises(TypeError, match=r"_lse_plain\.defjvp"):
        mc.hessian(only_vjp, X5)
    two = mc.primitive(lambda a, b: a * b)
    two.defvjp(lambda g, y, a, b: g * b)
    assert mc.grad(two)(2.0, 3.0) == 3.0
    with pytest.raises(TypeError, match=r"f has no vjp rule for argument 1.*"
                       r"f\.defvjp\(lambda g, y, \*args: \.\.\., argnum=1\)"):
        mc.grad(two, argnum=1)(2.0, 3.0)


def test_defjvp_defvjp_validate_their_arguments():
    f = mc.primitive(lambda a, b: a * b)
    with pytest.raises(TypeError, match=r"f\.defjvp: the rule must be a function"):
        f.defjvp(3.0)
    with pytest.raises(ValueError, match=r"argnum=2, but f has 2 positional argument"):
        f.defvjp(lambda g, y, a, b: g, argnum=2)
    with pytest.raises(ValueError, match=r"argnum must be a non-negative integer"):
        f.defvjp(lambda g, y, a, b: g, argnum=-1)
    with pytest.raises(TypeError, match=r"called as rule\(g, y, a, b\) .* must accept 4 "
                       r"positional arguments"):
        f.defvjp(lambda g, y, a: g * a)         # forgot the second argument
    with pytest.raises(TypeError, match="mc.primitive needs a function"):
        mc.primitive(3)


def test_rules_as_decorators_and_repr():
    @mc.primitive
    def cube(x):
        return x ** 3

    @cube.defjvp
    def cube_jvp(dx, y, x):
        return 3 * x ** 2 * dx

    @functools.partial(cube.defvjp, argnum=0)
    def cube_vjp(g, y, x):
        return 3 * g * x ** 2

    assert callable(cube_jvp) and cube_jvp(1.0, 8.0, 2.0) == 12.0     # the rule itself
    assert cube.jvp_rules == {0: cube_jvp} and cube.vjp_rules == {0: cube_vjp}
    assert repr(cube) == "<mc.primitive cube: jvp of argument 0, vjp of argument 0>"
    assert cube.__doc__ is None and cube.__name__ == "cube"
    assert mc.primitive(cube) is cube
    assert mc.grad(cube)(2.0) == 12.0 and mc.derivative(cube, 2.0) == 12.0


def test_keyword_arguments():
    @mc.primitive
    def powsum(x, p=2.0):
        return np.sum(np.abs(x) ** p)

    powsum.defjvp(lambda dx, y, x, p=2.0: np.sum(p * np.sign(x) * np.abs(x) ** (p - 1) * dx))
    powsum.defvjp(lambda g, y, x, p=2.0: g * p * np.sign(x) * np.abs(x) ** (p - 1))
    x = rng.standard_normal(4)
    for p in (2.0, 3.0):
        want = fd.gradient(lambda x: np.sum(np.abs(x) ** p), x, method="richardson")
        assert mc.relerr(mc.grad(lambda x: powsum(x, p=p))(x), want) < 1e-10
        assert mc.relerr(mc.grad(lambda x: powsum(x, p))(x), want) < 1e-10
        assert mc.relerr(mc.grad(lambda x: powsum(x=x, p=p))(x), want) < 1e-10  # moved
        assert mc.jvp(lambda x: powsum(p=p, x=x), x, want)[1] == pytest.approx(
            np.sum(want * want), rel=1e-10)
    assert mc.check_rule(powsum, x, 3.0, argnums=0)


def test_parameters_named_like_numpy_keywords_mean_what_the_primitive_says():
    # out=, mean=, where= are special for NumPy functions, not for a primitive
    @mc.primitive
    def spread(x, mean, where=None, out=2.0):
        return np.sum((x - mean) ** 2) * out

    spread.defjvp(lambda dx, y, x, mean, where=None, out=2.0: 2 * out * np.sum((x - mean) * dx))
    spread.defvjp(lambda g, y, x, mean, where=None, out=2.0: 2 * out * g * (x - mean))
    spread.defvjp(lambda g, y, x, mean, where=None, out=2.0: -2 * out * g * np.sum(x - mean),
                  argnum=1)
    x = rng.standard_normal(4)
    for out in (2.0, 3.0):
        ref = lambda x, m: np.sum((x - m) ** 2) * out
        gx = fd.gradient(lambda x: ref(x, 0.5), x, method="richardson")
        assert mc.relerr(mc.grad(lambda x: spread(x, 0.5, out=out))(x), gx) < 1e-10
        assert mc.relerr(mc.grad(lambda x: spread(x, mean=0.5, where=1, out=out))(x),
                         gx) < 1e-10
        assert mc.jvp(lambda x: spread(x, 0.5, None, out), x, x)[1] == pytest.approx(
            np.sum(gx * x), rel=1e-10)
        assert mc.grad(lambda m: spread(x, m, out=out))(0.5) == pytest.approx(
            fd.derivative(lambda m: ref(x, m), 0.5, method="richardson"), rel=1e-10)
    assert mc.check_rule(spread, x, 0.5)
    kwonly = mc.primitive(lambda x, *, where: where * x)        # a keyword-only `where`
    kwonly.defjvp(lambda dx, y, x, *, where: where * dx)
    kwonly.defvjp(lambda g, y, x, *, where: where * g)
    assert mc.grad(lambda x: kwonly(x, where=3.0))(1.0) == 3.0
    assert mc.derivative(lambda x: kwonly(x, where=3.0), 1.0) == 3.0
    assert mc.hvp(lambda x: kwonly(x, where=3.0) ** 2, 1.0, 1.0) == 18.0


def test_array_built_with_np_array_from_traced_values():
    # np.array([...]) of traced values reaches the primitive as one traced array, so f
    # itself is still called on plain numbers only
    seen = []

    @mc.primitive
    def lse(x):
        seen.append(type(x))
        return _lse_plain(x)

    lse.defjvp(lambda dx, y, x: np.sum(np.exp(x - y) * dx))
    lse.defvjp(lambda g, y, x: g * np.exp(x - y))
    h = lambda x: lse(np.array([x[0] * x[1], np.sin(x[2]), x[3]]))
    h_ref = lambda x: _lse_plain(np.array([x[0] * x[1], np.sin(x[2]), x[3]]))
    x = rng.standard_normal(4)
    assert mc.relerr(mc.grad(h)(x), fd.gradient(h_ref, x, method="richardson")) < 1e-10
    v = rng.standard_normal(4)
    assert mc.jvp(h, x, v)[1] == pytest.approx(fd.jvp(h_ref, x, v, method="richardson"),
                                               rel=1e-10)
    assert mc.relerr(mc.hessian(h, x), fd.hessian(h_ref, x, method="richardson")) < 1e-6
    assert set(seen) == {np.ndarray}


def test_bad_calls_say_what_to_write():
    lse = _logsumexp()
    with pytest.raises(TypeError, match=r"argument 0 is a list or tuple holding traced "
                       r"values; .* np\.stack"):
        mc.grad(lambda x: lse([x[0], x[1]]))(X5)
    kw = mc.primitive(lambda x, *, w: w * x)
    kw.defvjp(lambda g, y, x, *, w: g * w)
    assert mc.grad(lambda x: kw(x, w=3.0))(1.0) == 3.0
    with pytest.raises(TypeError, match=r"keyword argument w= is a traced value"):
        mc.grad(lambda w: kw(1.0, w=w))(3.0)
    pair = mc.primitive(lambda x: (x, x))
    pair.defjvp(lambda dx, y, x: dx)
    with pytest.raises(TypeError, match="returned a tuple; a primitive returns one array"):
        mc.jvp(pair, 1.0, 1.0)


def test_docstring_examples_run():
    for name in ("mcutils.primitive", "mcutils.checks"):
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0


def test_matrix_valued_primitive_in_jacobians_and_hessians():
    # Y = A⁻¹: dY = −Y dA Y, Ā = −Yᵀ Ḡ Yᵀ
    inv = mc.primitive(np.linalg.inv)
    inv.defjvp(lambda dA, Y, A: -Y @ dA @ Y)
    inv.defvjp(lambda G, Y, A: -Y.T @ G @ Y.T)
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    assert mc.check_rule(inv, A)
    J_fd = fd.jacobian(np.linalg.inv, A, method="richardson")
    for mode in ("forward", "reverse"):
        assert mc.relerr(mc.jacobian(inv, A, mode=mode), J_fd) < 1e-10
    f = lambda A: np.sum(inv(A) ** 2)
    f_ref = lambda A: np.sum(np.linalg.inv(A) ** 2)
    assert mc.relerr(mc.hessian(f, A), fd.hessian(f_ref, A, method="richardson")) < 1e-8
    T = mc.jacobian(mc.jacobian(inv))(A)                    # d²(A⁻¹), shape (3,3,3,3,3,3)
    assert mc.relerr(T, mc.jacobian(mc.jacobian(np.linalg.inv))(A)) < 1e-13
