"""Write the README's lecture table (with per-lecture Binder links) from the notebooks.

    python tools/readme_table.py          # rewrite the table in README.md
    python tools/readme_table.py --check  # exit 1 if README.md is out of date

The repository address is written once, in pyproject.toml ([project.urls] Repository); every
Binder link is built from it here. Titles come from each notebook's first heading.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys
from urllib.parse import quote

import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
BADGE = "https://mybinder.org/badge_logo.svg"
BRANCH = "main"


def repo_url() -> str:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return meta["urls"]["Repository"].rstrip("/")


def binder_base() -> str:
    owner_repo = re.sub(r"^https://github\.com/", "", repo_url())
    return f"https://mybinder.org/v2/gh/{owner_repo}/{BRANCH}"


def binder_link(path: str) -> str:
    return f"{binder_base()}?labpath={quote(path, safe='')}"


def title(path: pathlib.Path) -> str:
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            first = "".join(cell["source"]).strip().splitlines()[0]
            heading = first.lstrip("#").strip()
            return re.sub(r"^Lecture\s+\d+\s*[—:-]\s*", "", heading)
    return path.stem


def table() -> str:
    badge = BADGE
    rows = ["| # | Lecture | Launch |", "|---|---|---|"]
    for path in sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb")):
        rel = f"lectures/{path.name}"
        rows.append(f"| {path.name[:2]} | [{title(path)}]({rel}) | "
                    f"[![Binder]({badge})]({binder_link(rel)}) |")
    for folder, label in (("psets", "Problem set"), ("solutions", "Solutions")):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            rel = f"{folder}/{path.name}"
            rows.append(f"| — | [{label}: {path.stem}]({rel}) | "
                        f"[![Binder]({badge})]({binder_link(rel)}) |")
    return "\n".join(rows)


def launch_badge() -> str:
    return f"[![Binder]({BADGE})]({binder_link('lectures/00_welcome.ipynb')})"


def render(readme: str) -> str:
    """Replace each generated block, between <!-- NAME:start --> and <!-- NAME:end -->."""
    for name, text in (("badge", launch_badge()), ("lectures", table())):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, rest = readme.split(start, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{start}\n{text}\n{end}{tail}"
    return readme


def main(argv):
    path = ROOT / "README.md"
    old = path.read_text()
    new = render(old)
    if "--check" in argv:
        if new != old:
            print("README.md lecture table is out of date: run python tools/readme_table.py")
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
