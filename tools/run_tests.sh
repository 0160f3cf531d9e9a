#!/usr/bin/env bash
# The whole test suite (called by `make test`, which has set up .venv):
#   1. ruff over the package, tests, tools and notebooks
#   2. unit tests of mcutils and the repository checks (tests/)
#   3. lectures and solutions through nbval, strict: stored outputs must match fresh ones
#   4. student problem sets through nbval-lax: they must run top to bottom, answers blank
# pytest's exit code 5 ("no tests collected") means the setup is broken, and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
# Same environment as tools/notebooks.py used when it stored the outputs.
export PYTHONHASHSEED=0 JAX_PLATFORMS=cpu TF_CPP_MIN_LOG_LEVEL=3
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

run_pytest() {
    local what=$1; shift
    echo "=== $what"
    local rc=0
    python -m pytest "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "ERROR: pytest collected no tests for '$what': the test setup is broken" >&2
        exit 1
    elif [ "$rc" -ne 0 ]; then
        echo "FAILED: $what (pytest exit code $rc)" >&2
        exit "$rc"
    fi
}

echo "=== ruff"
ruff check mcutils tests tools benchmarks lectures solutions psets

run_pytest "unit tests and repository checks" tests -n 2 --durations=10
NBVAL=(--nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
       --nbval-cell-timeout=120 -p no:cacheprovider -n 2 --dist loadfile)
run_pytest "lectures and solutions (nbval, strict)" --nbval "${NBVAL[@]}" lectures solutions
run_pytest "student problem sets (nbval-lax)" --nbval-lax "${NBVAL[@]}" psets
echo "=== all test stages passed"
