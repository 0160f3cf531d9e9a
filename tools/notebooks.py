"""Execute the course notebooks in place and strip metadata noise.

    python tools/notebooks.py                 # every lecture and solution
    python tools/notebooks.py lectures/03_finite_differences.ipynb ...
    python tools/notebooks.py --clean-only psets/pset1.ipynb

Each notebook runs in its own folder with the ``python3`` kernel of the current
environment, top to bottom, exactly as nbval will re-run it in the test suite; the
stored outputs are what nbval compares against.  Metadata is reduced to the kernel
spec and the language name, cell metadata to tags, so diffs show content only.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import queue
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
DEFAULT_FOLDERS = ("lectures", "solutions")
# Environment shared with the test command (Makefile) so that stored and fresh outputs agree.
# One BLAS thread: numpy's and scipy's OpenBLAS pools otherwise fight over the two cores, which
# makes small matrix products 10-100x slower under load and can change the last bits of results.
DETERMINISTIC_ENV = {"PYTHONHASHSEED": "0", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
                     "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def clean(nb):
    """Keep only the metadata a reader needs; drop execution timestamps and UI state."""
    nb.metadata = nbformat.from_dict(
        {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    )
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags")
        cell.metadata = nbformat.from_dict({"tags": tags} if tags else {})
    return nb


def _sliced(get_msg, slice_s=0.5):
    """Wrap a channel's async ``get_msg`` so that it waits in short slices.

    Now and then (more often with widgets; nbclient issue #312) an asyncio ZMQ poll is not
    woken by a message that has already arrived and sleeps until its whole timeout runs
    out: a five-minute pause in a three-second notebook. A fresh poll sees the waiting
    message at once, so polling in short slices bounds that pause by ``slice_s``."""

    async def sliced(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else min(slice_s, deadline - time.monotonic())
            try:
                return await get_msg(timeout=max(left, 0.0))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return sliced


def execute(path: pathlib.Path, timeout: int = 300) -> float:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )

    def patch_channels(**_):
        for channel in (client.kc.shell_channel, client.kc.iopub_channel):
            if not getattr(channel, "_sliced", False):
                channel.get_msg, channel._sliced = _sliced(channel.get_msg), True

    client.on_cell_start = patch_channels
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nbformat.write(clean(nb), path)
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    parser.add_argument("--clean-only", action="store_true", help="strip metadata, do not run")
    args = parser.parse_args(argv)
    os.environ.update(DETERMINISTIC_ENV)
    paths = args.paths or sorted(p for d in DEFAULT_FOLDERS for p in (ROOT / d).glob("*.ipynb"))
    for path in paths:
        if args.clean_only:
            nbformat.write(clean(nbformat.read(path, as_version=4)), path)
            continue
        print(f"executing {path} ...", end=" ", flush=True)
        print(f"{execute(path):.1f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
