"""Open every lecture and solution in JupyterLab in headless Chromium, as a student would.

    python tools/browser_check.py                       # `make lab`, all lectures and solutions
    python tools/browser_check.py lectures/03_finite_differences.ipynb
    python tools/browser_check.py --make-lab            # only the `make lab` check
    make browser-test

First, the README's own command: `make lab` itself is started (LAB_ARGS adds only a free port,
no token and no browser); its start page must be lectures/00_welcome.ipynb served from the
repository root, the welcome notebook's links must open a problem set and a later lecture,
and the file browser must show psets/ and solutions/.

For each notebook: a fresh JupyterLab workspace, *Run → Run All Cells* from the menu, wait
until every code cell shows an execution number, *File → Save*, then fail if any output is
an error (cells tagged ``raises-exception`` excepted) or a stderr warning, if math did not
render (MathJax), if fewer figures show than the stored notebook has, or — for notebooks
with widgets — if there is no slider or moving it does not change the plot. A screenshot of
each notebook goes to the folder printed at the end.

JupyterLab runs from this environment on 127.0.0.1 (free port, no token) with temporary
config, data, runtime, settings and workspace folders, on a scratch copy of the repository:
nothing of the user's own Jupyter setup is read or written. Chromium is Debian's
(``apt-get install chromium``); Playwright drives it and never downloads a browser.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import posixpath
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from notebooks import DETERMINISTIC_ENV  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK_TIMEOUT_S = 240
SETTINGS = {  # user settings for the temporary JupyterLab
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    # `make lab` serves the real repository: nothing may be saved there behind our back.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A throw-away JupyterLab server on a scratch copy of the repository, or (make_lab=True)
    the server that the README's `make lab` starts in the repository itself, with only the
    options a test needs added through LAB_ARGS (free port, no token, no browser)."""

    def __init__(self, tmp: pathlib.Path, make_lab: bool = False):
        self.tmp = tmp
        self.make_lab = make_lab
        self.repo = ROOT if make_lab else tmp / "repo"
        if not make_lab:
            ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__",
                                            ".ipynb_checkpoints", "browser-screenshots",
                                            "*.egg-info", "build")
            shutil.copytree(ROOT, self.repo, ignore=ignore)
        env = dict(os.environ)
        for var in ("CONFIG", "DATA", "RUNTIME"):
            env[f"JUPYTER_{var}_DIR"] = str(tmp / var.lower())
        env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp / "settings")
        env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp / "workspaces")
        env["IPYTHONDIR"] = str(tmp / "ipython")
        env.update(DETERMINISTIC_ENV)
        for name, content in SETTINGS.items():
            path = tmp / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        jupyter = pathlib.Path(sys.executable).parent / "jupyter"
        self.log = open(tmp / "lab.log", "w")
        test_opts = ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                     "--ServerApp.port_retries=0", "--IdentityProvider.token=",
                     "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                     "--LabApp.expose_app_in_browser=True"]
        if make_lab:  # its own process group, so that make and jupyter stop together
            # (checkpoints, which JupyterLab writes on opening a notebook, go to tmp)
            test_opts.append(f"--FileCheckpoints.checkpoint_dir={tmp / 'checkpoints'}")
            cmd = ["make", "--no-print-directory", "lab", "LAB_ARGS=" + " ".join(test_opts)]
        else:
            cmd = ([str(jupyter), "lab", *test_opts, f"--ServerApp.root_dir={self.repo}"]
                   + (["--allow-root"] if os.geteuid() == 0 else []))
        self.proc = subprocess.Popen(cmd, cwd=self.repo, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=make_lab)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/status", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.5)
        log = (tmp / "lab.log").read_text()[-2000:]
        raise RuntimeError(f"JupyterLab did not start; log: {log}")

    def wait_kernel_connected(self, timeout=90):
        """Until the page's kernel is idle and its websocket is connected (Run All before
        that point would be lost)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kernels = self.api("GET", "/api/kernels") or []
            if any(k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels):
                return
            time.sleep(0.5)
        raise TimeoutError("the notebook's kernel did not start and connect")

    def api(self, method: str, path: str, tries: int = 5):
        """A REST call to the server; a transient 5xx (a kernel starting or stopping at
        that moment) is retried, a lasting one raised."""
        for attempt in range(tries):
            try:
                req = urllib.request.Request(f"{self.url}{path}", method=method)
                with urllib.request.urlopen(req, timeout=30) as r:
                    body = r.read()
                return json.loads(body) if body else None
            except urllib.error.HTTPError as exc:
                if exc.code < 500 or attempt == tries - 1:
                    raise
                time.sleep(1.0)

    def shutdown_kernels(self):
        for session in self.api("GET", "/api/sessions") or []:
            try:
                self.api("DELETE", f"/api/sessions/{session['id']}")
            except urllib.error.HTTPError as exc:
                if exc.code != 404:  # already gone
                    raise

    def close(self):
        if self.make_lab:  # make and the jupyter it started: the group this script made
            os.killpg(self.proc.pid, signal.SIGTERM)
        else:
            self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            if self.make_lab:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
        self.log.close()


def stored_expectations(path: pathlib.Path) -> dict:
    nb = json.loads(path.read_text())
    figures = widgets = sliders = 0
    math = any("$" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            figures += "image/png" in data
            if "application/vnd.jupyter.widget-view+json" in data:
                widgets += 1  # a slider that redraws a plot, or a progress display
                sliders += "Slider" in "".join(cell["source"])
    return {"figures": figures, "widgets": widgets, "sliders": sliders, "math": math}


def saved_problems(path: pathlib.Path) -> list[str]:
    nb = json.loads(path.read_text())
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("execution_count") is None:
            problems.append(f"cell {i} has no execution number")
        for out in cell.get("outputs", []):
            if out["output_type"] == "error" and "raises-exception" not in tags:
                problems.append(f"cell {i} raised {out['ename']}: {out['evalue'][:200]}")
            if out["output_type"] == "stream" and out["name"] == "stderr":
                problems.append(f"cell {i} wrote to stderr: {''.join(out['text'])[:200]}")
    return problems


def check_notebook(page, lab: Lab, rel: str, shots: pathlib.Path) -> list[str]:
    expect = stored_expectations(ROOT / rel)
    workspace = "check-" + rel.replace("/", "-").removesuffix(".ipynb")
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{rel}?reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    select = page.locator(".jp-Dialog button", has_text="Select")
    if select.count():  # kernel chooser, should the preferred-kernel setting not apply
        select.first.click()
    lab.wait_kernel_connected()
    # Clear the stored outputs first, so that every execution number seen later is fresh.
    page.locator(".lm-MenuBar-itemLabel", has_text="Edit").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Clear Outputs of All Cells").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    # Done when every code cell has a number, or when nothing runs any more after an
    # error (JupyterLab stops a Run All at the first exception).
    page.wait_for_function(
        "() => { const ps = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];"
        " if (!ps.length || ps.some(p => p.textContent.includes('*'))) return false;"
        " const err = document.querySelector('.jp-OutputArea-output"
        "[data-mime-type=\"application/vnd.jupyter.stderr\"]');"
        " return !!err || ps.every(p => /\\[\\d+\\]/.test(p.textContent)); }",
        timeout=NOTEBOOK_TIMEOUT_S * 1000, polling=500)
    page.locator(".jp-Notebook").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Save Notebook").first.click()
    page.wait_for_function(  # the title loses its dirty marker once saved
        "() => !document.querySelector('.jp-mod-current.jp-mod-dirty')", timeout=30_000)
    time.sleep(0.5)
    problems = saved_problems(lab.repo / rel)

    if expect["math"]:
        try:  # Run All re-renders markdown; MathJax typesets asynchronously
            page.wait_for_selector("mjx-container", timeout=20_000)
        except Exception:
            problems.append("no rendered math (MathJax) found")
    n_fig = page.locator(".jp-OutputArea-output img").count()
    if n_fig < expect["figures"]:
        problems.append(f"{n_fig} figures shown, the stored notebook has {expect['figures']}")
    if expect["widgets"] and page.locator(".jp-OutputArea-output .jupyter-widgets").count() == 0:
        problems.append("the notebook has widgets but none rendered")
    if expect["sliders"]:
        problems += check_widget(page, shots / (rel.replace("/", "__").removesuffix(".ipynb")
                                                + ".widget.png"))

    page.locator(".jp-WindowedPanel-outer, .jp-Notebook").first.evaluate("e => e.scrollTo(0, 0)")
    shot = shots / (rel.replace("/", "__").removesuffix(".ipynb") + ".png")
    page.screenshot(path=str(shot))
    lab.shutdown_kernels()
    return problems


WELCOME = "lectures/00_welcome.ipynb"


def lab_ready(page, url: str) -> str:
    """Open url in JupyterLab, wait until the app has restored its layout, and return the
    path of the document in the main area."""
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp", timeout=60_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget;"
                           " return w && w.context && w.context.path; }", timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell",
                           timeout=60_000)
    return current_document(page)


def current_document(page) -> str | None:
    return page.evaluate("() => { const w = window.jupyterapp.shell.currentWidget;"
                         " return w && w.context ? w.context.path : null; }")


def follow_link(page, lab: Lab, link: str, shots: pathlib.Path) -> list[str]:
    """Click the welcome notebook's markdown link ``link`` (relative to lectures/): the
    linked notebook must open, so the server's root must hold the linked folder."""
    lab_ready(page, f"{lab.url}/lab/tree/{WELCOME}?reset")
    # JupyterLab resolves a relative link against the notebook's folder on the server.
    target = posixpath.normpath(posixpath.join(posixpath.dirname(WELCOME), link))
    anchor = page.locator(f".jp-MarkdownCell a[href*='/files/{target}']").first
    try:
        anchor.wait_for(timeout=30_000)
    except Exception:
        return [f"{WELCOME}: no rendered link to {target} (from {link})"]
    anchor.scroll_into_view_if_needed()
    anchor.click()
    try:
        page.wait_for_function(
            "path => { const w = window.jupyterapp.shell.currentWidget;"
            " return w && w.context && w.context.path === path; }", arg=target, timeout=30_000)
        page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell",
                               timeout=30_000)
    except Exception:
        page.screenshot(path=str(shots / f"make-lab-link-{posixpath.basename(link)}.error.png"))
        return [f"the link {link} in {WELCOME} did not open {target} (open: "
                f"{current_document(page)!r})"]
    lab.shutdown_kernels()
    return []


def check_make_lab(page, lab: Lab, shots: pathlib.Path) -> list[str]:
    """The README's `make lab`: served from the repository root, starts on the welcome
    notebook, whose links reach a problem set and a later lecture; psets/ and solutions/ are
    in the file browser."""
    problems = []
    root = {c["name"] for c in lab.api("GET", "/api/contents/")["content"]}
    missing = {"lectures", "psets", "solutions", "README.md"} - root
    if missing:
        problems.append(f"`make lab` serves a folder without {sorted(missing)}")
    opened = lab_ready(page, f"{lab.url}/")  # the start page `make lab` gives
    where = urllib.parse.urlparse(page.url).path
    if opened != WELCOME or where != f"/lab/tree/{WELCOME}":
        problems.append(f"`make lab` starts at {where}, showing {opened!r}, not {WELCOME}")
    links = notebook_links(ROOT / WELCOME)
    wanted = ([x for x in links if x.startswith("../psets/")][:1]
              + [x for x in links if re.match(r"^(\./)?(0[2-9]|1\d)_\w+\.ipynb$", x)][:1])
    if len(wanted) < 2:
        problems.append(f"{WELCOME} needs a link to a problem set and to a later lecture")
    for link in wanted:
        problems += follow_link(page, lab, link, shots)
    page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").first.click()
    try:
        page.wait_for_function(
            "() => { const names = [...document.querySelectorAll('.jp-FileBrowser "
            ".jp-DirListing-itemText')].map(e => e.textContent.trim());"
            " return ['psets', 'solutions', 'lectures'].every(n => names.includes(n)); }",
            timeout=30_000)
    except Exception:
        problems.append("the file browser at the root does not show psets/, solutions/ and "
                        "lectures/")
    page.screenshot(path=str(shots / "make-lab.png"))
    lab.shutdown_kernels()
    return problems


def notebook_links(path: pathlib.Path) -> list[str]:
    """Targets of the relative Markdown links in a notebook, in order."""
    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return [m for m in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in m]


def check_widget(page, shot: pathlib.Path) -> list[str]:
    slider = page.locator(".jupyter-widgets .noUi-handle, .widget-slider input[type=range]")
    if slider.count() == 0:
        return ["the notebook has a widget but no slider rendered"]
    handle = slider.first
    widget = page.locator(".jp-OutputArea-output:has(.noUi-handle)").first
    handle.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    plot = widget.locator("img")
    before = plot.first.get_attribute("src") if plot.count() else None
    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(150)
    page.wait_for_timeout(2000)
    after = plot.first.get_attribute("src") if plot.count() else None
    widget.screenshot(path=str(shot))
    errors = widget.locator("[data-mime-type='application/vnd.jupyter.stderr']")
    if errors.count():
        return ["moving the slider raised an error: " + errors.first.inner_text()[:300]]
    if before is None or after is None:
        return ["the widget shows no plot (before or after moving the slider)"]
    if before == after:
        return ["moving the slider did not change the plot"]
    return []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--screenshots", default=str(ROOT / "browser-screenshots"))
    parser.add_argument("--make-lab", action="store_true",
                        help="only check the server `make lab` starts (run first by default "
                             "when no notebook is named)")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print(f"Chromium not found at {CHROMIUM}. Install Debian's package first:\n"
              "    sudo apt-get update && sudo apt-get install chromium\n"
              "(or set CHROMIUM=/path/to/chromium). Never `playwright install`.", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    rels = args.paths or [f"{d}/{p.name}" for d in ("lectures", "solutions")
                          for p in sorted((ROOT / d).glob("*.ipynb"))]
    rels = [str(pathlib.Path(r).resolve().relative_to(ROOT)) if pathlib.Path(r).exists()
            else r for r in rels]
    shots = pathlib.Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    failures = {}
    if args.make_lab:
        rels = []
    with tempfile.TemporaryDirectory(prefix="mc-browser-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        if args.make_lab or not args.paths:
            start = time.monotonic()
            (pathlib.Path(tmp) / "make-lab").mkdir()
            lab = Lab(pathlib.Path(tmp) / "make-lab", make_lab=True)
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            try:
                problems = check_make_lab(context.new_page(), lab, shots)
            except Exception as exc:
                problems = [f"{type(exc).__name__}: {str(exc).splitlines()[0]}"]
            finally:
                context.close()
                lab.close()
                shutil.copy(lab.tmp / "lab.log", shots / "make-lab.log")
            status = "ok" if not problems else "FAILED"
            print(f"{status:6} {time.monotonic() - start:6.1f} s  make lab", flush=True)
            for p in problems:
                print(f"         - {p}", flush=True)
            if problems:
                failures["make lab"] = problems
        lab = Lab(pathlib.Path(tmp)) if rels else None
        try:
            for rel in rels:
                start = time.monotonic()
                context = browser.new_context(viewport={"width": 1280, "height": 1400})
                page = context.new_page()
                try:
                    problems = check_notebook(page, lab, rel, shots)
                except Exception as exc:  # a timeout or a missing element is a failure too
                    problems = [f"{type(exc).__name__}: {str(exc).splitlines()[0]}"]
                    page.screenshot(path=str(shots / (rel.replace("/", "__") + ".error.png")))
                    lab.shutdown_kernels()
                context.close()
                status = "ok" if not problems else "FAILED"
                print(f"{status:6} {time.monotonic() - start:6.1f} s  {rel}", flush=True)
                for p in problems:
                    print(f"         - {p}", flush=True)
                if problems:
                    failures[rel] = problems
        finally:
            browser.close()
            if lab is not None:
                lab.close()
                shutil.copy(lab.tmp / "lab.log", shots / "jupyterlab.log")
    print(f"screenshots: {shots}")
    checked = len(rels) + bool(args.make_lab or not args.paths)
    print(f"{checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
