"""Practice gives feedback, never the answer.

1. No number that a worked solution prints with 10 or more significant digits appears in any
   lecture, neither in a lecture's stored outputs nor in its sources (a lecture teaches the
   method on different data; the problem sets keep the original course's data).
2. Check-cell hints ask, they don't tell: every ``hint=`` string in a solution notebook is a
   question, and none contains a line of code from a solution region.

Numbers are compared by their leading significant digits and decimal exponent, so the same
value printed with a different precision (``1.69431925941807`` and ``1.6943192594``) is caught.
Run this file directly to list the lecture cells that give an answer away:

    python tests/test_no_giveaways.py
"""

from __future__ import annotations

import ast
import pathlib
import re
import sys

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("pset*.ipynb"))
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
DIGITS = 10  # a number with this many significant digits is a result, not a coincidence
KEY = 9  # compared on this many leading digits (the last printed digit may be rounded)
# Constants any lecture may meet on its own (the Babylonian iteration converges to √2, a
# straight line from (0, 0) to (1, 1) has length √2): not giveaways even if a solution prints one.
CONSTANTS = [2 ** 0.5, 0.5 ** 0.5, 3 ** 0.5, 3.141592653589793, 2.718281828459045,
             0.6931471805599453, 1.618033988749895]


def significant(token: str):
    """(digits, exponent) of a printed number: '−0.00123456' → ('123456', -3)."""
    mantissa, _, exp = token.lstrip("+-").lower().partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    if not digits:
        return "", 0
    leading_zeros = len(whole + frac) - len((whole + frac).lstrip("0"))
    exponent = len(whole) - leading_zeros - 1 + (int(exp) if exp else 0)
    return digits, exponent


def result_key(token: str):
    """The key of a number that counts as a computed result, or None.

    A result has at least DIGITS significant digits and is not a round number or a roundoff
    of one (1.00000000000000, 0.333333333333333, 0.999999999999998 have fewer than four
    distinct digits among their first ten)."""
    digits, exponent = significant(token)
    if len(digits.rstrip("0")) < DIGITS or len(set(digits[:DIGITS])) < 4:
        return None
    return digits[:KEY], exponent


def output_texts(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            yield out.get("text", "")
        for mime in ("text/plain", "text/html", "text/markdown", "text/latex"):
            text = out.get("data", {}).get(mime)
            if text:
                yield text if isinstance(text, str) else "".join(text)
        if out.get("output_type") == "error":
            yield "\n".join(out.get("traceback", []))


def keys_in(text: str):
    for token in NUMBER.findall(text):
        key = result_key(token)
        if key:
            yield key, token


def solution_results():
    """{key: (pset, printed token)} over every solution's outputs, common constants left out."""
    constants = {result_key(f"{c:.15e}") for c in CONSTANTS}
    found = {}
    for path in SOLUTIONS:
        for cell in nbformat.read(path, as_version=4).cells:
            for text in output_texts(cell):
                for key, token in keys_in(text):
                    if key not in constants:
                        found.setdefault(key, (path.stem, token))
    return found


def giveaways():
    """Every (lecture, cell index, where, lecture token, pset, pset token) that matches."""
    results = solution_results()
    hits = []
    for path in LECTURES:
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            places = [("source", cell.source)] + [("output", t) for t in output_texts(cell)]
            for where, text in places:
                for key, token in keys_in(text):
                    if key in results:
                        hits.append((path.name, i, where, token, *results[key]))
    return hits


def test_solutions_print_results_to_compare():
    # Without this the test below would pass vacuously.
    assert len(solution_results()) >= 20


def test_number_matching_is_insensitive_to_printed_precision():
    assert result_key("1.69431925941807") == result_key("1.6943192594")
    assert result_key("-2.95840717340452e-03") == result_key("-0.00295840717340")
    assert result_key("1.69431925941807") != result_key("16.9431925941807")
    assert result_key("1.000000000000000") is None and result_key("0.3333333333333") is None
    assert result_key("3.14159") is None  # too few digits to be a result


def test_no_lecture_prints_or_states_a_number_a_solution_prints():
    hits = giveaways()
    lines = [f"{lec} cell {i} ({where}): {tok} = {pset}'s {ptok}"
             for lec, i, where, tok, pset, ptok in hits]
    assert not hits, "lectures give pset answers away:\n" + "\n".join(lines[:40])


def hints(path):
    """(cell index, hint string) for every hint=... literal in the notebook's code."""
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "hint":
                for const in ast.walk(node.value):
                    if isinstance(const, ast.Constant) and isinstance(const.value, str) \
                            and const.value.strip():
                        yield i, const.value


def solution_code_lines(path):
    sys.path.insert(0, str(ROOT / "tools"))
    import make_psets

    lines = set()
    for cell in nbformat.read(path, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            if make_psets.CODE_BEGIN.match(line):
                inside = True
            elif make_psets.CODE_END.match(line):
                inside = False
            elif inside:
                code = line.split("#")[0].strip()
                if code.startswith("return "):
                    code = code[len("return "):]
                if len(code) >= 8:
                    lines.add(code)
    return lines


@pytest.mark.parametrize("src", SOLUTIONS, ids=lambda p: p.stem)
def test_hints_ask_rather_than_tell(src):
    found = list(hints(src))
    assert found, f"{src.name} has no hints"
    statements = [(i, h) for i, h in found if "?" not in h]
    assert not statements, f"hints that are not questions in {src.name}: {statements}"
    code = solution_code_lines(src)
    telling = [(i, h) for i, h in found if any(c in h for c in code)]
    assert not telling, f"hints that contain solution code in {src.name}: {telling}"


if __name__ == "__main__":
    for lec, i, where, tok, pset, ptok in giveaways():
        print(f"{lec} cell {i} ({where}): {tok} — also printed by solutions/{pset} as {ptok}")
