"""Tests of vec/unvec, the commutation matrix and kron_apply against np.kron."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mcutils as mc

dims = st.integers(1, 6)


def test_vec_stacks_columns():
    A = np.array([[1, 2, 3], [4, 5, 6]])
    assert np.array_equal(mc.vec(A), [1, 4, 2, 5, 3, 6])
    assert np.array_equal(mc.unvec([1, 4, 2, 5, 3, 6], (2, 3)), A)


@given(dims, dims, st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_unvec_inverts_vec_on_random_shapes(m, n, seed):
    A = np.random.default_rng(seed).standard_normal((m, n))
    assert np.array_equal(mc.unvec(mc.vec(A), (m, n)), A)
    assert np.array_equal(mc.vec(mc.unvec(mc.vec(A), (m, n))), mc.vec(A))


def test_kron_identity_issue_shapes():
    rng = np.random.default_rng(3)
    A, B, C = rng.standard_normal((5, 7)), rng.standard_normal((4, 3)), rng.standard_normal((3, 7))
    lhs = np.kron(A, B) @ mc.vec(C)
    assert lhs.shape == (20,)
    assert mc.relerr(mc.vec(B @ C @ A.T), lhs) < 1e-14
    assert mc.relerr(mc.kron_apply(A, B, C), lhs) < 1e-14
    assert mc.relerr(mc.kron_apply(A, B, mc.vec(C)), lhs) < 1e-14


@given(dims, dims, dims, dims, st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_kron_apply_matches_np_kron_on_random_shapes(p, q, r, s, seed):
    rng = np.random.default_rng(seed)
    A, B, C = rng.standard_normal((p, q)), rng.standard_normal((r, s)), rng.standard_normal((s, q))
    assert np.allclose(mc.kron_apply(A, B, C), np.kron(A, B) @ mc.vec(C), rtol=1e-12, atol=1e-12)


@given(dims, dims, st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_commutation_matrix_transposes_random_shapes(m, n, seed):
    A = np.random.default_rng(seed).standard_normal((m, n))
    K = mc.commutation_matrix(m, n)
    assert K.shape == (m * n, m * n)
    assert np.array_equal(K @ mc.vec(A), mc.vec(A.T))
    # a permutation, whose inverse is the transpose and also K(n, m)
    assert np.array_equal(K @ K.T, np.eye(m * n))
    assert np.array_equal(K.T, mc.commutation_matrix(n, m))


def test_commutation_matrix_swaps_kronecker_factors():
    # K(r, p) (A ⊗ B) K(q, s) = B ⊗ A for A p×q, B r×s  (non-square on purpose)
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((5, 7)), rng.standard_normal((4, 3))
    lhs = mc.commutation_matrix(5, 4).T @ np.kron(A, B) @ mc.commutation_matrix(7, 3)
    assert np.allclose(lhs, np.kron(B, A), rtol=0, atol=1e-14)


def test_vec_of_transpose_derivative_uses_commutation_matrix():
    # the linear map X ↦ Xᵀ is represented by K; the Jacobian from fd agrees
    X = np.random.default_rng(3).standard_normal((2, 3))
    J = mc.fd.jacobian(lambda v: mc.vec(mc.unvec(v, (2, 3)).T), mc.vec(X))
    assert np.allclose(J, mc.commutation_matrix(2, 3), atol=1e-9)


def test_bad_input_messages():
    msg = r"vec expects a vector or a matrix, got an array of shape \(2, 2, 2\)"
    with pytest.raises(ValueError, match=msg):
        mc.vec(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match=r"a vector of length 5 cannot fill shape \(2, 3\)"):
        mc.unvec(np.ones(5), (2, 3))
    with pytest.raises(ValueError, match=r"C must have shape \(3, 7\).*got \(7, 3\)"):
        mc.kron_apply(np.ones((5, 7)), np.ones((4, 3)), np.ones((7, 3)))
    with pytest.raises(ValueError, match=r"vec\(C\) must have length 21"):
        mc.kron_apply(np.ones((5, 7)), np.ones((4, 3)), np.ones(20))
    with pytest.raises(ValueError, match="non-negative integer"):
        mc.commutation_matrix(2.5, 3)


def test_vec_and_unvec_let_ad_through_for_the_jacobian_of_x_squared():
    """J = I⊗X + Xᵀ⊗I for X ↦ X², built by AD straight through vec/unvec (both modes)."""
    M = np.array([[(i - j) ** 2 for j in range(3)] for i in range(3)], dtype=float)
    square = lambda v: mc.vec(mc.unvec(v, (3, 3)) @ mc.unvec(v, (3, 3)))
    expected = np.kron(np.eye(3), M) + np.kron(M.T, np.eye(3))
    for mode in ("forward", "reverse"):
        assert mc.relerr(mc.jacobian(square, mc.vec(M), mode=mode), expected) < 1e-15


@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (3, 5, 5)])
def test_adjugate_is_det_times_inverse_and_survives_singular_matrices(shape):
    from mcutils.linalg import adjugate

    rng = np.random.default_rng(sum(shape))
    A = rng.standard_normal(shape)
    eye = np.broadcast_to(np.eye(shape[-1]), shape)
    assert mc.relerr(A @ adjugate(A), np.linalg.det(A)[..., None, None] * eye) < 1e-13
    if shape[-1] > 1:  # rank n−1: A adj(A) = 0 and adj(A) has rank one, not 0·∞
        S = A.copy()
        S[..., -1, :] = S[..., 0, :]
        adj = adjugate(S)
        assert np.abs(S @ adj).max() < 1e-12
        assert (np.linalg.matrix_rank(adj) == 1).all()
