"""Reverse mode: how much does a gradient cost compared with the function itself?

The cheap-gradient principle says a reverse-mode gradient costs a small constant times
the function.  This script prints, for each problem, the ratio

    (time of one gradient evaluation, forward pass included) / (time of plain NumPy f(x))

for mcutils and, beside it, autograd, JAX (eager and jit, float64) and PyTorch when they
are importable.  Every ratio uses the same denominator: the plain NumPy function.

    python benchmarks/bench_reverse.py                 # a few minutes
    python benchmarks/bench_reverse.py --threads       # keep multi-threaded BLAS
    python benchmarks/bench_reverse.py --no-sustained  # only the best-of table

Two numbers per case.  The first table is the **best of many short runs** (what the
machine can do).  The second is **sustained**: the median time of one call over a loop of
100 consecutive gradients (each result kept until the next call returns, as in a training
loop), divided by the median of 100 plain calls.  The sustained loop is run twice, each in
a fresh subprocess: with the C allocator's defaults, and after
``mcutils.nbsetup.reuse_freed_memory()`` (glibc keeps freed memory for reuse instead of
handing every large array fresh pages; see its docstring for the trade-off).

By default BLAS runs single-threaded (OPENBLAS_NUM_THREADS=1, set before NumPy starts):
NumPy and SciPy ship two separate OpenBLAS libraries, and on a small shared machine
their two thread pools spin against each other, so a gradient that mixes np.linalg and
scipy.linalg.lapack calls (the LU reused by slogdet's pullback) measures thread
scheduling rather than arithmetic.  Fresh large arrays also cost page faults that the
plain forward pass never pays (the n×n gradients of the W case); see the notes printed.

Problems: the MLP f(x) = Σ tanh(W₂ tanh(W₁x)) at n = 10 and n = 500 (gradient in x, and
in (W₁, W₂) at n = 500), and f(A) = log det A + tr(A⁻¹B) at 200×200.  Goals for mcutils:
≤ 8×, ≤ 2.5×, ≤ 4×, ≤ 2× respectively.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import timeit

if "--threads" not in sys.argv:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
# Importing mcutils.nbsetup (for jax64) would apply reuse_freed_memory(); the best-of table
# and the "default" rows measure the allocator's defaults, the "reuse" rows call it.
os.environ.setdefault("MCUTILS_MALLOC", "default")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import mcutils as mc  # noqa: E402

ROUNDS = 6
SUSTAINED_CALLS = 100      # one sustained loop
SUSTAINED_LOOPS = 3        # loops per setting; the least disturbed loop is reported
NAMES = ["mcutils", "autograd", "JAX eager", "JAX jit", "PyTorch"]
SETTINGS = {"default": "C allocator defaults",
            "reuse": "nbsetup.reuse_freed_memory()"}


def best_time(fn, repeat=25, run=0.005):
    """Seconds per call: the best of ``repeat`` short runs of about ``run`` seconds each.

    Many short runs and the minimum make the estimate robust to other processes sharing
    the machine (the minimum is the run least disturbed)."""
    fn()  # warm up (and compile, for jit)
    t = timeit.Timer(fn)
    once = min(t.repeat(repeat=3, number=1))
    number = max(1, int(run / max(once, 1e-7)))
    return min(t.repeat(repeat=repeat, number=number)) / number


PROBLEMS = [  # (title, kind, n, goal for mcutils)
    ("MLP n=10, grad in x", "mlp_x", 10, 8.0),
    ("MLP n=500, grad in x", "mlp_x", 500, 2.5),
    ("MLP n=500, grad in (W1, W2)", "mlp_W", 500, 4.0),
    ("logdet A + tr(A^-1 B), 200x200", "logdet", 200, 2.0),
]


def problem(index):
    """(title, kind, args, goal) of one problem; its data depend only on its size, so a
    process can build one problem without the allocations of the others."""
    title, kind, n, goal = PROBLEMS[index]
    rng = np.random.default_rng(2026 + n)
    if kind == "logdet":
        A = rng.standard_normal((n, n)) + np.sqrt(n) * np.eye(n)
        B = rng.standard_normal((n, n))
        return title, kind, (A, B), goal
    W1 = rng.standard_normal((n, n)) / np.sqrt(n)
    W2 = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    return title, kind, (W1, W2, x), goal


def problems():
    return [problem(i) for i in range(len(PROBLEMS))]


def numpy_versions(np_):
    """The same three functions, written against a NumPy-like module ``np_``."""
    def mlp(W1, W2, x):
        return np_.sum(np_.tanh(W2 @ np_.tanh(W1 @ x)))

    def logdet(A, B):
        return np_.linalg.slogdet(A)[1] + np_.trace(np_.linalg.inv(A) @ B)

    return mlp, logdet


def gradient_callables(kind, args, peers=True):
    """{framework: zero-argument callable computing the gradient} (only mcutils if not
    ``peers``; importing a peer changes the process's memory, see sustained_child)."""
    out = {}
    mlp, logdet = numpy_versions(np)
    if kind == "mlp_x":
        W1, W2, x = args
        gx = mc.grad(lambda x: mlp(W1, W2, x))
        out["mcutils"] = lambda: gx(x)
    elif kind == "mlp_W":
        W1, W2, x = args
        gW = mc.grad(lambda a, b: mlp(a, b, x), argnum=(0, 1))
        out["mcutils"] = lambda: gW(W1, W2)
    else:
        A, B = args
        gA = mc.grad(lambda A: logdet(A, B))
        out["mcutils"] = lambda: gA(A)
    if not peers:
        return out

    try:
        import autograd
        import autograd.numpy as anp

        amlp, alogdet = numpy_versions(anp)
        if kind == "mlp_x":
            ag = autograd.grad(lambda x: amlp(W1, W2, x))
            out["autograd"] = lambda: ag(x)
        elif kind == "mlp_W":
            ag = autograd.grad(lambda W: amlp(W[0], W[1], x))
            out["autograd"] = lambda: ag((W1, W2))
        else:
            ag = autograd.grad(lambda A: alogdet(A, B))
            out["autograd"] = lambda: ag(A)
    except ImportError:
        pass

    try:
        from mcutils.nbsetup import jax64

        jax, jnp = jax64()
        jmlp, jlogdet = numpy_versions(jnp)
        if kind == "mlp_x":
            f, a = (lambda x: jmlp(W1, W2, x)), (jnp.asarray(x),)
            argnums = 0
        elif kind == "mlp_W":
            f, a = (lambda W1, W2: jmlp(W1, W2, x)), (jnp.asarray(W1), jnp.asarray(W2))
            argnums = (0, 1)
        else:
            f, a = (lambda A: jlogdet(A, B)), (jnp.asarray(A),)
            argnums = 0
        ge = jax.grad(f, argnums=argnums)
        gj = jax.jit(ge)
        out["JAX eager"] = lambda: jax.block_until_ready(ge(*a))
        out["JAX jit"] = lambda: jax.block_until_ready(gj(*a))
    except ImportError:
        pass

    try:
        import torch

        torch.set_default_dtype(torch.float64)

        def tgrad(fn, *arrays):
            ts = [torch.tensor(a, requires_grad=True) for a in arrays]
            fn(*ts).backward()
            return [t.grad for t in ts]

        tW1, tW2 = (torch.tensor(W) for W in args[:2]) if kind != "logdet" else (None, None)
        if kind == "mlp_x":
            out["PyTorch"] = lambda: tgrad(
                lambda x: torch.sum(torch.tanh(tW2 @ torch.tanh(tW1 @ x))), x)
        elif kind == "mlp_W":
            tx = torch.tensor(x)
            out["PyTorch"] = lambda: tgrad(
                lambda a, b: torch.sum(torch.tanh(b @ torch.tanh(a @ tx))), W1, W2)
        else:
            tB = torch.tensor(B)
            out["PyTorch"] = lambda: tgrad(
                lambda A: torch.linalg.slogdet(A)[1] + torch.trace(torch.linalg.inv(A) @ tB), A)
    except ImportError:
        pass
    return out


def _minor_faults():
    try:
        import resource
    except ImportError:          # not Unix
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def sustained_time(fn, calls=SUSTAINED_CALLS):
    """(median seconds per call, minor page faults per call) over a loop of ``calls``
    consecutive calls.  Each result is kept alive until the next call has returned (as
    ``G = grad(W)`` in a training loop), so the allocator sees the allocations and frees
    of real use.  The page-fault count does not depend on the load of the machine."""
    keep = fn()                  # warm up (and compile, for jit)
    times, cpu_times = [], []
    clock, cpu = time.perf_counter, time.process_time
    faults = _minor_faults()
    for _ in range(calls):
        c0 = cpu()
        t0 = clock()
        out = fn()
        t1 = clock()
        cpu_times.append(cpu() - c0)
        times.append(t1 - t0)
        keep = out
    faults = (_minor_faults() - faults) / calls
    del keep
    return float(np.median(times)), faults, float(np.median(cpu_times))


def sustained_child(setting, index):
    """Run in a fresh process: print the sustained ratios of problem ``index`` as JSON.

    What a process allocated before changes glibc's behaviour (freeing one large block
    raises its thresholds for the rest of the run), so each (setting, problem) gets its
    own process, and mcutils is measured before any peer framework is imported."""
    applied = None
    if setting == "reuse":
        from mcutils.nbsetup import reuse_freed_memory

        applied = reuse_freed_memory()
    mlp, logdet = numpy_versions(np)
    title, kind, args, _ = problem(index)
    plain_fn = (lambda: mlp(*args)) if kind != "logdet" else (lambda: logdet(*args))
    best, faults, cpu = {}, {}, {}

    def stages():                # the peers are imported only after mcutils is measured
        yield {"numpy": plain_fn, **gradient_callables(kind, args, peers=False)}
        yield {k: v for k, v in gradient_callables(kind, args).items() if k != "mcutils"}

    for fns in stages():
        for name in fns:
            best.setdefault(name, np.inf)
        for _ in range(SUSTAINED_LOOPS):
            for name, fn in fns.items():
                t, pf, c = sustained_time(fn)
                if t < best[name]:
                    best[name], faults[name] = t, pf
                cpu[name] = min(cpu.get(name, np.inf), c)
    plain = best.pop("numpy")
    print(json.dumps({"setting": setting, "applied": applied, "problem": title,
                      "plain": plain, "ratios": {n: t / plain for n, t in best.items()},
                      "faults": faults, "cpu_ratio": cpu["mcutils"] / cpu["numpy"]}))


def sustained_table():
    print()
    print(f"sustained: median of a loop of {SUSTAINED_CALLS} calls / median plain call "
          f"(best of {SUSTAINED_LOOPS} loops), each setting and problem in a fresh process")
    width = max(len(v) for v in SETTINGS.values())
    print("(mcutils CPU: the same ratio in process CPU time, which a busy machine disturbs "
          "less; faults: minor page faults per mcutils gradient)")
    print(f"{'problem':34s} {'allocator':{width}s} " + " ".join(f"{n:>10s}" for n in NAMES)
          + f" {'mcutils CPU':>12s} {'faults':>7s}")
    for index, (title, *_) in enumerate(PROBLEMS):
        for setting, label in SETTINGS.items():
            cmd = [sys.executable, os.path.abspath(__file__), "--sustained-child", setting,
                   str(index)]
            if "--threads" in sys.argv:
                cmd.append("--threads")
            proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            name = title if setting == "default" else ""
            if proc.returncode != 0:
                print(f"{name:34s} {label:{width}s} failed:\n{proc.stderr}")
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            if res["applied"] is False:
                label += " (no-op here: not glibc)"
            cells = " ".join(f"{res['ratios'][n]:9.2f}x" if n in res["ratios"]
                             else f"{'-':>10s}" for n in NAMES)
            print(f"{name:34s} {label:{width}s} {cells} {res['cpu_ratio']:11.2f}x "
                  f"{res['faults']['mcutils']:7.0f}", flush=True)


def main():
    mlp, logdet = numpy_versions(np)
    names = NAMES
    print("gradient time / plain NumPy forward time (lower is better; goal for mcutils)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"numpy {np.__version__}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    print(f"{'problem':34s} {'numpy f':>10s} " + " ".join(f"{n:>10s}" for n in names)
          + f" {'goal':>6s}")
    for title, kind, args, goal in problems():
        plain_fn = (lambda: mlp(*args)) if kind != "logdet" else (lambda: logdet(*args))
        fns = {"numpy": plain_fn, **gradient_callables(kind, args)}
        best = dict.fromkeys(fns, np.inf)
        for _ in range(ROUNDS):      # interleaved rounds: a burst of load hits everyone
            for name, fn in fns.items():
                best[name] = min(best[name], best_time(fn, repeat=5))
        plain = best.pop("numpy")
        ratios = {name: t / plain for name, t in best.items()}
        cells = " ".join(f"{ratios[n]:9.2f}x" if n in ratios else f"{'-':>10s}" for n in names)
        print(f"{title:34s} {plain * 1e6:8.1f}us {cells} {goal:5.1f}x")
    # the per-operation overhead of the tape, for the record
    x = 1.0
    def chain(x):
        for _ in range(1000):
            x = x * 1.0001 + 1e-4
        return x
    t_plain = best_time(lambda: chain(x), repeat=5)
    t_grad = best_time(lambda: mc.grad(chain)(x), repeat=5)
    print(f"scalar tape: {(t_grad - t_plain) / 2000 * 1e6:.2f} us per recorded operation "
          f"(forward + backward), float op {t_plain / 2000 * 1e9:.0f} ns")
    sys.stdout.flush()
    if "--no-sustained" not in sys.argv:
        sustained_table()
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    if "--sustained-child" in sys.argv:
        i = sys.argv.index("--sustained-child")
        sustained_child(sys.argv[i + 1], int(sys.argv[i + 2]))
    else:
        main()
