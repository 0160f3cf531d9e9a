"""Every relative link in every notebook and in the README points at a file that exists, and
`make lab`, Binder's labpath= links and the notebooks agree on one root: the repository."""

from __future__ import annotations

import json
import pathlib
import re
from urllib.parse import parse_qs, unquote, urlparse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = sorted(p.relative_to(ROOT).as_posix()
                   for d in ("lectures", "psets", "solutions") for p in (ROOT / d).glob("*.ipynb"))
DOCUMENTS.append("README.md")

# [text](target "title"), ![alt](target), <a href="target">, <img src="target">, [ref]: target
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)=["']([^"']+)["']""", re.I)
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
CODE = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`", re.S)


def markdown_of(rel: str) -> str:
    path = ROOT / rel
    if path.suffix != ".ipynb":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def links(markdown: str) -> list[str]:
    text = CODE.sub("", markdown)
    return [m.group(1) for pat in (INLINE, HTML, REFERENCE) for m in pat.finditer(text)]


def is_relative(target: str) -> bool:
    return not re.match(r"^([a-z][a-z0-9+.-]*:|//|#)", target, re.I)


def relative_links(rel: str) -> list[str]:
    return [t for t in links(markdown_of(rel)) if is_relative(t)]


def test_link_extraction_finds_every_kind_and_skips_code():
    md = ('See [Lecture 4](04_gradients.ipynb), ![fig](img/a.png "A"), '
          '<a href="../psets/pset1.ipynb">p</a>, [the web](https://example.org), '
          '[top](#section), `[not](code.ipynb)`\n\n[ref]: ../README.md\n'
          "```\n[also not](x.ipynb)\n```\n[nested [brackets]](y.ipynb)")
    assert sorted(relative_links_of(md)) == sorted(
        ["04_gradients.ipynb", "img/a.png", "../psets/pset1.ipynb", "../README.md", "y.ipynb"])


def relative_links_of(md: str) -> list[str]:
    return [t for t in links(md) if is_relative(t)]


def test_the_repository_has_many_relative_links():
    # a guard on the extraction itself: the course cross-links heavily
    assert sum(len(relative_links(rel)) for rel in DOCUMENTS) > 100


@pytest.mark.parametrize("rel", DOCUMENTS)
def test_relative_links_point_at_existing_files(rel):
    base = (ROOT / rel).parent
    broken = []
    for target in relative_links(rel):
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        if not path:
            continue
        resolved = (base / path).resolve()
        if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
            broken.append(target)
    assert not broken, f"{rel}: relative links to files that do not exist: {broken}"


def binder_labpaths() -> list[str]:
    text = (ROOT / "README.md").read_text()
    urls = re.findall(r"https://mybinder\.org/v2/gh/[^\s)\"]+", text)
    return [parse_qs(urlparse(u).query)["labpath"][0] for u in urls]


def test_binder_labpaths_and_make_lab_share_the_repository_root():
    """Binder starts JupyterLab at the repository root and opens labpath= relative to it;
    `make lab` must serve the same root, so a notebook's relative links work in both."""
    labpaths = binder_labpaths()
    assert "lectures/00_welcome.ipynb" in labpaths
    for labpath in labpaths:
        assert (ROOT / labpath).is_file(), labpath
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", makefile, re.M).group(1).replace("\\\n", " ")
    assert re.search(r"--ServerApp\.root_dir=\"?\$\(CURDIR\)\"?", recipe), recipe
    default = re.search(r"--LabApp\.default_url=/lab/tree/(\S+)", recipe).group(1)
    assert default == "lectures/00_welcome.ipynb" and (ROOT / default).is_file()
    # extra options come after ours, so that LAB_ARGS can add to or override them
    assert recipe.index("$(LAB_ARGS)") > recipe.index("--LabApp.default_url")
    # no file argument: JupyterLab would take that file's folder as its root
    files = [w for w in recipe.split() if w.endswith(".ipynb") and not w.startswith("--")]
    assert not files, files


def test_welcome_notebook_links_to_a_problem_set_and_later_lectures():
    targets = relative_links("lectures/00_welcome.ipynb")
    assert any(t.startswith("../psets/") for t in targets), targets
    assert any(re.match(r"^(0[2-9]|1\d)_\w+\.ipynb$", t) for t in targets), targets
