"""mcutils.grading: verdicts for student answers, never a traceback wall."""

import numpy as np
import pytest

from mcutils import grading

rng = np.random.default_rng(42)
A = rng.standard_normal((4, 4))
x0 = rng.standard_normal(4)
f = lambda x: x @ A @ x


def stub(*args):
    raise NotImplementedError("your code here")


def test_correct_gradient_passes():
    v = grading.check_gradient("1(a)", f, lambda x: (A + A.T) @ x, x0)
    assert v and v.status == "pass"
    assert repr(v).startswith("✓ 1(a): gradient agrees with finite differences (relerr ")


def test_gradient_wrong_by_a_small_relative_amount_fails_with_hint():
    v = grading.check_gradient("1(a)", f, lambda x: 1.001 * (A + A.T) @ x, x0,
                               hint="A is not symmetric")
    assert not v and v.status == "fail"
    assert "relerr 1.0e-03" in repr(v) and repr(v).endswith("Hint: A is not symmetric")


def test_classic_mistake_two_A_x_fails():
    assert grading.check_gradient("1(a)", f, lambda x: 2 * A @ x, x0).status == "fail"


@pytest.mark.parametrize("answer", [stub, None, lambda x: None])
def test_unanswered_is_reported_not_raised(answer):
    v = grading.check_gradient("2", f, answer, x0)
    assert v.status == "unanswered" and repr(v) == "… 2: not answered yet"


def test_exception_in_student_code_is_one_line():
    v = grading.check_gradient("3", f, lambda x: x @ np.ones((3, 3)), x0)
    assert v.status == "fail" and v.message.startswith("your code raised ValueError: ")
    assert "\n" not in repr(v)


def test_check_jvp_for_matrix_function():
    X = rng.standard_normal((3, 3))
    sq = lambda X: X @ X
    assert grading.check_jvp("4", sq, lambda X, dX: X @ dX + dX @ X, X)
    assert grading.check_jvp("4", sq, lambda X, dX: 2 * X @ dX, X).status == "fail"
    assert grading.check_jvp("4", sq, stub, X).status == "unanswered"


def test_check_close_and_property():
    assert grading.check_close("5", lambda: np.pi, np.pi)
    assert grading.check_close("5", 3.14, np.pi).status == "fail"
    assert grading.check_close("5", None, np.pi).status == "unanswered"
    v = grading.check_property("6", np.eye(2), lambda M: (np.allclose(M, M.T), "symmetric"),
                               "the answer is symmetric")
    assert v and repr(v) == "✓ 6: the answer is symmetric (symmetric)"
    bad = grading.check_property("6", np.triu(np.ones((2, 2))), lambda M: np.allclose(M, M.T),
                                 "the answer is symmetric", hint="use A + Aᵀ")
    assert repr(bad) == "✗ 6: not yet: the answer is symmetric. Hint: use A + Aᵀ"
