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


@pytest.mark.parametrize("answer", [stub, None])
def test_unanswered_is_reported_not_raised(answer):
    v = grading.check_gradient("2", f, answer, x0)
    assert v.status == "unanswered" and repr(v) == "… 2: not answered yet"


def test_none_answer_variable_is_unanswered():
    assert repr(grading.check_close("2", None, np.pi)) == "… 2: not answered yet"
    assert grading.check_property("2", None, bool, "anything").status == "unanswered"


def test_function_returning_none_asks_about_return():
    def grad_f(x):
        (A + A.T) @ x  # forgot `return`

    v = grading.check_gradient("2", f, grad_f, x0)
    assert repr(v) == "✗ 2: grad_f returned None — is a `return` missing?"
    assert repr(grading.check_gradient("2", f, lambda x: None, x0)) == (
        "✗ 2: your function returned None — is a `return` missing?")
    assert grading.check_jvp("2", f, lambda x, dx: None, x0).message.endswith(
        "returned None — is a `return` missing?")
    assert grading.check_close("2", lambda: None, 1.0).status == "fail"


def test_none_used_inside_the_students_own_code_is_named():
    def helper(x):
        pass

    v = grading.check_close("2", lambda: helper(1)[-1], 1.0)
    assert v.status == "fail" and "TypeError" in v.message
    assert "did one of your functions return None (is a `return` missing?)" in v.message


def test_exception_in_student_code_is_one_line():
    v = grading.check_gradient("3", f, lambda x: x @ np.ones((3, 3)), x0)
    assert v.status == "fail" and v.message.startswith("your code raised ValueError: ")
    assert "\n" not in repr(v)


def test_wrong_shape_is_named_not_blamed_on_the_students_code():
    M = rng.standard_normal((2, 3))
    g = lambda X: np.sum(A[:2, :3] * X)  # noqa: E731
    v = grading.check_gradient("3", g, lambda X: A[:2, :3].T, M)
    assert repr(v) == "✗ 3: your answer has shape (3, 2), expected (2, 3)"
    v = grading.check_jvp("3", lambda X: X @ X.T, lambda X, dX: (dX @ X.T).T[:, :1], M)
    assert repr(v) == "✗ 3: your answer has shape (2, 1), expected (2, 2)"
    v = grading.check_close("3", np.zeros((3, 2)), np.zeros((2, 3)))
    assert repr(v) == "✗ 3: your answer has shape (3, 2), expected (2, 3)"
    v = grading.check_property("3", [1.0], lambda z: z[-1] > 0, "positive", shape=(7,))
    assert repr(v) == "✗ 3: your answer has shape (1,), expected (7,)"
    assert "raised" not in v.message


@pytest.mark.parametrize("bad, name", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_nan_and_inf_are_named(bad, name):
    def grad_f(x):
        g = (A + A.T) @ x
        g[2] = bad
        return g

    v = grading.check_gradient("4", f, grad_f, x0)
    assert repr(v) == f"✗ 4: your answer contains {name} (at index (2,))"
    v = grading.check_close("4", lambda: np.array([1.0, bad, bad]), np.ones(3))
    assert repr(v) == f"✗ 4: your answer contains {name} (at index (1,) and 1 more)"
    v = grading.check_jvp("4", lambda x: x**2, lambda x, dx: 2 * x * dx + bad, x0)
    assert repr(v) == f"✗ 4: your answer contains {name} (at index (0,) and 3 more)"


def test_student_code_gets_copies_of_the_inputs():
    x = x0.copy()

    def grad_in_place(x):
        x *= 2  # edits its argument
        return (A + A.T) @ (x / 2)

    assert grading.check_gradient("5", f, grad_in_place, x)
    assert np.array_equal(x, x0), "the student's in-place change reached the shared point"

    def df_in_place(X, dX):
        out = X @ dX + dX @ X
        X[:] = 0
        dX[:] = 0
        return out

    X = rng.standard_normal((3, 3))
    X_before = X.copy()
    assert grading.check_jvp("5", lambda X: X @ X, df_in_place, X)
    assert np.array_equal(X, X_before)


def test_list_answers_are_checked_item_by_item():
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(3)
    loss = lambda P: np.sum(np.tanh(P[0] @ np.ones(2) + P[1]) ** 2)  # noqa: E731

    def grads(P):
        t = np.tanh(P[0] @ np.ones(2) + P[1])
        z = 2 * t * (1 - t**2)
        return [np.outer(z, np.ones(2)), z]

    assert grading.check_gradient("6", loss, grads, [W, b])
    v = grading.check_gradient("6", loss, lambda P: grads(P)[::-1], [W, b])
    assert v.status == "fail" and "the items of your answer are in the wrong order" in v.message
    v = grading.check_gradient("6", loss, lambda P: grads(P)[:1], [W, b])
    assert repr(v) == "✗ 6: your answer has 1 items, expected 2"
    v = grading.check_gradient("6", loss, lambda P: [grads(P)[0].T, grads(P)[1]], [W, b])
    assert repr(v) == "✗ 6: item 0 of your answer has shape (2, 3), expected (3, 2)"
    v = grading.check_gradient("6", loss, lambda P: [g * 1.01 for g in grads(P)], [W, b])
    assert v.status == "fail" and "wrong items: 0, 1" in v.message


def test_reversed_items_of_equal_shape_are_named():
    u, w = rng.standard_normal(3), rng.standard_normal(3)
    g = lambda P: P[0] @ P[0] + 3 * P[1] @ P[1]  # noqa: E731
    v = grading.check_gradient("6", g, lambda P: [6 * P[1], 2 * P[0]], [u, w])
    assert v.status == "fail" and "the items are in reverse order" in v.message
    v = grading.check_close("6", lambda: (w, u), (u, w))
    assert v.status == "fail" and "the items are in reverse order" in v.message
    assert grading.check_close("6", lambda: (u, w), (u, w))
    assert repr(grading.check_close("6", [u], (u, w))) == "✗ 6: your answer has 1 items, expected 2"


def test_an_exception_inside_the_check_is_a_clear_cross():
    def fragile(value):
        return value["key"] > 0  # a check that cannot digest a list

    v = grading.check_property("7", [1, 2], fragile, "positive")
    assert v.status == "fail" and v.message.startswith("the check could not be run on your answer")
    assert "\n" not in repr(v)
    weird = grading.check_close("7", lambda: "a string", 1.0)
    assert repr(weird) == "✗ 7: your answer is not an array of numbers (got str)"
    ragged = grading.check_close("7", lambda: [[1.0], [1.0, 2.0]], np.ones((2, 2)))
    assert repr(ragged) == ("✗ 7: your answer is a list of 2 arrays of different shapes, "
                            "expected one array of shape (2, 2)")


def test_verdict_lines_keep_their_format():
    import re

    line = re.compile(r"^[✓✗…] [^:]+: .+$")
    cases = [grading.check_gradient("1(a)", f, lambda x: (A + A.T) @ x, x0),
             grading.check_gradient("1(a)", f, lambda x: 2 * A @ x, x0, hint="which A?"),
             grading.check_gradient("1(a)", f, stub, x0),
             grading.check_gradient("1(a)", f, lambda x: x[:2], x0)]
    assert [repr(v)[0] for v in cases] == ["✓", "✗", "…", "✗"]
    assert all(line.match(repr(v)) for v in cases)


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


def test_check_rule_verdicts():
    import mcutils as mc

    def fresh():
        return mc.primitive(lambda x: np.sin(x) * x)

    good = fresh()
    good.defjvp(lambda dx, y, x: (np.cos(x) * x + np.sin(x)) * dx)
    good.defvjp(lambda g, y, x: (np.cos(x) * x + np.sin(x)) * g)
    assert grading.check_rule("8", good, x0).status == "pass"
    stubbed = fresh()
    stubbed.defvjp(stub)
    assert repr(grading.check_rule("8", stubbed, x0)) == "… 8: not answered yet"
    assert grading.check_rule("8", fresh(), x0).status == "unanswered"
    transposed = fresh()
    transposed.defvjp(lambda g, y, x: np.cos(x) * g)  # drops a term
    v = grading.check_rule("8", transposed, x0, hint="which term?")
    assert v.status == "fail" and "vjp of argument 0 vs finite differences" in v.message
    forgot = fresh()
    forgot.defjvp(lambda dx, y, x: None)
    assert grading.check_rule("8", forgot, x0).message.endswith("is a `return` missing?")
    raising = fresh()
    raising.defvjp(lambda g, y, x: g @ np.ones((2, 2)))
    v = grading.check_rule("8", raising, x0)
    assert v.message.startswith("your code raised ValueError")
    assert raising.vjp_rules[0].__name__ == "<lambda>"  # the student's rule is put back


def test_kronecker_rank():
    B = rng.standard_normal((3, 3))
    C = rng.standard_normal((2, 2))
    D = np.outer(rng.standard_normal(2), rng.standard_normal(3))
    assert grading.kronecker_rank(lambda X: C @ X @ B.T, 2, 3) == 1
    assert grading.kronecker_rank(lambda X: C @ X @ B.T + X, 2, 3) == 2
    assert grading.kronecker_rank(lambda X: D * X, 2, 3) == 1
    assert grading.kronecker_rank(lambda X: X.T, 3, 3) == 9


def test_complex_inputs_keep_their_imaginary_part():
    z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    M = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    assert grading.check_jvp("9", lambda z: M @ z, lambda z, dz: M @ dz, z)
    assert grading.check_jvp("9", lambda z: M @ z, lambda z, dz: M @ dz.real, z).status == "fail"
    h = lambda z: np.sum(np.abs(M @ z) ** 2)  # noqa: E731
    assert grading.check_gradient("9", h, lambda z: 2 * M.conj().T @ (M @ z), z)
    assert grading.check_gradient("9", h, lambda z: np.conj(2 * M.conj().T @ (M @ z)), z).status \
        == "fail"


def test_an_order_mistake_is_not_followed_by_the_problems_hint():
    u, w = rng.standard_normal(3), rng.standard_normal(3)
    g = lambda P: P[0] @ P[0] + 3 * P[1] @ P[1]  # noqa: E731
    v = grading.check_gradient("6", g, lambda P: [6 * P[1], 2 * P[0]], [u, w],
                               hint="did you add the penalty?")
    assert v.message.endswith("the items are in reverse order") and "Hint" not in v.message
