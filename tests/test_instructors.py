"""What INSTRUCTORS.md promises: it is linked from the README, the commands it names exist,
and the JupyterHub links of tools/hub_links.py open existing notebooks of this repository."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import hub_links  # noqa: E402
from readme_table import repo_url  # noqa: E402

GUIDE = (ROOT / "INSTRUCTORS.md").read_text()


def test_readme_links_the_instructors_guide():
    assert "](INSTRUCTORS.md)" in (ROOT / "README.md").read_text()


def test_make_targets_named_in_the_guide_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make (\w[\w-]*)", GUIDE)):
        assert re.search(rf"^{target}:", makefile, re.M), f"make {target} is not a target"


def test_files_named_in_the_guide_exist():
    for rel in set(re.findall(r"`((?:tools|\.github/workflows|binder|tests)/[\w./-]+)`", GUIDE)):
        assert (ROOT / rel).exists(), rel


def test_hub_link_clones_this_repository_and_opens_the_notebook():
    link = hub_links.hub_link("https://hub.example.edu/", "psets/pset1.ipynb", repo_url())
    url = urlparse(link)
    assert (url.scheme, url.netloc, url.path) == ("https", "hub.example.edu",
                                                 "/hub/user-redirect/git-pull")
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    folder = repo_url().rsplit("/", 1)[-1]
    assert q == {"repo": repo_url(), "branch": "main",
                 "urlpath": f"lab/tree/{folder}/psets/pset1.ipynb"}


def test_hub_links_cover_every_notebook_and_can_leave_solutions_out():
    out = subprocess.run([sys.executable, str(ROOT / "tools/hub_links.py"),
                          "https://hub.example.edu", "--no-solutions"],
                         capture_output=True, text=True, check=True).stdout
    listed = re.findall(r"^\| (\S+\.ipynb) \|", out, re.M)
    expected = [p for p in hub_links.notebooks() if not p.startswith("solutions/")]
    assert listed == expected and all((ROOT / p).exists() for p in listed)
    assert "lectures/00_welcome.ipynb" in listed and "psets/pset1.ipynb" in listed
