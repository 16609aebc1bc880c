#!/usr/bin/env bash
# Install (as setup.sh) and run the linter, the documentation build and the whole test suite.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ruff check .
# --strict: a broken link or anchor, a missing page or a benchmark table without its result file
# fails here. Not --quiet: MkDocs then stops counting the warnings that --strict turns into errors.
NO_MKDOCS_2_WARNING=1 mkdocs build --strict
python -m pytest -q -p no:cacheprovider "$@"
