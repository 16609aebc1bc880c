# Sourced by quickstart.sh and test.sh: a virtual environment in .venv with fooling installed.
# torch is pinned to 2.13.0 only where no torch is installed yet; an existing torch (e.g. a CUDA
# build on a GPU machine) is kept. TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cpu)
# picks the index torch comes from: plain PyPI serves Linux the multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi
if ! python -c "import torch" 2>/dev/null; then
  python -m pip install -q "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
fi
python -m pip install -q -e ".[test]"
