#!/usr/bin/env bash
# Install (as setup.sh) and run the linter and the whole test suite.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ruff check .
python -m pytest -q -p no:cacheprovider "$@"
