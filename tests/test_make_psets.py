"""The student-version generator: stubs, markdown answers, marker errors."""

import pathlib
import sys

import nbformat
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
import make_psets  # noqa: E402


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_function_body_becomes_not_implemented_stub():
    code = "def grad_f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    out = make_psets.student_version(notebook(nbformat.v4.new_code_cell(code)))
    assert out.cells[0].source == ("def grad_f(x):\n    # YOUR CODE HERE\n"
                                   '    raise NotImplementedError("your code here")')


def test_top_level_region_uses_declared_stub_and_outputs_are_cleared():
    cell = nbformat.v4.new_code_cell("### BEGIN SOLUTION stub: z = None\nz = 3.0\n### END SOLUTION")
    cell.outputs = [nbformat.v4.new_output("stream", text="3.0\n")]
    cell.execution_count = 4
    out = make_psets.student_version(notebook(cell)).cells[0]
    assert out.source == "# YOUR CODE HERE\nz = None"
    assert out.outputs == [] and out.execution_count is None


def test_top_level_region_without_stub_is_an_error():
    cell = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nz = 3.0\n### END SOLUTION")
    with pytest.raises(make_psets.MarkerError, match="top-level solution region needs"):
        make_psets.student_version(notebook(cell))


def test_unclosed_region_is_an_error():
    cell = nbformat.v4.new_code_cell("def g():\n    ### BEGIN SOLUTION\n    return 1\n")
    with pytest.raises(make_psets.MarkerError, match="BEGIN SOLUTION without END"):
        make_psets.student_version(notebook(cell))


def test_markdown_answer_and_solution_only_cells():
    md = nbformat.v4.new_markdown_cell(
        "**Answer.**\n<!-- BEGIN SOLUTION -->\nd(xᵀx) = 2xᵀdx\n<!-- END SOLUTION -->")
    only = nbformat.v4.new_code_cell("print('secret')")
    only.metadata["tags"] = ["solution-only"]
    out = make_psets.student_version(notebook(md, only))
    assert len(out.cells) == 1
    assert out.cells[0].source == "**Answer.**\n*Your answer here.*"
