"""vec and Kronecker products, the way the course writes linear maps on matrices.

``vec(A)`` stacks the columns of A (column-major, "Fortran" order), so an m×n matrix
becomes a vector of length mn.  Linear maps of matrices then become matrices, and the
one identity to remember is

    (A ⊗ B) vec(C) = vec(B C Aᵀ).

It is also how to *compute* with Kronecker products: the right-hand side costs two
small matrix products, while forming A ⊗ B costs (mp)·(nq) memory.  The commutation
matrix K (a permutation) represents transposition: K vec(A) = vec(Aᵀ).
"""

from __future__ import annotations

import numpy as np

from ._core import Tracer

__all__ = ["commutation_matrix", "kron_apply", "unvec", "vec"]


def vec(A):
    """Stack the columns of A into one vector (column-major order).

    Example::

        >>> import numpy as np
        >>> vec(np.array([[1, 2], [3, 4]]))
        array([1, 3, 2, 4])
    """
    A = A if isinstance(A, Tracer) else np.asarray(A)
    if np.ndim(A) > 2:
        raise ValueError(f"vec expects a vector or a matrix, got an array of shape {np.shape(A)}")
    # column-major flattening written as transpose + row-major reshape, so that traced
    # values (Dual, reverse-mode Box) flow through too
    return np.reshape(np.transpose(A), -1)


def unvec(v, shape):
    """Inverse of :func:`vec`: refill the columns of a matrix of the given shape.

    ``shape`` is a tuple such as ``(m, n)``; an int m gives a plain vector::

        >>> import numpy as np
        >>> unvec(np.array([1, 3, 2, 4]), (2, 2))
        array([[1, 2],
               [3, 4]])
    """
    v = v if isinstance(v, Tracer) else np.asarray(v)
    shape = tuple(int(k) for k in np.atleast_1d(shape))
    vshape, size = np.shape(v), int(np.size(v))
    if len(vshape) != 1 and not (len(vshape) == 2 and 1 in vshape):
        raise ValueError(f"unvec expects a vector, got an array of shape {vshape}")
    if int(np.prod(shape)) != size:
        raise ValueError(
            f"unvec: a vector of length {size} cannot fill shape {shape} "
            f"(needs {int(np.prod(shape))} entries)"
        )
    return np.transpose(np.reshape(v, shape[::-1]))


def commutation_matrix(m, n):
    """The mn×mn permutation K with K vec(A) = vec(Aᵀ) for every m×n matrix A.

    Entry A[i, j] sits at position i + m·j of vec(A) and at position j + n·i of vec(Aᵀ),
    so K has a one in row j + n·i, column i + m·j.  Example::

        >>> import numpy as np
        >>> A = np.arange(6.0).reshape(2, 3)
        >>> bool(np.array_equal(commutation_matrix(2, 3) @ vec(A), vec(A.T)))
        True
    """
    for name, k in (("m", m), ("n", n)):
        if int(k) != k or k < 0:
            raise ValueError(
                f"commutation_matrix: {name} must be a non-negative integer, got {k!r}"
            )
    m, n = int(m), int(n)
    i, j = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
    K = np.zeros((m * n, m * n))
    K[(j + n * i).ravel(), (i + m * j).ravel()] = 1.0
    return K


def kron_apply(A, B, C):
    """(A ⊗ B) vec(C), computed as vec(B C Aᵀ) without forming A ⊗ B.

    For A p×q, B r×s the Kronecker product is pr×qs and C must be s×q; ``C`` may
    also be given as vec(C), a vector of length qs.  The result is a vector of
    length pr.  Example::

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> A, B, C = rng.random((5, 7)), rng.random((4, 3)), rng.random((3, 7))
        >>> bool(np.allclose(kron_apply(A, B, C), np.kron(A, B) @ vec(C)))
        True
    """
    A, B, C = np.asarray(A), np.asarray(B), np.asarray(C)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(
            f"kron_apply expects matrices A and B, got shapes {A.shape} and {B.shape}"
        )
    p, q = A.shape
    r, s = B.shape
    if C.ndim == 1:
        if C.size != q * s:
            raise ValueError(
                f"kron_apply: vec(C) must have length {q * s} = {s}·{q} for A {A.shape} "
                f"and B {B.shape}, got length {C.size}"
            )
        C = unvec(C, (s, q))
    elif C.shape != (s, q):
        raise ValueError(
            f"kron_apply: C must have shape {(s, q)} (B has {s} columns, A has {q}), "
            f"got {C.shape}"
        )
    return vec(B @ C @ A.T)


def adjugate(A):
    """adj(A), the transpose of the cofactor matrix: A adj(A) = det(A) I, for every square A.

    From the SVD A = U diag(s) Vᴴ: adj is multiplicative, adj(Q) = det(Q) Qᴴ for unitary Q
    and adj(diag s) = diag(∏_{j≠i} s_j), so adj(A) = det(U) det(Vᴴ) V diag(∏_{j≠i} s_j) Uᴴ.
    No A⁻¹ is formed, so it is right also for singular A (rank n−1 gives a rank-one
    adjugate, where det(A)A⁻¹ would be 0·∞). This is what d det A = tr(adj(A) dA) needs.
    Batched over leading axes::

        >>> import numpy as np
        >>> adjugate(np.array([[1.0, 2.0], [2.0, 4.0]])).round(12)
        array([[ 4., -2.],
               [-2.,  1.]])
    """
    A = np.asarray(A)
    U, s, Vh = np.linalg.svd(A)
    ones = np.ones(s.shape[:-1] + (1,))
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    phase = np.linalg.det(U) * np.linalg.det(Vh)
    adj_s = before * after * phase[..., None]
    return (np.conj(np.swapaxes(Vh, -1, -2)) * adj_s[..., None, :]) @ np.conj(
        np.swapaxes(U, -1, -2))
