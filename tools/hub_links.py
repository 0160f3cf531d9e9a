"""Launch links for a university JupyterHub (nbgitpuller), one per notebook.

    python tools/hub_links.py https://hub.example.edu              # Markdown table
    python tools/hub_links.py https://hub.example.edu --repo URL   # a fork (default: pyproject)
    python tools/hub_links.py https://hub.example.edu --branch fall-2027 --ui notebook

A link clones the course repository into the student's home on the hub the first time it is
opened (later clicks pull new commits and merge them without overwriting the student's own
edits) and then opens the notebook. The hub needs the nbgitpuller server extension
(`pip install nbgitpuller` in the hub's user image). The repository address is the one in
pyproject.toml, as for the README's Binder links (tools/readme_table.py).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from urllib.parse import quote, urlencode

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from readme_table import BRANCH, ROOT, repo_url  # noqa: E402


def notebooks() -> list[str]:
    """Every lecture, problem set and (optionally published) solution, in course order."""
    found = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
    for folder in ("psets", "solutions"):
        found += sorted((ROOT / folder).glob("*.ipynb"))
    return [p.relative_to(ROOT).as_posix() for p in found]


def hub_link(hub: str, path: str, repo: str, branch: str = BRANCH, ui: str = "lab") -> str:
    """The nbgitpuller link that clones ``repo`` on ``hub`` and opens ``path`` in it."""
    folder = repo.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    urlpath = f"{'lab/tree' if ui == 'lab' else 'tree'}/{folder}/{path}"
    query = urlencode({"repo": repo, "branch": branch, "urlpath": urlpath}, quote_via=quote)
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hub", help="the hub's address, e.g. https://hub.example.edu")
    ap.add_argument("--repo", default=None, help="repository to clone (default: pyproject's)")
    ap.add_argument("--branch", default=BRANCH)
    ap.add_argument("--ui", choices=("lab", "notebook"), default="lab")
    ap.add_argument("--no-solutions", action="store_true", help="leave solutions/ out")
    args = ap.parse_args(argv)
    if not args.hub.startswith(("https://", "http://")):
        ap.error("the hub address must start with https://")
    repo = args.repo or repo_url()
    print("| notebook | launch on the hub |\n|---|---|")
    for path in notebooks():
        if args.no_solutions and path.startswith("solutions/"):
            continue
        print(f"| {path} | [open]({hub_link(args.hub, path, repo, args.branch, args.ui)}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
