"""The course website (tools/build_site.py, docs/conf.py): Markdown that Jupyter and the site's
parser read alike, pages in course order, notebooks rendered as stored, never executed.

The full build and the browser check run in CI as `make site` and `make site-check`."""

from __future__ import annotations

import ast
import json
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402
import readme_table  # noqa: E402

NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix()
                   for d in ("lectures", "psets", "solutions") for p in (ROOT / d).glob("*.ipynb"))
CONF = ROOT / "docs" / "conf.py"

# A line that Markdown reads as the start of a block (list item, quote, heading) even in the
# middle of a paragraph.
BLOCK_START = re.compile(r"^ {0,3}([-+*]|\d{1,9}[.)])(\s|$)|^ {0,3}(>|#{1,6}\s)")
FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _strip_code(line: str) -> str:
    """The line without code spans and escaped dollars (they open no math)."""
    return re.sub(r"`+[^`]*`+", "", line).replace(r"\$", "")


def block_starts_inside_inline_math(markdown: str) -> list[str]:
    """Lines that begin a list item, quote or heading while a `$…$` opened on an earlier line
    of the same paragraph is still open. Jupyter keeps such math whole; markdown-it (the
    site's parser) first splits the paragraph, so the math breaks and a `$` shows."""
    found, fenced, open_math = [], False, False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            fenced, open_math = not fenced, False
            continue
        if fenced:
            continue
        if not line.strip():
            open_math = False  # a blank line ends the paragraph, and any math in it
            continue
        if open_math and BLOCK_START.match(line):
            found.append(line)
        text = _strip_code(line).replace("$$", "")
        if text.count("$") % 2:
            open_math = not open_math
    return found


def display_math_inside_paragraph(markdown: str) -> list[str]:
    """`$$…$$` with prose before it on its line, or after its closing `$$`: display math in
    Jupyter, but for myst-parser only with the option myst_dmath_double_inline. A `$$` block
    that opens at the start of a line may span lines."""
    found, fenced, in_block = [], False, False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
            continue
        text = _strip_code(line).strip()
        if fenced or "$$" not in text:
            continue
        parts = text.split("$$")
        if in_block:  # this $$ closes the open block: nothing may follow it
            in_block = False
            if "$$".join(parts[1:]).strip():
                found.append(line)
        elif parts[0] or len(parts) > 3 or (len(parts) == 3 and parts[2].strip()):
            found.append(line)  # prose before the $$, or after the closing $$
        elif len(parts) == 2:
            in_block = True  # an opening $$: a display block over several lines
    return found


def conf_value(name: str):
    """A value assigned at the top level of docs/conf.py (literal assignments only)."""
    for node in ast.parse(CONF.read_text()).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == name):
            return ast.literal_eval(node.value)
    raise KeyError(name)


def markdown_cells(rel: str) -> list[str]:
    nb = json.loads((ROOT / rel).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


# ---- the scanners find what they should --------------------------------------------------

def test_scanner_finds_a_list_line_inside_inline_math():
    bad = "by the binomial theorem $(1 + x)^2 = 1 + 2x\n+ x^2$, as expected"
    assert block_starts_inside_inline_math(bad) == ["+ x^2$, as expected"]
    minus = "so $a = b\n   - c$ holds"
    assert block_starts_inside_inline_math(minus) == ["   - c$ holds"]
    quote = "where $a\n> b$ always"
    assert block_starts_inside_inline_math(quote) == ["> b$ always"]


def test_scanner_accepts_lists_and_math_that_are_fine():
    fine = ("Take $x$ and $y$:\n- the first item has $a + b$\n+ another\n\n"
            "$$\nf(x)\n- g(x)\n$$\n"  # display math over lines: a separate block
            "`$ not math` then\n- a list\n"
            "$a +\nb$ with the operator at the end of the line\n"
            "```\n$ echo $HOME\n- no\n```")
    assert block_starts_inside_inline_math(fine) == []
    # a blank line closes a paragraph: the next list is a real list
    assert block_starts_inside_inline_math("costs $5\n\n- item") == []


def test_scanner_finds_display_math_inside_a_paragraph():
    assert display_math_inside_paragraph("so $$x^2$$ is display") == ["so $$x^2$$ is display"]
    assert display_math_inside_paragraph("text\n$$ a = b $$\nmore") == []
    assert display_math_inside_paragraph("$$\na = b\n$$") == []
    assert display_math_inside_paragraph("$$ a\n  = b. $$") == []
    assert display_math_inside_paragraph("$$ a\n  = b $$ and so") == ["  = b $$ and so"]
    assert display_math_inside_paragraph("$$ a $$ so $$ b $$") == ["$$ a $$ so $$ b $$"]
    assert display_math_inside_paragraph("`$$` in code") == []


# ---- the notebooks ------------------------------------------------------------------------

@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_markdown_reads_the_same_in_jupyter_and_on_the_site(rel):
    problems = [f"cell {i}: {line!r}" for i, md in enumerate(markdown_cells(rel))
                for line in block_starts_inside_inline_math(md)]
    assert not problems, (
        f"{rel}: inside inline math these lines begin with a list marker, '>' or '#', which the "
        f"site's parser reads as a new block (move the operator to the end of the line "
        f"before): {problems}")
    if not conf_value("myst_dmath_double_inline"):
        inline = [line for md in markdown_cells(rel) for line in display_math_inside_paragraph(md)]
        assert not inline, f"{rel}: $$…$$ inside a paragraph: {inline}"


# ---- the site's configuration and pages -----------------------------------------------------

def test_site_renders_stored_outputs_and_never_runs_a_notebook():
    assert conf_value("nb_execution_mode") == "off"
    # widget views are never rendered (their text/plain fallback is), and no widget JS loads
    assert ("html", "application/vnd.jupyter.widget-view+json", None) in conf_value(
        "nb_mime_priority_overrides")
    assert conf_value("nb_ipywidgets_js") == {}
    assert conf_value("html_sourcelink_suffix") == ""  # downloads are the .ipynb itself
    text = CONF.read_text()
    assert "colab_url" not in text  # mcutils is not installed on Colab
    assert "readme_table.binder_link(" in text and "readme_table.repo_url()" in text


def test_pages_in_course_order_titled_from_first_heading():
    entries = build_site.pages()
    rels = [rel for _, rel, _ in entries]
    lectures = sorted(f"lectures/{p.name}" for p in (ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
    psets = sorted(f"psets/{p.name}" for p in (ROOT / "psets").glob("*.ipynb"))
    solutions = sorted(f"solutions/{p.name}" for p in (ROOT / "solutions").glob("*.ipynb"))
    assert rels == lectures + psets + solutions
    assert [int(r[9:11]) for r in lectures] == sorted(int(r[9:11]) for r in lectures)
    for caption, rel, title in entries:
        first = next(line for md in markdown_cells(rel) for line in md.splitlines()
                     if line.startswith("#"))
        assert title.endswith(first.lstrip("#").strip()), (rel, title)
        assert caption == {"lectures": "Lectures", "psets": "Problem sets",
                           "solutions": "Solutions"}[rel.split("/")[0]]
    without = [rel for _, rel, _ in build_site.pages(solutions=False)]
    assert without == lectures + psets


def test_staged_tree_holds_the_committed_notebooks_and_a_complete_toctree(tmp_path):
    src = tmp_path / "src"
    entries = build_site.stage(src)
    for _, rel, _ in entries:
        assert (src / rel).read_bytes() == (ROOT / rel).read_bytes(), rel
    index = (src / "index.md").read_text()
    assert "<!-- toctree -->" not in index and "REPOSITORY_URL" not in index
    assert readme_table.repo_url() in index
    listed = re.findall(r"<([^>]+)>$", index, re.M)
    assert listed == [rel.removesuffix(".ipynb") for _, rel, _ in entries]
    assert re.findall(r"^:caption: (.+)$", index, re.M) == [
        "Lectures", "Problem sets", "Solutions"]
    build_site.stage(src, solutions=False)
    assert not (src / "solutions").exists()
    assert "solutions/" not in (src / "index.md").read_text()


def test_binder_button_is_the_readme_link(monkeypatch):
    namespace: dict = {"__file__": str(CONF)}
    exec(compile(CONF.read_text(), str(CONF), "exec"), namespace)
    context = {"sourcename": "lectures/02_jacobians_and_kronecker_products.ipynb",
               "header_buttons": []}
    namespace["add_binder_button"](None, "lectures/02_jacobians_and_kronecker_products",
                                   "page.html", context, None)
    (group,) = context["header_buttons"]
    (button,) = group["buttons"]
    assert button["url"] == readme_table.binder_link(context["sourcename"])
    assert "labpath=lectures%2F02_jacobians_and_kronecker_products.ipynb" in button["url"]
    landing = {"sourcename": "index.md", "header_buttons": []}
    namespace["add_binder_button"](None, "index", "page.html", landing, None)
    assert landing["header_buttons"] == []
