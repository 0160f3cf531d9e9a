"""Sphinx configuration of the course website (built by tools/build_site.py, `make site`).

The site is rendered from the committed, executed notebooks: myst-nb never executes them.
The repository address comes from pyproject.toml through tools/readme_table.py, like the
README's Binder links.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import readme_table  # noqa: E402

project = "Matrix Calculus for Machine Learning and Beyond — in Python"
author = "the course authors"
copyright = "the course authors; MIT license"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# --- notebooks: stored outputs only -------------------------------------------------------
nb_execution_mode = "off"
# Widgets cannot run on a static page: never render the widget view (its text/plain
# fallback, set by mcutils.nbsetup.show_widget, is shown instead) and load no widget JS.
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.jupyter.widget-state+json", None),
]
nb_ipywidgets_js = {}
nb_merge_streams = True

# --- Markdown as Jupyter reads it ------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
# `$$ … $$` in the middle of a paragraph is display math in Jupyter; tests/test_site.py
# checks the notebooks for it unless this option is set.
myst_dmath_double_inline = True
# In-page links are written for Jupyter, whose heading anchors are the heading's text with
# spaces turned into dashes (`#1.-Three-difference-quotients`): the site makes the same ones.
myst_heading_anchors = 6
myst_heading_slug_func = "build_site.jupyter_anchor"
# MathJax from its CDN at a fixed version; tools/site_check.py serves the same version from a
# local npm copy, so the browser check never needs the network.
MATHJAX_VERSION = "3.2.2"
mathjax_path = f"https://cdn.jsdelivr.net/npm/mathjax@{MATHJAX_VERSION}/es5/tex-mml-chtml.js"
suppress_warnings = ["myst.header"]  # notebooks may skip heading levels, as Jupyter allows

# --- HTML ----------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Matrix Calculus in Python"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_copy_source = True
html_sourcelink_suffix = ""  # _sources/<page>.ipynb is the committed notebook, byte for byte
html_last_updated_fmt = None
html_context = {"default_mode": "auto"}  # light or dark as the reader's system prefers
html_theme_options = {
    "repository_url": readme_table.repo_url(),
    "repository_branch": readme_table.BRANCH,
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    # Launch buttons are added below from readme_table.binder_link, not by the theme.
    # No Colab button: mcutils is not installed on Colab, so the notebooks would fail there.
    "launch_buttons": {},
}


def add_binder_button(app, pagename, templatename, context, doctree):
    """A Binder launch button on every notebook page, with the README's own link."""
    source = context.get("sourcename") or ""
    if not source.endswith(".ipynb"):
        return
    context["header_buttons"].append({
        "type": "group",
        "tooltip": "Launch this notebook",
        "icon": "fas fa-rocket",
        "label": "launch-buttons",
        "buttons": [{
            "type": "link",
            "text": "Binder",
            "tooltip": "Launch on Binder (JupyterLab, repository root)",
            "icon": "_static/images/logo_binder.svg",
            "url": readme_table.binder_link(source),
            "label": "binder-button",
        }],
    })


def setup(app):
    # After the theme's own header buttons (priority 501), before the page is rendered.
    app.connect("html-page-context", add_binder_button, priority=502)
