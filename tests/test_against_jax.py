"""mcutils reverse mode agrees with JAX (float64) on random compositions of supported ops.

Each operation is written once against a NumPy-like module ``xp`` (NumPy for mcutils,
jax.numpy for JAX); a seeded generator strings several together and ends with a scalar.
"""

import numpy as np
import pytest

import mcutils as mc

pytest.importorskip("jax")
from mcutils.nbsetup import jax64  # noqa: E402

jax, jnp = jax64()
import jax.scipy.linalg as jsl  # noqa: E402

N = 4


def expm(xp, X):
    return mc.expm(X) if xp is np else jsl.expm(X)


def spd(xp, X):
    return X @ X.T + N * xp.eye(N)


# matrix -> matrix (N×N), each differentiable everywhere on the inputs used
MAPS = [
    ("sin", lambda xp, X, C: xp.sin(X)),
    ("tanh", lambda xp, X, C: xp.tanh(2 * X)),
    ("square", lambda xp, X, C: X @ X / N),
    ("matmul_const", lambda xp, X, C: C @ X),
    ("transpose_add", lambda xp, X, C: X.T + 0.5 * X),
    ("hadamard", lambda xp, X, C: X * C + X ** 2 / 4),
    ("exp", lambda xp, X, C: xp.exp(X / 4)),
    ("rational", lambda xp, X, C: X / (1 + X ** 2)),
    ("log1p_sqrt", lambda xp, X, C: xp.log1p(X ** 2) + xp.sqrt(1 + X ** 2)),
    ("arctan_cosh", lambda xp, X, C: xp.arctan(X) * xp.cosh(X / 3)),
    ("inv", lambda xp, X, C: xp.linalg.inv(spd(xp, X))),
    ("solve", lambda xp, X, C: xp.linalg.solve(spd(xp, X), C)),
    ("solve_vec", lambda xp, X, C: xp.outer(xp.linalg.solve(spd(xp, C), X[:, 0]), X[0])),
    ("cholesky", lambda xp, X, C: xp.linalg.cholesky(spd(xp, X))),
    ("eigh_function", lambda xp, X, C: (lambda w, Q: (Q * xp.sin(w)) @ Q.T)(
        *xp.linalg.eigh(X + X.T))),
    ("qr", lambda xp, X, C: (lambda Q, R: Q @ xp.tanh(R))(*xp.linalg.qr(X + 3 * xp.eye(N)))),
    ("expm", lambda xp, X, C: expm(xp, X / 3)),
    ("matrix_power", lambda xp, X, C: xp.linalg.matrix_power(X / 2, 3)),
    ("triangles", lambda xp, X, C: xp.triu(X) - 2 * xp.tril(X, -1).T),
    ("flip_roll", lambda xp, X, C: xp.roll(X[::-1], 1, axis=1)),
    ("stack_mean", lambda xp, X, C: xp.stack([X, C * X]).mean(axis=0)),
    ("concat", lambda xp, X, C: xp.concatenate([X[:, :2], X[:, 2:] ** 2], axis=1)),
    ("einsum", lambda xp, X, C: xp.einsum("ij,jk,kl->il", X, C, X) / N),
    ("kron_block", lambda xp, X, C: xp.kron(X[:2, :2], C[:2, :2])),
    ("where_max", lambda xp, X, C: xp.where(C > 0, X, xp.maximum(X, 0.1 * X))),
    ("diag", lambda xp, X, C: xp.diag(xp.diagonal(X)) + xp.diag(X[0, 1:], 1)),
    ("cumsum", lambda xp, X, C: xp.cumsum(X, axis=0) / N),
    ("broadcast", lambda xp, X, C: X - X.mean(axis=1, keepdims=True) + X.max(axis=0)),
]

# matrix -> scalar
ENDS = [
    ("sum_sin", lambda xp, X, C: xp.sum(xp.sin(X))),
    ("logdet", lambda xp, X, C: xp.linalg.slogdet(spd(xp, X))[1]),
    ("det", lambda xp, X, C: xp.linalg.det(X + 2 * xp.eye(N))),
    ("fro", lambda xp, X, C: xp.linalg.norm(X)),
    ("nuclear", lambda xp, X, C: xp.linalg.norm(X, "nuc")),
    ("trace_inv", lambda xp, X, C: xp.trace(xp.linalg.inv(spd(xp, X)) @ C)),
    ("svdvals", lambda xp, X, C: xp.sum(xp.linalg.svd(X, compute_uv=False) ** 3)),
    ("eigvalsh", lambda xp, X, C: xp.linalg.eigvalsh(X + X.T)[-1]),
    ("prod_var", lambda xp, X, C: xp.prod(1 + X[0] ** 2) + xp.var(X)),
    ("vector_norm", lambda xp, X, C: xp.sum(xp.linalg.norm(X, axis=0))),
]


def compose(seed):
    r = np.random.default_rng(seed)
    picks = [MAPS[i] for i in r.choice(len(MAPS), size=3, replace=False)]
    end = ENDS[r.integers(len(ENDS))]
    C = r.standard_normal((N, N))
    X = r.standard_normal((N, N))

    def f(xp, X):
        for _, m in picks:
            X = m(xp, X, C)
        return end[1](xp, X, C)

    name = " → ".join([p[0] for p in picks] + [end[0]])
    return f, X, name


@pytest.mark.parametrize("seed", range(16))
def test_gradient_of_random_composition_matches_jax(seed):
    f, X, name = compose(seed)
    g = mc.grad(lambda X: f(np, X))(X)
    g_jax = np.asarray(jax.grad(lambda X: f(jnp, X))(jnp.asarray(X)))
    assert mc.relerr(g, g_jax) < 1e-10, name


@pytest.mark.parametrize("name", [m[0] for m in MAPS])
def test_vjp_of_each_matrix_map_matches_jax(name):
    m = dict(MAPS)[name]
    r = np.random.default_rng(len(name))
    X, C, Ybar = (r.standard_normal((N, N)) for _ in range(3))
    y, pb = mc.vjp(lambda X: m(np, X, C), X)
    y_jax, pb_jax = jax.vjp(lambda X: m(jnp, X, C), jnp.asarray(X))
    Ybar = Ybar[: y.shape[0], : y.shape[1]] if y.shape != (N, N) else Ybar
    if y.shape != Ybar.shape:
        Ybar = r.standard_normal(y.shape)
    assert mc.relerr(y, np.asarray(y_jax)) < 1e-13
    assert mc.relerr(pb(Ybar), np.asarray(pb_jax(jnp.asarray(Ybar))[0])) < 1e-10


@pytest.mark.parametrize("seed", range(2))
def test_hessian_of_random_composition_matches_jax(seed):
    f, X, name = compose(100 + seed)
    x = X[:2, :2].copy()                    # a 2×2 corner keeps the Hessian small

    def g(xp, x):
        top = xp.concatenate([x, xp.asarray(X[:2, 2:])], axis=1) if xp is jnp else \
            np.concatenate([x, X[:2, 2:]], axis=1)
        return f(xp, xp.concatenate([top, X[2:]], axis=0))

    H = mc.hessian(lambda x: g(np, x), x)
    H_jax = np.asarray(jax.hessian(lambda x: g(jnp, x))(jnp.asarray(x)))
    assert mc.relerr(H, H_jax) < 1e-9, name


def test_complex_gradient_convention_versus_jax():
    # JAX's grad of a real f of complex z is the conjugate of ∂f/∂Re z + i ∂f/∂Im z;
    # mcutils returns the steepest-ascent direction itself (lecture 15 shows both).
    r = np.random.default_rng(15)
    Z = r.standard_normal((3, 3)) + 1j * r.standard_normal((3, 3))
    f = lambda xp, Z: xp.real(xp.trace(xp.linalg.inv(Z + 3 * xp.eye(3)) @ Z.conj().T))
    g = mc.grad(lambda Z: f(np, Z))(Z)
    g_jax = np.asarray(jax.grad(lambda Z: f(jnp, Z))(jnp.asarray(Z)))
    assert mc.relerr(g, np.conj(g_jax)) < 1e-12
