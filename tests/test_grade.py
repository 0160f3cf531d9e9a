"""`python -m mcutils.grade` on submissions the tests make themselves: the worked solution
(every check passes), the blank student version (every check unanswered), a wrong answer (that
check fails), and submissions that go wrong in every way a class manages (not a notebook, an
exception outside a check, a loop that never ends and ignores interrupts, megabytes of output,
deleting the files around it). Each is one row saying what happened; none affects another."""

from __future__ import annotations

import csv
import json
import pathlib
import subprocess
import sys

import nbformat
import pytest

from mcutils import grade

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(tmp_path, paths, *opts):
    out = tmp_path / "grades.csv"
    cmd = [sys.executable, "-m", "mcutils.grade", "--out", str(out), *opts, *map(str, paths)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {r["file"]: r for r in rows}, proc


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


CHECKS = """
import numpy as np
from mcutils import grading
x = np.arange(3.0)
print(grading.check_gradient("1(a)", lambda x: x @ x, lambda x: 2 * x, x))
print(grading.check_gradient("1(b)", lambda x: x @ x, {answer}, x))
"""


def test_verdict_lines_are_parsed_with_labels_that_contain_spaces():
    text = "✓ 7(b) exp: ok\n✗ 7(b) exp: bad\n… 2(c): not answered yet\nprint ✓ x: no"
    assert grade.verdicts(text) == {"7(b) exp": "fail", "2(c)": "unanswered"}


@pytest.fixture(scope="module")
def pset_rows(tmp_path_factory):
    """The real problem set 1: solution, blank student version, one wrong answer."""
    tmp = tmp_path_factory.mktemp("pset")
    solution = ROOT / "solutions" / "pset1.ipynb"
    blank = ROOT / "psets" / "pset1.ipynb"
    wrong = tmp / "wrong.ipynb"
    nb = nbformat.read(solution, as_version=4)
    for cell in nb.cells:          # break problem 1(a): drop the chain rule's factor
        if cell.cell_type == "code" and "def grad_1a" in cell.source:
            cell.source += "\n\n_right_1a = grad_1a\ngrad_1a = lambda x: 0.5 * _right_1a(x)\n"
            break
    else:
        pytest.fail("solutions/pset1.ipynb has no grad_1a to break")
    nbformat.write(nb, wrong)
    subs = tmp / "subs"
    subs.mkdir()
    paths = []
    for name, src in [("solution.ipynb", solution), ("blank.ipynb", blank),
                      ("wrong.ipynb", wrong)]:
        (subs / name).write_bytes(src.read_bytes())
        paths.append(subs / name)
    before = {p: p.read_bytes() for p in paths}
    rows, proc = _run(tmp, paths, "--jobs", "2", "--timeout", "300")
    assert all(p.read_bytes() == b for p, b in before.items()), "a submission was modified"
    return rows, proc


def test_solution_passes_every_check(pset_rows):
    rows, _ = pset_rows
    row = rows["solution.ipynb"]
    assert row["status"] == "ok"
    assert int(row["checks"]) >= 20 and row["passed"] == row["checks"]


def test_blank_set_is_unanswered_everywhere(pset_rows):
    rows, _ = pset_rows
    row = rows["blank.ipynb"]
    assert row["status"] == "ok"
    assert row["unanswered"] == row["checks"] and row["failed"] == "0"


def test_wrong_answer_fails_that_check_only(pset_rows):
    rows, _ = pset_rows
    row = rows["wrong.ipynb"]
    assert row["1(a)"] == "fail" and row["failed"] == "1"
    assert int(row["passed"]) == int(row["checks"]) - 1


def test_summary_table_and_progress_are_printed(pset_rows):
    _, proc = pset_rows
    assert "solution.ipynb" in proc.stdout and "3 submission(s)" in proc.stdout
    assert "3/3" in proc.stderr and "#" in proc.stderr


def test_bad_submissions_are_rows_not_crashes(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    good = _notebook(subs / "good.ipynb", CHECKS.format(answer="lambda x: 2 * x"))
    wrong = _notebook(subs / "wrong.ipynb", CHECKS.format(answer="lambda x: 3 * x"))
    (subs / "notjson.ipynb").write_text('{"cells": [ this is not json')
    syntax = _notebook(subs / "syntax.ipynb", CHECKS.format(answer="lambda x: 2 * x"),
                       "def f(:\n    pass")
    raises = _notebook(subs / "raises.ipynb", "import numpy as np\nnp.linalg.inv(np.zeros((2, 2)))",
                       CHECKS.format(answer="lambda x: 2 * x"))
    loop = _notebook(subs / "loop.ipynb",
                     "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                     "while True:\n    pass")
    noisy = _notebook(subs / "noisy.ipynb", "for i in range(40000):\n    print('x' * 100)",
                      CHECKS.format(answer="lambda x: 2 * x"))
    vandal = _notebook(subs / "vandal.ipynb",
                       "import os, shutil\nhere = os.getcwd()\n"
                       "shutil.rmtree(os.path.dirname(os.path.dirname(here)), ignore_errors=True)",
                       CHECKS.format(answer="lambda x: 2 * x"))
    paths = [good, wrong, subs / "notjson.ipynb", syntax, raises, loop, noisy, vandal,
             subs / "absent.ipynb"]
    before = {p: p.read_bytes() for p in paths if p.exists()}
    rows, proc = _run(tmp_path, paths, "--jobs", "3", "--timeout", "30")

    assert rows["good.ipynb"]["status"] == "ok"
    assert rows["good.ipynb"]["1(a)"] == rows["good.ipynb"]["1(b)"] == "pass"
    assert rows["wrong.ipynb"]["1(b)"] == "fail" and rows["wrong.ipynb"]["1(a)"] == "pass"
    assert rows["notjson.ipynb"]["status"].startswith("invalid notebook")
    assert rows["notjson.ipynb"]["1(a)"] == "missing"
    assert rows["syntax.ipynb"]["status"].startswith("error: SyntaxError")
    assert rows["syntax.ipynb"]["1(a)"] == "pass"          # the checks before it still count
    assert rows["raises.ipynb"]["status"].startswith("error: LinAlgError")
    assert rows["loop.ipynb"]["status"] == "timeout"
    assert rows["noisy.ipynb"]["status"] == "ok" and rows["noisy.ipynb"]["1(b)"] == "pass"
    assert rows["vandal.ipynb"]["status"] == "ok" and rows["vandal.ipynb"]["1(b)"] == "pass"
    assert rows["absent.ipynb"]["status"].startswith("unreadable")
    assert all(p.read_bytes() == b for p, b in before.items()), "a submission was modified"
    assert len(proc.stdout) < 20_000          # megabytes of student output are not relayed


def test_grader_refuses_bad_options(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mcutils.grade", "x.ipynb"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "--out" in proc.stderr


def test_import_mcutils_does_not_import_nbclient():
    code = "import sys, mcutils, mcutils.grade; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", "import json; " + code],
                         capture_output=True, text=True, check=True).stdout
    mods = json.loads(out)
    assert not [m for m in mods if m.split(".")[0] in {"nbclient", "nbformat", "jupyter_client"}]
