"""Shared helpers for the cog package tests: paths and a fresh import of cog."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COG_DIR = os.path.join(ROOT, "predictor", "python")


def _find_cases():
    """The conformance cases: $CF_CONFORMANCE_CASES, else the copy the repository carries."""
    for d in (os.environ.get("CF_CONFORMANCE_CASES"),
              os.path.join(ROOT, "tests", "conformance", "cases")):
        if d and os.path.isdir(d):
            return d
    return os.path.join(ROOT, "tests", "conformance", "cases")


CASES = _find_cases()

if COG_DIR not in sys.path:
    sys.path.insert(0, COG_DIR)


def predict_ref(case_dir):
    """The predict: value of a case's cog.yaml (a one-line read; no yaml module needed)."""
    with open(os.path.join(case_dir, "cog.yaml")) as f:
        for line in f:
            if line.startswith(("predict:", "run:")):
                return line.split(":", 1)[1].strip().strip("\"'")
    return None
