"""``python -m fooling``: the ``fooling`` command."""

import signal

from fooling.cli import main

if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `fooling ... | head` ends quietly
    main()
