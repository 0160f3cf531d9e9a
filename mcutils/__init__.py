"""mcutils — the companion package of *Matrix Calculus for Machine Learning and Beyond*.

Everything a lecture needs more than once lives here:

* :mod:`mcutils.fd` — finite differences (a check, not a method) and derivative checks
  (:func:`check_jvp`, :func:`check_gradient`, :func:`relerr`);
* vec / Kronecker helpers (:func:`vec`, :func:`unvec`, :func:`commutation_matrix`,
  :func:`kron_apply`);
* forward-mode AD with dual numbers (:class:`Dual`, :func:`derivative`, :func:`jvp`);
* reverse-mode AD on a tape (:func:`grad`, :func:`value_and_grad`, :func:`vjp`);
* derived operators built from those two (:func:`jacobian`, :func:`hessian`, :func:`hvp`);
* rules you write yourself (:func:`primitive`, ``defjvp``/``defvjp``, :func:`check_rule`).

``import mcutils`` needs only NumPy (SciPy is imported where a rule needs it); it never
imports JAX, matplotlib or Jupyter.
"""

from . import fd
from .checks import CheckResult, check_gradient, check_jvp, check_rule, relerr
from .forward import Dual, derivative, expm, jvp
from .linalg import commutation_matrix, kron_apply, unvec, vec
from .primitive import Primitive, primitive
from .reverse import grad, value_and_grad, vjp
from .transforms import hessian, hvp, jacobian


def plot_fd_error(*args, **kwargs):
    """Log–log plot of finite-difference error against step size; see
    :func:`mcutils.plotting.plot_fd_error` (matplotlib is imported only when called)."""
    from .plotting import plot_fd_error as _plot

    return _plot(*args, **kwargs)


__all__ = [
    "CheckResult", "Dual", "Primitive", "check_gradient", "check_jvp", "check_rule",
    "commutation_matrix", "primitive",
    "derivative", "expm", "fd", "grad", "hessian", "hvp", "jacobian", "jvp",
    "kron_apply", "plot_fd_error", "relerr", "unvec", "value_and_grad", "vec", "vjp",
]
__version__ = "0.1.0"
