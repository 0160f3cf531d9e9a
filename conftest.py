"""Repository-wide pytest hooks.

Notebook runs (nbval) report per *cell*; this adds a per-*notebook* summary at the end of the
run — the slowest ten notebooks with their total time — so the 60 s budget per notebook stays
visible in CI logs.
"""

from collections import defaultdict

_NOTEBOOK_BUDGET_S = 60.0
_notebook_time = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_time[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_time:
        return
    tr = terminalreporter
    tr.section("slowest notebooks (total of setup, cells and teardown)")
    ranked = sorted(_notebook_time.items(), key=lambda kv: -kv[1])
    for path, seconds in ranked[:10]:
        flag = "  OVER BUDGET" if seconds > _NOTEBOOK_BUDGET_S else ""
        tr.write_line(f"{seconds:7.1f} s  {path}{flag}")
