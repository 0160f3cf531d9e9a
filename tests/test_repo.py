"""Repository checks: installation files agree, Binder config is valid, notebooks are stored
executed and clean, and nbval really catches a stale output."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import tomllib
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_FOLDERS = ("lectures", "solutions")


def _norm(name: str) -> str:
    """Package name without version/extras, normalised as PyPI does (PEP 503)."""
    name = re.split(r"[<>=!~;\[ ]", name.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_packages() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = meta["optional-dependencies"]
    names = {_norm(d) for d in meta["dependencies"]}
    for extra in ("course", "test"):
        names |= {_norm(d) for d in extras[extra]}
    return names


def conda_packages(path: pathlib.Path) -> tuple[set[str], str]:
    env = yaml.safe_load(path.read_text())
    names, python = set(), None
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert not any(p.strip().startswith("-e") for p in dep["pip"]), (
                f"{path}: do not install the package itself from the environment file")
            names |= {_norm(p) for p in dep["pip"]}
        elif _norm(dep) == "python":
            python = dep.split("=", 1)[1] if "=" in dep else None
        elif _norm(dep) != "pip":
            names.add(_norm(dep))
    return names, python


def test_pyproject_environment_and_binder_list_the_same_packages():
    wanted = pyproject_packages()
    for path in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        names, _ = conda_packages(path)
        assert names == wanted, (
            f"{path.relative_to(ROOT)} and pyproject.toml disagree: only in the environment "
            f"file {sorted(names - wanted)}, only in pyproject {sorted(wanted - names)}")


def test_design_package_set_is_present():
    required = {"jupyterlab", "numpy", "scipy", "matplotlib", "ipywidgets", "nbval", "jax"}
    assert required <= pyproject_packages()


def test_binder_pins_the_python_that_ci_tests():
    _, python = conda_packages(ROOT / "binder" / "environment.yml")
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}", python
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.10"


def test_binder_postbuild_installs_mcutils_strictly():
    post = ROOT / "binder" / "postBuild"
    text = post.read_text()
    assert text.startswith("#!/bin/bash") and "set -euo pipefail" in text
    assert re.search(r"pip install --no-deps \.$", text, re.M)
    assert os.access(post, os.X_OK)


def test_repo2docker_accepts_the_binder_folder(tmp_path):
    exe = shutil.which("repo2docker") or str(pathlib.Path(sys.executable).parent / "repo2docker")
    out = subprocess.run([exe, "--no-build", "--debug", "."], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"Building conda environment for python={py}" in log
    assert "binder/environment.yml" in log and "./binder/postBuild" in log


def test_import_mcutils_stays_light():
    code = ("import sys, time; t = time.perf_counter(); import mcutils; "
            "print(time.perf_counter() - t); "
            "print([m for m in ('jax', 'matplotlib', 'IPython', 'ipykernel', 'jupyterlab') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.split("\n")[:2]
    assert heavy == "[]", f"import mcutils pulled in {heavy}"
    print(f"import mcutils: {float(seconds):.3f} s")


def notebooks():
    return sorted(p for d in NOTEBOOK_FOLDERS for p in (ROOT / d).glob("*.ipynb"))


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_stored_executed_and_clean(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}, "metadata noise: make notebooks"
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert None not in counts and counts == sorted(counts), "not executed top to bottom"
    for cell in code:
        tags = cell.get("metadata", {}).get("tags", [])
        for out in cell["outputs"]:
            if "raises-exception" not in tags:
                assert out["output_type"] != "error", "".join(cell["source"])[:200]
            if out["output_type"] == "stream" and out["name"] == "stderr":
                pytest.fail(f"stderr stored (warnings?) in {path.name}: {out['text'][:300]}")
        assert set(cell.get("metadata", {})) <= {"tags"}, "cell metadata noise; run make notebooks"


def test_every_lecture_is_in_the_readme_table_with_a_binder_link():
    readme = (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb")):
        assert f"labpath=lectures%2F{path.name}" in readme, f"{path.name} missing from README"


def test_nbval_fails_when_a_stored_output_is_edited(tmp_path):
    """Editing one printed value in a committed lecture must make the test command fail."""
    src = ROOT / "lectures" / "00_welcome.ipynb"
    nb = json.loads(src.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and any(
        o.get("name") == "stdout" for o in c.get("outputs", [])))
    out = next(o for o in cell["outputs"] if o.get("name") == "stdout")
    good = tmp_path / "good.ipynb"
    good.write_text(json.dumps(nb))
    text = "".join(out["text"])
    digit = re.search(r"\d", text)
    out["text"] = text[:digit.start()] + str((int(digit.group()) + 1) % 10) + text[digit.end():]
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps(nb))
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
            "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "tests/nbval_sanitize.cfg")]
    ok = subprocess.run(args + [str(good)], cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout[-2000:]
    ko = subprocess.run(args + [str(bad)], cwd=tmp_path, capture_output=True, text=True)
    assert ko.returncode == 1 and "failed" in ko.stdout, ko.stdout[-2000:]


def test_readme_table_is_generated_from_the_notebooks():
    out = subprocess.run([sys.executable, str(ROOT / "tools/readme_table.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
