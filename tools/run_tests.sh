#!/usr/bin/env bash
# Install wsol_mm with the test requirements into .venv and run ruff + the test suite.
# torch stays pinned to the tested CPU build through requirements/constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q -c requirements/constraints.txt -r requirements/runtime.txt -r requirements/tests.txt -e .
ruff check .
# yapf (mmengine imports it) writes its grammar cache on the first import after an install and
# renames the file before flushing it: two test workers importing it at once can read it
# half-written (EOFError while collecting, seen in a fresh clone). One import here writes it.
python -c 'import yapf'
# Two worker processes (the suite runs mostly on one core otherwise), whole files per worker so
# module fixtures are built once; PYTEST_WORKERS=0 runs everything in this process.
HF_HUB_OFFLINE=1 python -m pytest -q -n "${PYTEST_WORKERS:-2}" --dist loadfile tests "$@"
