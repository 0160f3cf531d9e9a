"""Grade a class's submitted problem sets: ``python -m mcutils.grade``.

    python -m mcutils.grade --out grades.csv [--jobs N] [--timeout SECONDS] submissions/*.ipynb

Each submission is executed top to bottom in a fresh kernel, in a scratch folder of its own
(a copy: the submitted file is never touched), with a time limit for the whole notebook.
The check cells of the problem sets print one verdict line per check (see
:mod:`mcutils.grading`)::

    ✓ 1(a): gradient agrees with finite differences (relerr 2.1e-11)
    ✗ 1(b): gradient disagrees with finite differences: relerr 1.0e-03 > 1e-06
    … 1(c): not answered yet

and this command collects them into one CSV row per submission: the file name, what happened
(``ok``, ``error: NameError: …`` for an exception outside a check, ``timeout``, ``invalid
notebook: …``), one column per check label with ``pass``/``fail``/``unanswered`` (``missing``
when the check never ran), then the totals.  A summary table is printed at the end.

What a submission does cannot stop the run or change another row: every notebook runs in its
own process with its own kernel, killed with all its children when the time is up; the
submissions are read into memory before any of them runs; output is never collected beyond
the verdict lines.

**This runs student code with your permissions.**  The scratch folders keep honest mistakes
apart, not a deliberate attack: a notebook can read, change or delete any file you can.  Grade
untrusted submissions inside a container or a throw-away virtual machine, for example::

    docker run --rm --network none -v "$PWD":/course -w /course python:3.11 \\
        sh -c 'pip install -q -c tools/constraints.txt ".[course,test]" &&
               python -m mcutils.grade --out grades.csv submissions/*.ipynb'

(``--network none`` keeps a submission from reaching the network; mount only copies.)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

VERDICT = re.compile(r"^([✓✗…]) (.+?): ", re.M)
STATUS = {"✓": "pass", "✗": "fail", "…": "unanswered"}
# When one label is printed more than once, the worst outcome counts.
RANK = {"pass": 0, "unanswered": 1, "fail": 2}
MISSING = "missing"
# The same environment the course's notebooks are executed in (tools/notebooks.py).
WORKER_ENV = {"PYTHONHASHSEED": "0", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
              "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


# ----------------------------------------------------------------- reading a notebook's output
def verdicts(text: str) -> dict[str, str]:
    """The verdicts in a block of output text: ``{label: "pass" | "fail" | "unanswered"}``.

    >>> verdicts("✓ 1(a): ok (relerr 1e-12)\\n✗ 7(b) exp: relerr 1e-3 > 1e-6\\nnoise")
    {'1(a)': 'pass', '7(b) exp': 'fail'}
    """
    found: dict[str, str] = {}
    for symbol, label in VERDICT.findall(text):
        _merge(found, label.strip(), STATUS[symbol])
    return found


def _merge(found, label, status):
    old = found.get(label)
    if old is None or RANK[status] > RANK[old]:
        found[label] = status


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return "".join(output.get("text", ""))
    data = output.get("data", {})
    return "".join(data.get("text/plain", "")) if isinstance(data, dict) else ""


def collect(nb) -> tuple[dict[str, str], str | None]:
    """Verdicts of an executed notebook, and the first error raised outside a check."""
    found: dict[str, str] = {}
    error = None
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") == "error" and error is None:
                error = f"error: {output.get('ename', 'Error')}: {output.get('evalue', '')}"
                error = f"{error[:200]} (cell {index})"
            for label, status in verdicts(_text(output)).items():
                _merge(found, label, status)
    return found, error


# ----------------------------------------------------------------- one submission, in a worker
def _worker(path: str, timeout: float) -> None:
    """Execute one notebook (already a scratch copy) and print its verdicts as JSON."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    result = {"status": "ok", "verdicts": {}}
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook, ...
        print(json.dumps({"status": f"invalid notebook: {type(exc).__name__}: {exc}"[:300],
                          "verdicts": {}}))
        return
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            record_timing=False,
                            resources={"metadata": {"path": os.path.dirname(path)}})
    try:
        client.execute()
    except CellTimeoutError:
        result["status"] = "timeout"
    except DeadKernelError as exc:
        result["status"] = f"error: the kernel died ({exc})"[:300]
    except Exception as exc:
        result["status"] = f"error: {type(exc).__name__}: {exc}"[:300]
    found, error = collect(nb)
    result["verdicts"] = found
    if result["status"] == "ok" and error:
        result["status"] = error
    print(json.dumps(result))


def _descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, directly or not (read from /proc; empty elsewhere).
    The kernel runs in a session of its own, so killing the worker's group would miss it."""
    parents: dict[int, list[int]] = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill a worker and everything it started."""
    for pid in [proc.pid, *_descendants(proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    proc.wait()


def grade_one(name: str, source: bytes, timeout: float) -> dict:
    """Run one submission (its bytes) in a scratch folder; return its row as a dict."""
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="mcgrade-"))
    # Two empty levels between the copy and the shared temporary folder: a notebook that
    # deletes "its" folder or the one above only deletes its own scratch space.
    work = scratch / "a" / "b"
    work.mkdir(parents=True)
    copy = work / pathlib.Path(name).name
    copy.write_bytes(source)
    env = {**os.environ, **WORKER_ENV}
    cmd = [sys.executable, "-m", "mcutils.grade", "--worker", str(copy),
           "--timeout", str(timeout)]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout + 10)  # + kernel start-up and shutdown
        lines = out.decode("utf-8", "replace").strip().splitlines()
        row = json.loads(lines[-1]) if lines else {"status": "error: the worker printed nothing",
                                                   "verdicts": {}}
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        row = {"status": "timeout", "verdicts": {}}
    except (json.JSONDecodeError, IndexError):
        row = {"status": "error: the worker's report was unreadable", "verdicts": {}}
    finally:
        if proc.poll() is None:
            _kill_tree(proc)
        shutil.rmtree(scratch, ignore_errors=True)
    row["file"] = name
    row["seconds"] = round(time.monotonic() - start, 1)
    return row


# ----------------------------------------------------------------- the whole class
def _progress(done, total, name, stream):
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    stream.write(f"\r[{bar}] {done}/{total} {name[:40]:<40}")
    stream.flush()


def grade(paths, timeout=600.0, jobs=1, stream=sys.stderr) -> list[dict]:
    """Grade every notebook in ``paths``; one row (dict) per path, in the given order."""
    sources = {}
    rows: dict[str, dict] = {}
    for p in paths:
        name = str(p)
        try:
            sources[name] = pathlib.Path(p).read_bytes()   # read all before anything runs
        except OSError as exc:
            rows[name] = {"file": name, "status": f"unreadable: {exc.strerror or exc}",
                          "verdicts": {}, "seconds": 0.0}
    total = len(paths)
    done = len(rows)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_one, n, s, timeout): n for n, s in sources.items()}
        for fut in as_completed(futures):
            name = futures[fut]
            try:
                rows[name] = fut.result()
            except Exception as exc:   # a bug of ours must not end the run either
                rows[name] = {"file": name, "status": f"error: grader: {exc}",
                              "verdicts": {}, "seconds": 0.0}
            done += 1
            _progress(done, total, pathlib.Path(name).name, stream)
    if total:
        stream.write("\n")
    return [rows[str(p)] for p in paths]


def labels_of(rows) -> list[str]:
    """Check labels in the order they first appear (the notebook's order)."""
    seen: dict[str, None] = {}
    for row in rows:
        for label in row["verdicts"]:
            seen.setdefault(label, None)
    return list(seen)


def write_csv(rows, out) -> list[str]:
    labels = labels_of(rows)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "status", *labels, "passed", "failed", "unanswered", "missing",
                    "checks"])
        for row in rows:
            values = [row["verdicts"].get(label, MISSING) for label in labels]
            w.writerow([pathlib.Path(row["file"]).name, row["status"], *values,
                        *(values.count(s) for s in ("pass", "fail", "unanswered", MISSING)),
                        len(labels)])
    return labels


def summary(rows, labels) -> str:
    """A plain-text table: one line per submission."""
    head = f"{'submission':<32} {'pass':>5} {'fail':>5} {'open':>5} {'miss':>5}  status"
    lines = [head, "-" * len(head)]
    for row in rows:
        values = [row["verdicts"].get(label, MISSING) for label in labels]
        counts = [values.count(s) for s in ("pass", "fail", "unanswered", MISSING)]
        name = pathlib.Path(row["file"]).name
        lines.append(f"{name[:32]:<32} " + " ".join(f"{c:>5}" for c in counts)
                     + f"  {row['status'][:70]}")
    lines.append(f"{len(rows)} submission(s), {len(labels)} check(s) each")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mcutils.grade",
        description="Execute submitted problem-set notebooks and collect their check verdicts "
                    "into a CSV. This runs student code: grade untrusted submissions in a "
                    "container or a throw-away VM.")
    ap.add_argument("notebooks", nargs="*", help="submitted .ipynb files")
    ap.add_argument("--out", help="CSV file to write (one row per submission)")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks run at once (default 1)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds allowed per notebook (default 600)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.timeout)
        return 0
    if not args.out or not args.notebooks:
        ap.error("give --out FILE and at least one notebook")
    if args.timeout <= 0 or args.jobs < 1:
        ap.error("--timeout must be positive and --jobs at least 1")
    rows = grade(args.notebooks, timeout=args.timeout, jobs=args.jobs)
    labels = write_csv(rows, args.out)
    print(summary(rows, labels))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
