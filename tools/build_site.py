"""Build the course website into build/site/ from the committed, executed notebooks.

    python tools/build_site.py                  # lectures, problem sets and solutions
    python tools/build_site.py --no-solutions   # leave the worked solutions out
    make site                                   # the same; `make site SITE_SOLUTIONS=0`

The notebooks are copied unchanged into a staging tree (build/site-src/) beside the landing
page, whose table of contents is generated here in course order (lectures by number, then
problem sets, then solutions) with each title from the notebook's first heading. Sphinx with
myst-nb renders them (configuration in docs/conf.py) without executing anything and without
downloading anything.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import readme_table  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SECTIONS = (  # (folder, glob, sidebar caption, title prefix)
    ("lectures", "[0-9][0-9]_*.ipynb", "Lectures", ""),
    ("psets", "*.ipynb", "Problem sets", ""),
    ("solutions", "*.ipynb", "Solutions", "Solutions — "),
)


def pages(solutions: bool = True) -> list[tuple[str, str, str]]:
    """(caption, notebook path relative to the repository, sidebar title), in course order."""
    out = []
    for folder, pattern, caption, prefix in SECTIONS:
        if folder == "solutions" and not solutions:
            continue
        for path in sorted((ROOT / folder).glob(pattern)):
            out.append((caption, f"{folder}/{path.name}", prefix + heading(path)))
    return out


def heading(path: pathlib.Path) -> str:
    """The notebook's first heading, as written (``Lecture 2 — …``)."""
    import json

    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return readme_table.title(path)


def jupyter_anchor(heading: str) -> str:
    """The anchor JupyterLab gives a heading: its text, spaces replaced by dashes."""
    return heading.strip().replace(" ", "-")


def toctree(entries: list[tuple[str, str, str]]) -> str:
    blocks = []
    for caption in dict.fromkeys(c for c, _, _ in entries):
        lines = ["```{toctree}", f":caption: {caption}", ":maxdepth: 1", ""]
        for c, rel, title in entries:
            if c == caption:
                safe = title.replace("<", r"\<")
                lines.append(f"{safe} <{rel.removesuffix('.ipynb')}>")
        blocks.append("\n".join(lines + ["```"]))
    return "\n\n".join(blocks)


def stage(src: pathlib.Path, solutions: bool = True) -> list[tuple[str, str, str]]:
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    entries = pages(solutions)
    for _, rel, _ in entries:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, src / rel)
    url = readme_table.repo_url()
    index = (DOCS / "index.md").read_text()
    index = index.replace("REPOSITORY_URL", url).replace("REPOSITORY_NAME", url.split("/")[-1])
    (src / "index.md").write_text(index.replace("<!-- toctree -->", toctree(entries)))
    return entries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-solutions", action="store_true",
                        help="leave the worked solutions out of the site")
    parser.add_argument("--out", default=str(ROOT / "build" / "site"))
    parser.add_argument("--src", default=str(ROOT / "build" / "site-src"))
    parser.add_argument("-j", default="auto", help="parallel Sphinx jobs (default: auto)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    out, src = pathlib.Path(args.out), pathlib.Path(args.src)
    entries = stage(src, solutions=not args.no_solutions)
    doctrees = src.parent / "site-doctrees"
    for old in (out, doctrees):  # from nothing, every time
        if old.exists():
            shutil.rmtree(old)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
           "-j", args.j, "-c", str(DOCS), "-d", str(doctrees), str(src), str(out)]
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc:
        print(f"sphinx-build failed (exit code {rc}); warnings count as errors", file=sys.stderr)
        return rc
    print(f"site: {len(entries)} notebooks in {out / 'index.html'} "
          f"({time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
