# Sourced by quickstart.sh and test.sh: a virtual environment in .venv with fooling installed.
# torch is pinned to 2.13.0 only where no torch is installed yet: an unpinned install would pull
# a multi-GB CUDA build, while an existing torch (e.g. a CUDA build on a GPU machine) is kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[test]"
