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


def run(nb, cwd, allow_errors=False):
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def test_there_are_three_problem_sets():
    assert [p.name for p in SOLUTIONS] == ["pset1.ipynb", "pset2.ipynb", "pset3.ipynb"]


def test_each_problem_set_states_its_lectures():
    """COURSE.md: pset 1 covers lectures 1–5, pset 2 lectures 6–9 and 14, pset 3 10–18; each
    links the lectures it draws on (and pset 1 has a problem from lecture 5)."""
    wanted = {"pset1": ["01", "05"], "pset2": ["06", "07", "08", "09", "14"],
              "pset3": ["10", "11", "12", "13", "15", "17", "18"]}
    for src in SOLUTIONS:
        nb = nbformat.read(src, as_version=4)
        header = nb.cells[0].source
        linked = set(re.findall(r"\.\./lectures/(\d\d)_", header))
        assert set(wanted[src.stem]) <= linked, (src.name, sorted(linked))
        for num in linked:
            assert list((ROOT / "lectures").glob(f"{num}_*.ipynb")), (src.name, num)
    pset1 = "\n".join(c.source for c in nbformat.read(SOLUTIONS[0], as_version=4).cells)
    assert "05_newton_optimization_adjoints.ipynb" in pset1.split("## Problem 8")[1]


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


# Mistakes students really make, injected into the worked solutions: (cell text, replacement,
# problem label, what the ✗ line must say). All injections of one set run in one kernel.
INJECTED = {
    "pset1": [
        ("    return 8 * (x @ x) ** 3 * x\n", "    8 * (x @ x) ** 3 * x\n",
         "1(a)", r"^grad_1a returned None — is a `return` missing\?$"),
        ("    return -np.sin(x @ A1 @ x) * ((A1 + A1.T) @ x)\n",
         "    g = -np.sin(x @ A1 @ x) * ((A1 + A1.T) @ x)\n    x *= 0  # edits its input\n"
         "    return g\n", "1(b)", r"^gradient agrees"),
        ("    return -2 * S2inv @ A * x", "    return (-2 * S2inv @ A * x).T",
         "1(d) A", r"^your answer has shape \(5, 3\), expected \(3, 5\)$"),
        ("    return x / np.linalg.norm(x)\n", "    return x / np.linalg.norm(x) * np.nan\n",
         "1(e) ‖x‖", r"^your answer contains NaN"),
        ("    r = int(np.sum(s > tol * s[0]))", "    r = int(np.sum(s > 1e-20 * s[0]))",
         "3(c) AXBᵀ + CX", r"^not yet: .*fewer terms are possible\)\. Hint: .*\?$"),
        ("        cols.append(mc.vec(F(np.block([[M, E], [Z0, M]]))[:n, n:]))",
         "        cols.append(mc.fd.jvp(lambda X: mc.vec(F(X)), M, E))",  # 8-10 digits
         "7(c) exp", r"^Jacobian disagrees with an independent computation: relerr .* > 1e-12"),
        ("    lam = solve_8(A.T, x)", "    lam = solve_8(A, x)",  # the missing transpose
         "8(b)", r"^gradient disagrees with finite differences"),
    ],
    "pset2": [
        ("    return np.array(zs)\n", "    return np.array(zs[:1])\n",
         "2(b) eigenvalue", r"^your answer has shape \(1,\), expected \(7,\)$"),
        ("np.linalg.solve(M_3(lam, alpha), dM_3(lam, alpha))",
         "np.linalg.solve(M_3(lam, alpha), -I3 + alpha * np.sin(lam) * B3)",  # a wrong M′
         "3(a) Newton steps", r"^not yet: every step is"),
        ("    return gx, gp\n", "    return gx\n",
         "4(a) g_x", r"^your answer has shape \(\), expected \(2,\)$"),
        ("            Z3bar @ V3.T, Z3bar.sum(axis=1)]",
         "            Z3bar @ V3.T, Z3bar.sum(axis=1)][::-1]",
         "6(b) α = 0.1", r"the items of your answer are in the wrong order"),
        ("    return np.array([q @ Ak @ q for Ak in A7[1:]])",
         "    np.array([q @ Ak @ q for Ak in A7[1:]])",
         "7(a)", r"^grad_7 returned None — is a `return` missing\?$"),
    ],
    "pset3": [
        ("    return w0[2:]", "    return -w0[2:]", "1(b) finite differences",
         r"^gradient disagrees with finite differences: relerr"),
        ("    return u\n", "    u\n", "2(b) minimiser",
         r"^minimise_J2 returned None — is a `return` missing\?$"),
        ("    return np.column_stack([dphi, dphi * z])", "    return np.column_stack([dphi, dphi])",
         "3(b) reparameterisation", r"^not yet: the estimate agrees with ∇L \(largest"),
        ("    return weight[:, None] * np.column_stack([z, z**2 - 1]) / sigma",
         "    return (weight[:, None] * np.column_stack([z, z**2 - 1]) / sigma).mean(axis=0)",
         "3(b) score function", r"^your answer has shape \(2,\), expected \(200000, 2\)$"),
        ("    return 2 * A5.conj().T @ (A5 @ z - b5) + 4 * mu5 * np.abs(z) ** 2 * z",
         "    return np.conj(2 * A5.conj().T @ (A5 @ z - b5) + 4 * mu5 * np.abs(z) ** 2 * z)",
         "5(b)", r"^gradient disagrees with finite differences"),
        ('    return np.einsum("ji,jk,ki->i", Xv, dA, Xv) - lam * np.einsum("ji,jk,ki->i", Xv, '
         'dB, Xv)',
         '    return np.einsum("ji,jk,ki->i", Xv, dA, Xv)',  # forgets that B changes too
         "6(b)", r"^derivative disagrees with finite differences"),
        ("    return np.linalg.solve(g_y.T, g)", "    return np.linalg.solve(g_y, g)",
         "7(b) rules", r"^not yet: vjp of argument 0 vs finite differences"),
    ],
}


@pytest.mark.parametrize("src", SOLUTIONS, ids=ids)
def test_injected_mistakes_get_the_cross_that_names_them(src):
    nb = nbformat.read(src, as_version=4)
    for old, new, _, _ in INJECTED[src.stem]:
        hits = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        assert len(hits) == 1 and hits[0].source.count(old) == 1, f"{old!r} is not unique"
        hits[0].source = hits[0].source.replace(old, new)
    if src.stem == "pset1":  # did 1(b)'s in-place edit reach the point x1 that 1(a) also used?
        k = next(i for i, c in enumerate(nb.cells) if 'check_gradient("1(b)"' in c.source)
        nb.cells[k].source += ("\nprint('✓ x1 intact: ' + str(np.array_equal("
                               "x1, np.random.default_rng(1).standard_normal(6))))")
    verdicts = {p: (sym, msg) for sym, p, msg in
                VERDICT.findall(outputs_text(run(nb, ROOT / "solutions", allow_errors=True)))}
    for _, _, label, expected in INJECTED[src.stem]:
        sym, msg = verdicts[label]
        assert (sym == "✓") == expected.startswith("^gradient agrees"), (label, sym, msg)
        assert re.search(expected, msg), (label, msg)
        assert "your code raised" not in msg, (label, msg)
    if src.stem == "pset1":
        assert verdicts["x1 intact"] == ("✓", "True")
