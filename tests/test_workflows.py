"""The GitHub Actions workflows a fork runs (.github/workflows/) cannot run here, so they are
checked statically: actionlint finds no error, zizmor (workflow security) finds nothing above
low, every action is pinned by a full commit hash, and the test job runs what CI runs."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = pathlib.Path(sys.executable).parent


def _tool(name):
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert path, f"{name} is not installed: it is in the 'test' extra of pyproject.toml"
    return path


def test_there_are_test_and_site_workflows():
    assert {p.name for p in WORKFLOWS} >= {"test.yml", "site.yml"}


def test_actionlint_finds_nothing():
    out = subprocess.run([_tool("actionlint"), "-no-color", "-oneline", "-shellcheck=",
                          "-pyflakes=", *map(str, WORKFLOWS)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_would_catch_an_injection(tmp_path):
    # The check above is only worth something if the linter reports real mistakes.
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.head_commit.message }}\n")
    out = subprocess.run([_tool("actionlint"), "-no-color", "-oneline", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "potentially untrusted" in out.stdout


def _zizmor(*paths):
    return subprocess.run([_tool("zizmor"), "--offline", "--no-progress", "--min-severity",
                           "medium", "--format", "plain", *map(str, paths)],
                          capture_output=True, text=True, cwd=ROOT)


def test_zizmor_finds_nothing_above_low():
    out = _zizmor(*WORKFLOWS)
    assert out.returncode == 0, out.stdout + out.stderr


def test_zizmor_would_catch_an_unpinned_action(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\npermissions: {}\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - uses: actions/checkout@v4\n"
                   "        with: {persist-credentials: false}\n")
    out = _zizmor(bad)
    assert out.returncode != 0 and "unpinned-uses" in out.stdout + out.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit(path):
    uses = re.findall(r"^\s*(?:-\s*)?uses:\s*(\S+)", path.read_text(), flags=re.M)
    assert uses, f"{path.name} uses no action?"
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{ref} is not pinned by commit"


def test_test_workflow_runs_ci_in_the_python_binder_pins():
    text = (ROOT / ".github/workflows/test.yml").read_text()
    pinned = re.search(r"python=(\d+\.\d+)", (ROOT / "binder/environment.yml").read_text())[1]
    assert f"image: python:{pinned}-" in text
    assert "run: bash .ci/run" in text            # .ci/run calls `make test` and the checks
    assert "schedule:" in text and "pull_request:" in text
    assert "browser-screenshots" in text
