"""A fresh Python process with a given numba cache folder, for the disk-cache tests
(tests/test_fused_cache.py, tests/test_rule_cache.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_child(code: str, cache_dir: Path) -> dict:
    """Run ``code`` in a new interpreter with ``NUMBA_CACHE_DIR=cache_dir`` and the repository on its
    path; return the JSON object its last line of output prints."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
