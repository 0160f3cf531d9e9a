"""mcutils.nbsetup.reuse_freed_memory: the allocator setting notebooks get (benchmarked in
benchmarks/bench_reverse.py; here only its effect on page faults and its argument checks)."""

import os
import platform
import subprocess
import sys

import pytest

from mcutils import nbsetup

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# A training-loop pattern: two fresh 500×500 arrays per step, the previous step's kept
# until the new ones exist.  Prints the minor page faults of 20 steps after a warm-up.
_LOOP = """
import resource, numpy as np
import mcutils.nbsetup as nb
def steps():
    keep = None
    for _ in range(20):
        a = np.ones((500, 500)); b = np.ones((500, 500))
        keep = (a, b)
    return keep
steps()
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
steps()
print(nb.ALLOCATOR_TUNED, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)
"""


def _faults(malloc_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    if malloc_env is not None:
        env["MCUTILS_MALLOC"] = malloc_env
    else:
        env.pop("MCUTILS_MALLOC", None)
    out = subprocess.run([sys.executable, "-c", _LOOP], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not GLIBC, reason="the setting exists only for glibc")
def test_importing_nbsetup_stops_page_faulting_fresh_arrays():
    tuned, faults = _faults(None)
    assert tuned is True
    assert faults < 200                 # the freed pages are reused
    tuned, faults = _faults("default")  # opt out: glibc's defaults fault on every array
    assert tuned is False
    # 40 arrays of 2 MB = 489 pages each; glibc's own heuristics reuse some of them
    # (about half, measured), never most
    assert faults > 20 * 489 / 4


def test_reuse_freed_memory_checks_its_arguments_and_reports():
    assert nbsetup.reuse_freed_memory() is GLIBC
    with pytest.raises(ValueError, match="mmap_threshold_mb must be a positive number"):
        nbsetup.reuse_freed_memory(mmap_threshold_mb=0)
    with pytest.raises(ValueError, match="caps the mmap threshold at 32 MiB"):
        nbsetup.reuse_freed_memory(mmap_threshold_mb=64)
    with pytest.raises(ValueError, match="trim_threshold_mb must be below 2048"):
        nbsetup.reuse_freed_memory(trim_threshold_mb=4096)
