"""Check the built course website (build/site/) in headless Chromium, page by page.

    python tools/site_check.py                      # every page; `make site-check`
    python tools/site_check.py lectures/02          # only pages whose path contains this
    python tools/site_check.py --widget-reprs=warn  # report raw widget reprs, don't fail

The site is served from build/site/ on 127.0.0.1; Debian's chromium (``/usr/bin/chromium``)
is driven by Playwright, which never downloads a browser. Nothing leaves the machine: MathJax,
which the pages load from its CDN, is answered from a local npm copy of the same version
(installed once into build/npm/ with ``npm install``), and every other request to another host
fails the check.

On every notebook page: no console error, no failed request, every math element typeset by
MathJax without an error, no literal ``$`` left in the prose, every stored figure shown and
loaded with a non-zero size, the Binder button launching this page's notebook (the README's
own link, from tools/readme_table.py), the download button serving the committed notebook
byte for byte, in-page links that reach their heading, and no raw widget repr
(``interactive(children=…``) on the page. Also: the sidebar lists the notebooks in course
order, a search for "Kronecker" finds lecture 2, and dark mode turns the page dark while
figures keep a white background. Screenshots of one lecture in light and dark mode go to
browser-screenshots/.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import mimetypes
import os
import pathlib
import re
import subprocess
import sys
import threading
import time
from urllib.parse import urljoin, urlparse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import build_site  # noqa: E402
import readme_table  # noqa: E402
from browser_check import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
CDN = "https://cdn.jsdelivr.net/npm/"
NPM_DIR = ROOT / "build" / "npm"
WIDGET_REPRS = ("interactive(children=", "IntProgress(", "FloatProgress(", "VBox(", "HBox(")
SCREENSHOT_PAGE = "lectures/03_finite_differences"  # math and a figure near the top

# In the page: every math element typeset, MathJax errors, `$` left in prose, figures.
PAGE_FACTS = """async () => {
  const article = document.querySelector('article.bd-article') || document.body;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const maths = [...article.querySelectorAll('span.math, div.math')];
  const untypeset = maths.filter(m => !m.querySelector('mjx-container'))
                         .map(m => m.textContent.slice(0, 80));
  const errors = [...article.querySelectorAll('mjx-merror, [data-mjx-error]')]
                   .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120));
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, .cell_output, .math, mjx-container, script, style')
       .forEach(e => e.remove());
  const text = prose.textContent;
  const dollars = [];
  for (const m of text.matchAll(/\\$/g)) {
    dollars.push(text.slice(Math.max(0, m.index - 40), m.index + 40).replace(/\\s+/g, ' '));
  }
  const imgs = [...article.querySelectorAll('.cell_output img')];
  for (const img of imgs) { if (!img.complete) await img.decode().catch(() => null); }
  const badImgs = [...article.querySelectorAll('img')]
      .filter(i => !(i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0))
      .map(i => i.getAttribute('src'));
  const outputs = [...article.querySelectorAll('.cell_output')].map(o => o.innerText).join('\\n');
  const binder = [...document.querySelectorAll('a[href*="mybinder.org"]')].map(a => a.href);
  const download = [...document.querySelectorAll('a[href*="_sources/"]')]
      .filter(a => a.href.endsWith('.ipynb')).map(a => a.href);
  const anchors = [...article.querySelectorAll('a[href^="#"]')]
      .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
      .filter(id => id && !document.getElementById(id));
  return {anchors, maths: maths.length, untypeset, errors, dollars, figures: imgs.length, badImgs,
          outputs, binder, download};
}"""


# Scroll to the first figure that has prose math at most ~700 px above it, that math on top.
SCROLL_TO_MATH_AND_FIGURE = """() => {
  const maths = [...document.querySelectorAll('article p span.math, article div.math')];
  for (const img of document.querySelectorAll('article .cell_output img')) {
    const y = img.getBoundingClientRect().top + window.scrollY;
    const above = maths.map(m => m.getBoundingClientRect().top + window.scrollY)
                       .filter(t => t < y && t > y - 700);
    if (above.length) { window.scrollTo(0, Math.min(...above) - 80); return; }
  }
}"""


def stored_figures(path: pathlib.Path) -> int:
    """Outputs of the committed notebook that carry a figure."""
    nb = json.loads(path.read_text())
    kinds = ("image/png", "image/jpeg", "image/svg+xml")
    return sum(any(k in out.get("data", {}) for k in kinds)
               for cell in nb["cells"] for out in cell.get("outputs", []))


def serve(site: pathlib.Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def local_mathjax(site: pathlib.Path) -> pathlib.Path:
    """node_modules/ holding the MathJax version the pages load (npm install if missing)."""
    html = (site / "index.html").read_text()
    found = re.search(r"cdn\.jsdelivr\.net/npm/mathjax@([\d.]+)/", html)
    if not found:
        raise SystemExit("the site loads no MathJax from the CDN: was docs/conf.py changed?")
    version = found.group(1)
    modules = NPM_DIR / "node_modules"
    pkg = modules / "mathjax" / "package.json"
    if not pkg.exists() or json.loads(pkg.read_text())["version"] != version:
        print(f"installing MathJax {version} from npm into {NPM_DIR}", flush=True)
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save",
                        "--prefix", str(NPM_DIR), f"mathjax@{version}"], check=True,
                       stdout=subprocess.DEVNULL)
    return modules


def cdn_file(modules: pathlib.Path, url: str) -> pathlib.Path | None:
    """The local file for https://cdn.jsdelivr.net/npm/[@scope/]name@version/path."""
    rest = urlparse(url).path.removeprefix("/npm/")
    m = re.match(r"((?:@[^/]+/)?[^@/]+)@[^/]+/(.+)$", rest)
    if not m:
        return None
    path = modules / m.group(1) / m.group(2)
    return path if path.is_file() else None


class Browser:
    """A Chromium page whose requests stay on this machine, with every problem recorded."""

    def __init__(self, pw, base: str, modules: pathlib.Path):
        self.base, self.modules = base, modules
        self.browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=CHROMIUM_ARGS)

    def page(self, problems: list[str], **context_args):
        context = self.browser.new_context(viewport={"width": 1280, "height": 1000},
                                           **context_args)
        context.route("**/*", functools.partial(self._route, problems))
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(
            f"console error: {m.text[:300]}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {str(e)[:300]}"))
        page.on("requestfailed", lambda r: problems.append(
            f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and problems.append(
            f"HTTP {r.status}: {r.url}"))
        return context, page

    def _route(self, problems, route):
        url = route.request.url
        if url.startswith(self.base):
            return route.continue_()
        if url.startswith(CDN):
            path = cdn_file(self.modules, url)
            if path is not None:
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return route.fulfill(status=200, body=path.read_bytes(), content_type=kind,
                                     headers={"Access-Control-Allow-Origin": "*"})
        problems.append(f"request to another host: {url}")
        return route.abort()

    def close(self):
        self.browser.close()


def check_page(page, base: str, rel: str, problems: list[str]) -> list[str]:
    """Assertions on one notebook page; returns the raw widget reprs found (reported apart)."""
    page.goto(f"{base}/{rel.removesuffix('.ipynb')}.html", wait_until="load")
    facts = page.evaluate(PAGE_FACTS)
    if facts["maths"] == 0 and "$" in "".join(
            "".join(c["source"]) for c in json.loads((ROOT / rel).read_text())["cells"]
            if c["cell_type"] == "markdown"):
        problems.append("the notebook has math but the page has no math element")
    if facts["untypeset"]:
        problems.append(f"{len(facts['untypeset'])} of {facts['maths']} math elements not "
                        f"typeset, first: {facts['untypeset'][0]!r}")
    for err in facts["errors"][:5]:
        problems.append(f"MathJax error: {err!r}")
    for ctx in facts["dollars"][:5]:
        problems.append(f"literal $ in prose: …{ctx}…")
    for target in facts["anchors"][:5]:
        problems.append(f"in-page link to #{target}, which is not on the page")
    expected = stored_figures(ROOT / rel)
    if facts["figures"] != expected:
        problems.append(f"{facts['figures']} figures on the page, the notebook stores {expected}")
    for src in facts["badImgs"]:
        problems.append(f"image not loaded or of zero size: {src}")
    want = readme_table.binder_link(rel)
    if not facts["binder"]:
        problems.append("no Binder launch button")
    for href in facts["binder"]:
        if href != want:
            problems.append(f"Binder link {href} is not this notebook's {want}")
    if len(set(facts["download"])) != 1:
        problems.append(f"expected one .ipynb download link, found {facts['download']}")
    else:
        url = urljoin(page.url, facts["download"][0])
        body = page.context.request.get(url).body()
        if body != (ROOT / rel).read_bytes():
            staged = ROOT / "build" / "site-src" / rel
            stale = staged.exists() and staged.read_bytes() != (ROOT / rel).read_bytes()
            problems.append(f"the download {url} differs from the committed {rel}"
                            + (" (the notebook changed after `make site`: rebuild)"
                               if stale else ""))
    return [r for r in WIDGET_REPRS if r in facts["outputs"]]


def check_index(page, base: str, entries, problems: list[str]) -> None:
    page.goto(f"{base}/index.html", wait_until="load")
    facts = page.evaluate(PAGE_FACTS)
    if facts["untypeset"] or facts["errors"] or facts["dollars"]:
        problems.append(f"landing page math: {facts['untypeset'] + facts['errors']}"
                        f"{facts['dollars']}")
    hrefs = page.eval_on_selector_all(
        "nav.bd-links a.reference.internal", "as => as.map(a => a.getAttribute('href'))")
    order = [h.split("#")[0].removesuffix(".html") for h in hrefs]
    order = [h for h in dict.fromkeys(order) if h not in ("", "index", "#")]
    want = [rel.removesuffix(".ipynb") for _, rel, _ in entries]
    if order != want:
        problems.append(f"sidebar order {order} is not the course order {want}")


def check_search(page, base: str, problems: list[str]) -> None:
    page.goto(f"{base}/search.html?q=Kronecker", wait_until="load")
    try:
        page.wait_for_selector("#search-results ul.search li a", timeout=20_000)
    except Exception:
        problems.append("a search for 'Kronecker' shows no results")
        return
    hits = page.eval_on_selector_all("#search-results ul.search li a",
                                     "as => as.map(a => a.getAttribute('href'))")
    if not any("lectures/02_" in h for h in hits):
        problems.append(f"a search for 'Kronecker' does not find lecture 2: {hits[:5]}")


def check_dark(browser: Browser, base: str, shots: pathlib.Path, problems: list[str]) -> None:
    """The same lecture in light and dark mode; screenshots of both."""
    for scheme in ("light", "dark"):
        context, page = browser.page(problems, color_scheme=scheme)
        page.goto(f"{base}/{SCREENSHOT_PAGE}.html", wait_until="load")
        page.evaluate(PAGE_FACTS)  # waits for MathJax
        theme = page.evaluate("document.documentElement.dataset.theme")
        if theme != scheme:
            problems.append(f"{scheme} colour scheme: the page's theme is {theme!r}")
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        level = sum(int(v) for v in re.findall(r"\d+", bg)[:3]) / 3
        if (scheme == "dark") != (level < 100):
            problems.append(f"{scheme} mode: page background is {bg}")
        fig = page.locator(".cell_output img").first
        fig_bg = fig.evaluate("i => getComputedStyle(i).backgroundColor")
        if scheme == "dark" and fig_bg not in ("rgb(255, 255, 255)", "rgba(255, 255, 255, 1)"):
            problems.append(f"dark mode: figure background is {fig_bg}, not white")
        page.evaluate(SCROLL_TO_MATH_AND_FIGURE)
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / f"site-{SCREENSHOT_PAGE.replace('/', '__')}-"
                                         f"{scheme}.png"))
        context.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="check only pages whose path contains these")
    parser.add_argument("--site", default=str(ROOT / "build" / "site"))
    parser.add_argument("--screenshots", default=str(ROOT / "browser-screenshots"))
    parser.add_argument("--widget-reprs", choices=("fail", "warn"), default="fail",
                        help="whether a raw widget repr on a page fails the check")
    args = parser.parse_args(argv)
    site = pathlib.Path(args.site)
    if not (site / "index.html").exists():
        print(f"no site in {site}: run `make site` first", file=sys.stderr)
        return 2
    if not os.path.exists(CHROMIUM):
        print(f"Chromium not found at {CHROMIUM}: apt-get install chromium "
              "(never `playwright install`)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    entries = build_site.pages(solutions=(site / "solutions").is_dir())
    rels = [rel for _, rel, _ in entries
            if not args.only or any(o in rel for o in args.only)]
    shots = pathlib.Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    modules = local_mathjax(site)
    server, base = serve(site)
    failures, reprs = {}, {}
    with sync_playwright() as pw:
        browser = Browser(pw, base, modules)
        try:
            site_wide = [("landing page and sidebar", lambda p, pr: check_index(
                              p, base, build_site.pages((site / "solutions").is_dir()), pr)),
                         ("search", lambda p, pr: check_search(p, base, pr))]
            for name, check in site_wide:
                problems: list[str] = []
                context, page = browser.page(problems)
                check(page, problems)
                context.close()
                report(name, problems, failures)
            problems = []
            check_dark(browser, base, shots, problems)
            report("light and dark mode", problems, failures)
            for rel in rels:
                start = time.monotonic()
                problems = []
                context, page = browser.page(problems)
                try:
                    found = check_page(page, base, rel, problems)
                except Exception as exc:  # a timeout or a missing element is a failure too
                    problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
                    found = []
                context.close()
                if found:
                    reprs[rel] = found
                    if args.widget_reprs == "fail":
                        problems.append(f"raw widget repr on the page: {', '.join(found)}")
                report(rel, problems, failures, time.monotonic() - start)
        finally:
            browser.close()
            server.shutdown()
    if reprs and args.widget_reprs == "warn":
        print("RAW WIDGET REPRS (not failing, --widget-reprs=warn): these pages show a widget's "
              "repr instead of its text fallback; use mcutils.nbsetup.show_widget(w, text):")
        for rel, found in reprs.items():
            print(f"    {rel}: {', '.join(found)}")
    print(f"screenshots: {shots}")
    total = len(rels) + 3
    print(f"{total - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def report(name: str, problems: list[str], failures: dict, seconds: float | None = None):
    status = "ok" if not problems else "FAILED"
    took = f"{seconds:6.1f} s  " if seconds is not None else " " * 10
    print(f"{status:6} {took}{name}", flush=True)
    for p in dict.fromkeys(problems):
        print(f"         - {p}", flush=True)
    if problems:
        failures[name] = problems


if __name__ == "__main__":
    sys.exit(main())
