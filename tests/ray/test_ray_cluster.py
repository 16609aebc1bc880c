"""Ray's C++ core writes to file descriptor 2 while ``ray.init`` starts it (the log level it
read from RAY_BACKEND_LOG_LEVEL, a stack trace at SIGTERM): discarded there, and only there
(docs/reliability.md, section 3)."""

from __future__ import annotations

import subprocess
import sys


def test_stderr_is_discarded_in_the_block_and_back_after() -> None:
    code = """
import os, sys
from evolve.distributed.cluster import stderr_discarded
print("before", file=sys.stderr)
with stderr_discarded():
    os.write(2, b"from C++\\n")
    print("from Python", file=sys.stderr)
os.write(2, b"after\\n")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "before\nafter\n", done.stderr
