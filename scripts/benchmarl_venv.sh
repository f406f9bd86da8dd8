#!/usr/bin/env bash
# BenchMARL in a venv of its own, keeping the CPU torch (docs/ecosystem.md, BenchMARL).
#
# Why its own venv: benchmarl 1.5 pins torchrl<0.12 (this project's dev extra uses torchrl 0.14),
# and it requires torchvision, which pip would satisfy by replacing the CPU torch with a CUDA torch
# and its nvidia-* packages. The constraint file keeps torch==2.13.0; pip then installs the
# torchvision wheel matching it, which does not import beside the CPU torch (torchvision::nms) but
# is never imported by BenchMARL's training path (BenchMARL 1.5.2 has no torchvision import).
#
#   bash scripts/benchmarl_venv.sh [VENV]          # default VENV: .venv-benchmarl (git-ignored)
#   VENV/bin/python -m pytest -o addopts="" tests/test_benchmarl_task.py -q
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv-benchmarl}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
printf 'torch==2.13.0\n' > "$VENV/torch-constraint.txt"
"$VENV/bin/python" -m pip install -q -c "$VENV/torch-constraint.txt" "benchmarl==1.5.2" "pytest>=8" -e .
"$VENV/bin/python" - <<'PY'
import torch, torchrl, benchmarl, mbi_envs.benchmarl
assert "+cpu" in torch.__version__ or not torch.version.cuda, f"torch was replaced: {torch.__version__}"
print(f"benchmarl {benchmarl.__version__ if hasattr(benchmarl, '__version__') else '1.5.2'}, torchrl {torchrl.__version__}, torch {torch.__version__}")
PY
