"""How much does forward mode cost?  Ratios jvp time / plain NumPy time.

Run:  python benchmarks/bench_forward.py

* MLP x ↦ tanh(W₂ tanh(W₁x)) at n = 10 and n = 500;
* X ↦ log det X + tr(X⁻¹B) at 200×200 (X⁻¹B written as np.linalg.solve and as inv);
* the Babylonian square-root iteration on scalars: time per Dual operation vs float op.

Goals (issue 4): ≤ 3× for the array cases at n = 500 and 200×200; scalar ≤ 40×.
Timings are minima over alternating repeated runs; the numbers vary with the machine and BLAS.
"""

import os
import timeit

# One BLAS thread: the ratio should measure arithmetic, not thread scheduling (on a
# shared machine a threaded BLAS makes n = 200 timings vary by 5×).  Override by
# setting OPENBLAS_NUM_THREADS / OMP_NUM_THREADS yourself.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import mcutils as mc  # noqa: E402


def best_pair(f, g, number, repeat=25):
    """Minimum time per call of f and of g, measured alternately (robust to load)."""
    tf, tg = [], []
    for _ in range(repeat):
        tf.append(timeit.timeit(f, number=number) / number)
        tg.append(timeit.timeit(g, number=number) / number)
    return min(tf), min(tg)


def ratio(f, x, dx, number):
    plain, fwd = best_pair(lambda: f(x), lambda: mc.jvp(f, x, dx), number)
    return plain, fwd, fwd / plain


def main():
    rng = np.random.default_rng(7)
    print(f"{'case':44s} {'plain':>10s} {'jvp':>10s} {'ratio':>7s}")
    for n, number in ((10, 500), (500, 50)):
        W1, W2 = rng.standard_normal((2, n, n)) / np.sqrt(n)
        x, dx = rng.standard_normal((2, n))
        mlp = lambda x: np.tanh(W2 @ np.tanh(W1 @ x))
        p, j, r = ratio(mlp, x, dx, number)
        print(f"{'MLP tanh(W2 tanh(W1 x)), n=' + str(n):44s} {p*1e6:8.1f}µs {j*1e6:8.1f}µs "
              f"{r:6.2f}×")

    n = 200
    B = rng.standard_normal((n, n))
    X = rng.standard_normal((n, n)) + np.sqrt(n) * np.eye(n)
    dX = rng.standard_normal((n, n))
    f_solve = lambda X: np.linalg.slogdet(X)[1] + np.trace(np.linalg.solve(X, B))
    f_inv = lambda X: np.linalg.slogdet(X)[1] + np.trace(np.linalg.inv(X) @ B)
    for name, f in (("logdet X + tr(solve(X, B)), 200×200", f_solve),
                    ("logdet X + tr(inv(X) @ B), 200×200", f_inv)):
        p, j, r = ratio(f, X, dX, 3)
        print(f"{name:44s} {p*1e3:8.2f}ms {j*1e3:8.2f}ms {r:6.2f}×")

    def babylonian(a, iterations=20):
        x = a
        for _ in range(iterations):
            x = (x + a / x) / 2          # 3 operations per iteration
        return x

    ops = 3 * 20
    t_float, t_dual = best_pair(lambda: babylonian(2.0),
                                lambda: babylonian(mc.Dual(2.0, 1.0)), 500)
    t_float, t_dual = t_float / ops, t_dual / ops
    print(f"{'Babylonian sqrt: time per operation':44s} {t_float*1e9:8.1f}ns "
          f"{t_dual*1e9:8.1f}ns {t_dual / t_float:6.1f}×")


if __name__ == "__main__":
    main()
