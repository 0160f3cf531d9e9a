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


SOLUTIONS = sorted((pathlib.Path(__file__).resolve().parents[1] / "solutions").glob("pset*.ipynb"))


def test_every_solution_has_a_student_version_and_nothing_else():
    psets = sorted(p.name for p in (SOLUTIONS[0].parents[1] / "psets").glob("*.ipynb"))
    assert psets == [p.name for p in SOLUTIONS] == ["pset1.ipynb", "pset2.ipynb", "pset3.ipynb"]


@pytest.mark.parametrize("src", SOLUTIONS, ids=lambda p: p.stem)
def test_student_version_inverts_to_the_solution_outside_the_answers(src):
    """Put each solution region back where its stub is: the solution's source comes out, so the
    student version differs from the worked solution only inside the marked answers."""
    sol = nbformat.read(src, as_version=4)
    student = nbformat.read(src.parents[1] / "psets" / src.name, as_version=4)
    kept = [c for c in sol.cells if "solution-only" not in c.get("metadata", {}).get("tags", [])]
    assert len(kept) == len(student.cells)
    regions = 0
    for s_cell, t_cell in zip(kept, student.cells, strict=True):
        assert s_cell.cell_type == t_cell.cell_type and t_cell.get("outputs", []) == []
        if s_cell.cell_type == "markdown":
            answers = make_psets.MD_REGION.findall(s_cell.source)
            rebuilt = t_cell.source
            for answer in answers:
                assert make_psets.MD_STUB in rebuilt
                rebuilt = rebuilt.replace(make_psets.MD_STUB, answer, 1)
            regions += len(answers)
            assert rebuilt == s_cell.source
            continue
        out, lines = [], iter(t_cell.source.splitlines())
        inside = False
        for line in s_cell.source.splitlines():
            begin = make_psets.CODE_BEGIN.match(line)
            if begin:
                inside, regions = True, regions + 1
                assert next(lines).strip() == "# YOUR CODE HERE"
                stub = next(lines).strip()
                assert stub == (begin["stub"] or 'raise NotImplementedError("your code here")')
                out.append(line)
            elif make_psets.CODE_END.match(line):
                inside = False
                out.append(line)
            elif inside:
                out.append(line)
            else:
                assert next(lines) == line
                out.append(line)
        assert next(lines, None) is None
        assert "\n".join(out) == s_cell.source.rstrip("\n")
    assert regions >= 10
