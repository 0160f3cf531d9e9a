"""Problem sets: one source (solutions/), student versions generated from it, no answers leaked,
every check passes on the solutions and says "not answered yet" on the student versions."""

from __future__ import annotations

import copy
import json
import pathlib
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_psets  # noqa: E402

SOLUTIONS = sorted((ROOT / "solutions").glob("pset*.ipynb"))
VERDICT = re.compile(r"^([✓✗…]) (.+?): (.*)$", re.M)


def ids(p):
    return p.stem


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
    return "\n".join(parts)


def run(nb, cwd):
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def test_there_are_two_problem_sets():
    assert [p.name for p in SOLUTIONS] == ["pset1.ipynb", "pset2.ipynb"]


def test_student_versions_match_their_source():
    assert make_psets.main(["--check"]) == 0


@pytest.mark.parametrize("src", SOLUTIONS, ids=ids)
def test_no_solution_text_or_result_in_student_version(src):
    sol = nbformat.read(src, as_version=4)
    student = (ROOT / "psets" / src.name).read_text()
    outside, secret = set(), []
    for cell in sol.cells:
        if cell.cell_type == "code":
            inside = False
            for line in cell.source.splitlines():
                if make_psets.CODE_BEGIN.match(line):
                    inside = True
                elif make_psets.CODE_END.match(line):
                    inside = False
                elif inside:
                    secret.append(line.strip())
                else:
                    outside.add(line.strip())
        else:
            for region in make_psets.MD_REGION.findall(cell.source):
                secret += [s.strip() for s in region.splitlines()[1:-1]]
    secret = [s for s in secret if len(s) >= 12 and s not in outside and not s.startswith("#")]
    assert secret, "no solution regions found"
    leaked = [s for s in secret if json.dumps(s)[1:-1] in student]
    assert not leaked, f"solution text in {src.name}: {leaked[:5]}"
    numbers = set(re.findall(r"-?\d+\.\d{6,}(?:e[-+]?\d+)?", outputs_text(sol)))
    assert numbers, "solutions print no results to compare"
    shown = [n for n in numbers if n in student]
    assert not shown, f"printed results of the solutions in {src.name}: {shown[:5]}"


@pytest.mark.parametrize("src", SOLUTIONS, ids=ids)
def test_checks_pass_on_solutions_and_say_unanswered_on_student_version(src):
    solved = VERDICT.findall(outputs_text(nbformat.read(src, as_version=4)))  # nbval keeps fresh
    assert len(solved) >= 5 and all(sym == "✓" for sym, _, _ in solved), solved
    blank = run(nbformat.read(ROOT / "psets" / src.name, as_version=4), ROOT / "psets")
    verdicts = VERDICT.findall(outputs_text(blank))
    assert [p for _, p, _ in verdicts] == [p for _, p, _ in solved]
    assert all(sym == "…" and msg == "not answered yet" for sym, _, msg in verdicts), verdicts


@pytest.mark.parametrize("src", SOLUTIONS, ids=ids)
def test_a_wrong_answer_gets_a_cross_with_a_useful_message(src):
    """Scale the first returned solution by 1.001 and run up to its check cell."""
    nb = nbformat.read(src, as_version=4)
    k = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and "### BEGIN SOLUTION" in c.source and re.search(r"^\s+return ", c.source, re.M)),
             None)
    assert k is not None, "no solution region with a return statement"
    wrong = copy.deepcopy(nb)
    lines = wrong.cells[k].source.splitlines()
    last_return = max(i for i, s in enumerate(lines) if re.match(r"^\s+return ", s))
    lines[last_return] = re.sub(r"return (.*)$", r"return 1.001 * (\1)", lines[last_return])
    wrong.cells[k].source = "\n".join(lines)
    check_at = next(i for i in range(k, len(wrong.cells))
                    if "grading.check" in wrong.cells[i].source)
    wrong.cells = wrong.cells[:check_at + 1]
    verdicts = VERDICT.findall(outputs_text(run(wrong, ROOT / "solutions")))
    assert verdicts and verdicts[-1][0] == "✗", verdicts
    assert "relerr" in verdicts[-1][2]
