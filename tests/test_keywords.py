"""Keyword arguments mean what NumPy means (issue 13).

Every differentiable function in either rule table that has parameters besides its data is
called twice on a traced input: once with its parameters by keyword, once with the same
values positionally (in NumPy's order, skipped parameters at NumPy's default).  Both calls
must give the same value, the same jvp and the same gradient, and that derivative must
agree with finite differences.  ``out=`` on a traced computation raises, naming the function.

To cover a new rule: add one entry to ``CASES`` (``data`` builds the data arguments from the
differentiated array ``x``; ``kw`` are the parameters).  ``test_every_rule_with_parameters
_has_a_case`` fails until you do.
"""

import inspect

import numpy as np
import pytest

import mcutils as mc
from mcutils.forward_rules import FUNCTION_RULES, NONDIFF
from mcutils.reverse_rules import RULES

la = np.linalg
rng = np.random.default_rng(1313)


def R(*shape):
    return rng.standard_normal(shape)


def P(*shape):
    return rng.uniform(0.5, 2.0, shape)


def SPD(n):
    B = rng.standard_normal((n, n))
    return B @ B.T + n * np.eye(n)


def SYM(n):
    B = rng.standard_normal((n, n))
    return B + B.T


K34 = R(3, 4)
X, Y = R(3, 4), R(3, 4)
IDX = np.array([[0, 2, 1, 0], [1, 1, 0, 2]])


def first(x):
    return (x,)


def case(func, x, kw, data=first, out=None, dx=None):
    """One keyword case: func(*data(x), **kw); ``out`` reduces a tuple result to an array;
    ``dx`` the direction (default: random of x's shape and kind)."""
    return dict(func=func, x=x, kw=kw, data=data, out=out, dx=dx)


CASES = {
    "sum": case(np.sum, X, dict(axis=1, keepdims=True)),
    "mean": case(np.mean, X, dict(axis=0, keepdims=True)),
    "prod": case(np.prod, P(3, 4), dict(axis=1, keepdims=True)),
    "max": case(np.max, X, dict(axis=1, keepdims=True)),
    "amax": case(np.amax, X, dict(axis=0, keepdims=True)),
    "min": case(np.min, X, dict(axis=1, keepdims=True)),
    "amin": case(np.amin, X, dict(axis=0, keepdims=True)),
    "cumsum": case(np.cumsum, X, dict(axis=1)),
    "cumprod": case(np.cumprod, P(3, 4), dict(axis=0)),
    "std": case(np.std, X, dict(axis=1, ddof=1, keepdims=True)),
    "var": case(np.var, X, dict(axis=0, ddof=1, keepdims=True)),
    "clip": case(np.clip, X, dict(a_min=-0.3, a_max=0.4)),
    "diag": case(np.diag, R(4), dict(k=1)),
    "diagonal": case(np.diagonal, R(3, 4, 5), dict(offset=1, axis1=2, axis2=0)),
    "trace": case(np.trace, R(3, 4, 5), dict(offset=-1, axis1=2, axis2=0)),
    "diff": case(np.diff, R(3, 5), dict(n=2, axis=0)),
    "expand_dims": case(np.expand_dims, X, dict(axis=1)),
    "flip": case(np.flip, X, dict(axis=0)),
    "moveaxis": case(np.moveaxis, R(2, 3, 4), dict(source=0, destination=2)),
    "swapaxes": case(np.swapaxes, R(2, 3, 4), dict(axis1=0, axis2=2)),
    "reshape": case(np.reshape, X, dict(shape=(2, 6), order="F")),
    "ravel": case(np.ravel, X, dict(order="F")),
    "roll": case(np.roll, X, dict(shift=2, axis=1)),
    "sort": case(np.sort, X, dict(axis=0)),
    "squeeze": case(np.squeeze, R(3, 1, 4), dict(axis=1)),
    "transpose": case(np.transpose, R(2, 3, 4), dict(axes=(1, 2, 0))),
    "tril": case(np.tril, X, dict(k=1)),
    "triu": case(np.triu, X, dict(k=-1)),
    "broadcast_to": case(np.broadcast_to, R(4), dict(shape=(3, 4))),
    "take": case(np.take, X, dict(indices=[2, 0, 2], axis=1)),
    "take_along_axis": case(np.take_along_axis, X, dict(indices=IDX, axis=0)),
    "repeat": case(np.repeat, X, dict(repeats=2, axis=1)),
    "tile": case(np.tile, X, dict(reps=(2, 1))),
    "rot90": case(np.rot90, X, dict(k=3, axes=(1, 0))),
    "split": case(np.split, X, dict(indices_or_sections=2, axis=1),
                  out=lambda r: np.concatenate(r, axis=1) * np.arange(1.0, 5.0)),
    "array_split": case(np.array_split, X, dict(indices_or_sections=3, axis=1),
                        out=lambda r: np.concatenate(r, axis=1) * np.arange(1.0, 5.0)),
    "append": case(np.append, X, dict(axis=0), data=lambda x: (x, K34)),
    "concatenate": case(np.concatenate, X, dict(axis=1), data=lambda x: ([x, K34],)),
    "stack": case(np.stack, X, dict(axis=2), data=lambda x: ([x, K34],)),
    "angle": case(np.angle, R(4) + 1j * R(4), dict(deg=True)),
    "copy": case(np.copy, X, dict(order="F")),
    "where": None,            # np.where(condition, x, y, /): positional only
    "cross": case(np.cross, R(3, 4), dict(axisa=0, axisb=0, axisc=0),
                  data=lambda x: (x, R(3, 4))),
    "tensordot": case(np.tensordot, R(3, 4), dict(axes=([0], [1])),
                      data=lambda x: (x, R(2, 3))),
    "einsum": case(np.einsum, X, dict(optimize=True), data=lambda x: ("ij,kj->ik", x, K34)),
    "average": case(np.average, X, dict(axis=1, weights=P(4))),
    "fft": case(np.fft.fft, R(6), dict(n=8, axis=0, norm="ortho"), out=np.real),
    "ifft": case(np.fft.ifft, R(6), dict(n=4, axis=0, norm="forward"), out=np.imag),
    "fft2": case(np.fft.fft2, R(3, 4), dict(s=(4, 4), axes=(0, 1), norm="ortho"),
                 out=np.real),
    "ifft2": case(np.fft.ifft2, R(3, 4), dict(s=(3, 5), axes=(1, 0)), out=np.imag),
    "norm_vector": case(la.norm, R(5), dict(ord=3)),
    "norm": case(la.norm, X, dict(ord=2, axis=1, keepdims=True)),
    "norm_nuc": case(la.norm, X, dict(ord="nuc")),
    "vector_norm": case(la.vector_norm, X, dict(axis=0, keepdims=True, ord=3)),
    "matrix_norm": case(la.matrix_norm, R(2, 3, 4), dict(keepdims=True, ord="fro")),
    # symmetric directions: eigh/cholesky act on (A + Aᵀ)/2, NumPy's on one triangle
    "eigh": case(la.eigh, SYM(4), dict(UPLO="U"), out=lambda r: r[0], dx=SYM(4)),
    "eigvalsh": case(la.eigvalsh, SYM(4), dict(UPLO="U"), dx=SYM(4)),
    "cholesky": case(la.cholesky, SPD(4), dict(upper=True), dx=SYM(4)),
    "qr": case(la.qr, R(5, 3), dict(mode="reduced"), out=lambda r: r[1]),
    "svd": case(la.svd, R(4, 3), dict(full_matrices=False, compute_uv=False)),
    "matrix_power": case(la.matrix_power, R(3, 3), dict(n=3)),
    "linalg.diagonal": case(la.diagonal, R(3, 4), dict(offset=1)),
    "linalg.trace": case(la.trace, R(2, 3, 3), dict(offset=1)),
    "nan_to_num": case(np.nan_to_num, X, dict(copy=False, nan=1.0)),
    # a real direction: along an imaginary one the result stops being real
    "real_if_close": case(np.real_if_close, X + 0j, dict(tol=1000), dx=R(3, 4) + 0j),
    "pad": case(np.pad, X, dict(pad_width=((1, 0), (0, 2)), mode="constant")),
    "partition": case(np.partition, X, dict(kth=1, axis=0)),
    "rollaxis": case(np.rollaxis, R(2, 3, 4), dict(axis=2, start=0)),
    "select": case(np.select, X, dict(default=0.5),
                   data=lambda x: ([X > 0, X < -0.5], [x, 2 * x])),
    "pinv": case(la.pinv, R(4, 3), dict(rcond=1e-12, hermitian=False)),
    "gradient": case(np.gradient, R(3, 5), dict(axis=1, edge_order=2)),
    "linspace": case(np.linspace, R(2), dict(stop=3.0, num=5, endpoint=False, axis=1)),
    "hsplit": case(np.hsplit, X, dict(indices_or_sections=2), out=lambda r: r[1]),
    "vsplit": case(np.vsplit, R(4, 3), dict(indices_or_sections=2), out=lambda r: r[0]),
    "dsplit": case(np.dsplit, R(2, 3, 4), dict(indices_or_sections=2), out=lambda r: r[1]),
}

# functions whose every parameter is data (nothing to spell by keyword), or whose only
# parameter is out= (tested by test_out_raises_naming_the_function)
DATA_ONLY = {
    np.dot, np.vdot, np.inner, np.outer, np.kron, la.outer, la.matmul, la.multi_dot,
    np.matrix_transpose, la.matrix_transpose, np.polyval, np.real, np.imag,
    np.atleast_1d, np.atleast_2d, np.hstack, np.vstack, np.dstack, np.column_stack,
    np.broadcast_arrays, la.inv, la.det, la.slogdet, la.solve, la.eigvals, la.svdvals,
    la.eig, np.fliplr, np.flipud, mc.expm, np.sinc,
}


def _funcs():
    """Every differentiable NumPy function (not ufunc) in either table."""
    seen = {}
    for f, rule in FUNCTION_RULES.items():
        if not isinstance(f, np.ufunc) and rule is not NONDIFF:
            seen[f] = True
    for f, rule in RULES.items():
        if not isinstance(f, np.ufunc) and rule[0] != "const" and f.__module__ != \
                "mcutils.reverse_rules":
            seen[f] = True
    return list(seen)


def _params(func):
    """The parameters of func other than its first (data) one and out=."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    ps = list(sig.parameters.values())[1:]
    return [p.name for p in ps if p.name != "out" and p.kind not in (p.VAR_POSITIONAL,
                                                                     p.VAR_KEYWORD)]


def test_every_rule_with_parameters_has_a_case():
    covered = {c["func"] for c in CASES.values() if c} | DATA_ONLY | {np.where}
    missing = sorted(f"{f.__module__}.{f.__name__}{_params(f)}" for f in _funcs()
                     if f not in covered and _params(f))
    assert not missing, ("add a keyword case to CASES in tests/test_keywords.py for: "
                         + ", ".join(missing))


def _positional(func, data, kw):
    """The same call with every keyword moved to its position (gaps: NumPy's default)."""
    sig = inspect.signature(func)
    ps = list(sig.parameters.values())
    if any(p.kind == p.VAR_POSITIONAL for p in ps):
        return tuple(data), dict(kw)
    args, rest = list(data), dict(kw)
    names = [p.name for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    given = [i for i, n in enumerate(names) if n in rest]
    for i in range(len(args), (max(given) + 1) if given else 0):
        p = sig.parameters[names[i]]
        if names[i] in rest:
            args.append(rest.pop(names[i]))
        elif p.default is np._NoValue:
            pytest.skip(f"{names[i]} has no default to spell positionally")
        else:
            args.append(p.default)
    return tuple(args), rest


@pytest.mark.parametrize("name", sorted(k for k, v in CASES.items() if v))
def test_keyword_and_positional_calls_give_the_same_value_and_derivative(name):
    c = CASES[name]
    func, x, kw, data, post = c["func"], c["x"], c["kw"], c["data"], c["out"] or (lambda y: y)
    d0 = data(x)
    pargs, pkw = _positional(func, d0, kw)
    k = next(i for i, a in enumerate(d0) if a is x or isinstance(a, list) and a and a[0] is x)

    def subst(args, x):
        args = list(args)
        args[k] = [x] + list(args[k][1:]) if isinstance(args[k], list) else x
        return args

    f_kw = lambda x: post(func(*subst(d0, x), **kw))      # noqa: E731
    f_pos = lambda x: post(func(*subst(pargs, x), **pkw))  # noqa: E731
    y = f_kw(x)
    assert np.array_equal(y, f_pos(x)), "positional and keyword values differ"
    assert np.array_equal(y, post(func(*d0, **kw)))
    dx = c["dx"] if c["dx"] is not None else \
        R(*np.shape(x)) + (1j * R(*np.shape(x)) if np.iscomplexobj(x) else 0)
    j_kw, j_pos = mc.jvp(f_kw, x, dx)[1], mc.jvp(f_pos, x, dx)[1]
    ref = mc.fd.jvp(f_kw, x, dx, method="richardson")
    assert mc.relerr(j_kw, j_pos) < 1e-12
    assert mc.relerr(j_kw, ref) < 1e-6, f"jvp {j_kw} vs finite differences {ref}"
    # reverse mode: the gradient of ⟨w, f(x)⟩ (real part for complex outputs)
    w = R(*np.shape(y))
    part = np.real if np.iscomplexobj(y) else (lambda y: y)
    s_kw = lambda x: np.sum(w * part(f_kw(x)))             # noqa: E731
    s_pos = lambda x: np.sum(w * part(f_pos(x)))           # noqa: E731
    g_kw, g_pos = mc.grad(s_kw)(x), mc.grad(s_pos)(x)
    assert mc.relerr(g_kw, g_pos) < 1e-12
    ip = np.real(np.sum(np.conj(g_kw) * dx))
    assert mc.relerr(ip, mc.fd.jvp(s_kw, x, dx, method="richardson")) < 1e-6


OUT_CASES = {
    "sum": lambda x, o: np.sum(x, out=o), "mean": lambda x, o: np.mean(x, 0, None, o),
    "cumsum": lambda x, o: np.cumsum(x, out=o), "clip": lambda x, o: np.clip(x, 0, 1, out=o),
    "trace": lambda x, o: np.trace(x, out=o), "dot": lambda x, o: np.dot(x, x.T, out=o),
    "max": lambda x, o: np.max(x, out=o), "concatenate": lambda x, o: np.concatenate(
        [x, x], out=o), "einsum": lambda x, o: np.einsum("ij->i", x, out=o),
    "sin": lambda x, o: np.sin(x, out=o), "add": lambda x, o: np.add(x, 1.0, out=o),
}


@pytest.mark.parametrize("name", sorted(OUT_CASES))
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_out_raises_naming_the_function(name, mode):
    f = OUT_CASES[name]
    x = R(3, 3)
    o = np.empty(100)
    run = (lambda: mc.jvp(lambda x: f(x, o), x, x)) if mode == "forward" else \
        (lambda: mc.grad(lambda x: np.sum(f(x, o)))(x))
    with pytest.raises(TypeError, match=rf"np\.{name}\(\.\.\., out=\.\.\.\).*in-place"):
        run()


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_keywords_with_another_meaning_raise_with_what_to_write(mode):
    x = R(4)
    mask = np.array([True, False, True, True])
    calls = {
        "where": lambda x: np.sum(x, where=mask),
        "initial": lambda x: np.max(x, initial=2.0),
        "mean": lambda x: np.var(x, mean=np.mean(x)),
    }
    for kw, f in calls.items():
        run = (lambda f=f: mc.jvp(f, x, x)) if mode == "forward" else \
            (lambda f=f: mc.grad(f)(x))
        with pytest.raises(TypeError, match=rf"{kw}=.*: .*(e\.g\.|drop)"):
            run()
    # ufunc where= also raises; dtype= is honoured
    with pytest.raises(TypeError, match="where="):
        (mc.jvp(lambda x: np.sin(x, where=mask), x, x) if mode == "forward"
         else mc.grad(lambda x: np.sum(np.sin(x, where=mask)))(x))
    f = lambda x: np.sum(np.sin(x, dtype=np.float64))     # noqa: E731
    g = mc.grad(f)(x) if mode == "reverse" else mc.jacobian(lambda x: np.sin(x, dtype=float),
                                                           x).diagonal()
    assert np.allclose(g, np.cos(x))


def test_aliases_and_correction_mean_what_numpy_means():
    x = R(6)
    for f in (lambda x: np.var(x, correction=1), lambda x: np.std(x, correction=1)):
        ref = mc.fd.gradient(f, x)
        assert mc.relerr(mc.grad(f)(x), ref) < 1e-7
        assert mc.relerr(mc.jacobian(f, x), ref) < 1e-7
    assert np.isclose(mc.grad(lambda x: np.var(x, correction=1))(x),
                      mc.grad(lambda x: np.var(x, ddof=1))(x)).all()


def test_keywords_numpy_rejects_are_rejected():
    x = R(3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'axes'"):
        mc.grad(lambda x: np.sum(x, axes=0))(x)
    with pytest.raises(TypeError, match="multiple values"):
        mc.jvp(lambda x: np.sum(x, 0, axis=0), x, x)
