"""Figures used by more than one lecture.  matplotlib is imported inside each function,
so ``import mcutils`` never pays for it."""

from __future__ import annotations

import numpy as np

from . import fd
from .checks import relerr

__all__ = ["plot_fd_error"]

_ORDERS = {"forward": 1, "backward": 1, "central": 2, "complex": 2}


def fd_errors(f, df, x, dx=None, methods=("forward", "central"), hs=None):
    """Relative errors of finite differences for each method and step; returns (hs, dict).

    ``df`` is the exact derivative: a value, or ``df(x)`` (scalar x) / ``df(x, dx)``.
    Exact zeros are kept as 0; a step where f returns NaN/inf gives NaN.
    """
    hs = np.logspace(-16, 0, 65) if hs is None else np.asarray(hs, dtype=float)
    x = np.asarray(x, dtype=np.result_type(np.asarray(x).dtype, float))
    if dx is None:
        if x.ndim != 0:
            raise ValueError(f"for an array x of shape {x.shape}, pass a direction dx")
        dx = np.ones((), dtype=x.dtype)
        exact = df(x) if callable(df) else df
    else:
        dx = np.asarray(dx)
        exact = df(x, dx) if callable(df) else df
    exact = np.asarray(exact)
    errors = {}
    for m in methods:
        fd._check_method(m)
        errs = np.full(hs.shape, np.nan)
        for k, h in enumerate(hs):
            try:
                errs[k] = relerr(fd._directional(f, x, dx, h, m), exact)
            except FloatingPointError:
                pass
        errors[m] = errs
    return hs, errors


def plot_fd_error(f, df, x, methods=("forward", "central", "richardson", "complex"), hs=None,
                  ax=None, dx=None):
    """Log–log plot of the relative error of finite differences against the step h.

    ``df`` is the exact derivative (a value, or ``df(x)`` for scalar x, ``df(x, dx)`` with
    a direction ``dx`` for array x).  Each method gets one curve; dashed lines show the
    reference slopes — h for forward/backward, h² for central (truncation, right) and
    ε/h (roundoff, left) — and a dot marks each method's default step.  Errors that
    are below ε/4 (the complex step often hits 0 exactly) are drawn at ε/4.
    Returns the Axes.

    Example (lecture 3)::

        import numpy as np, matplotlib.pyplot as plt, mcutils as mc
        mc.plot_fd_error(np.sin, np.cos, 1.0)
        plt.show()
    """
    import matplotlib.pyplot as plt

    hs, errors = fd_errors(f, df, x, dx, methods, hs)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    eps = fd.EPS
    floor = eps / 4
    curves, refs, drawn = [], [], set()
    xs = np.asarray(x)
    dxs = np.ones(()) if dx is None else np.asarray(dx)
    for m in methods:
        err = np.where(errors[m] < floor, floor, errors[m])
        (line,) = ax.loglog(hs, err, "-", lw=1.6, label=m)
        curves.append(line)
        h0 = fd._scaled_step(fd.METHODS[m], xs, dxs, m)
        k = int(np.argmin(np.abs(np.log(hs / h0))))
        if abs(np.log10(hs[k] / h0)) < 0.5 and np.isfinite(err[k]):
            ax.plot(hs[k], err[k], "o", color=line.get_color(), ms=6)
        p = _ORDERS.get(m)
        if p is None or m == "complex" or p in drawn:
            continue
        drawn.add(p)
        # truncation reference C·h^p, parallel to the curve at h = 1e-2 and 30× below it
        j = int(np.argmin(np.abs(np.log(hs / 1e-2))))
        if np.isfinite(err[j]) and err[j] > floor:
            hr = hs[hs >= eps ** (1 / (p + 1)) / 10]
            refs += ax.loglog(hr, err[j] / 30 * (hr / hs[j]) ** p, "--", color=line.get_color(),
                              lw=1, label=f"slope {p}: O(h{'²' if p == 2 else ''})")
    hr = hs[hs <= 1e-4]
    refs += ax.loglog(hr, eps / hr / 30, ":", color="0.3", lw=1.4,
                      label="slope −1: roundoff ε/h")
    ax.axhline(eps, color="0.6", lw=0.8)
    ax.annotate("machine ε", (hs[0], eps), xytext=(2, 3), textcoords="offset points",
                fontsize=8, color="0.4")
    ax.set_ylim(floor / 3, 10)
    ax.set_xlabel("step size h")
    ax.set_ylabel("relative error of the derivative")
    ax.set_title("Finite differences: truncation error falls with h, roundoff grows as ε/h\n"
                 "(dots: default steps)", fontsize=11)
    ax.legend(handles=curves + refs, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1),
              frameon=False)
    ax.grid(True, which="major", alpha=0.3)
    return ax
