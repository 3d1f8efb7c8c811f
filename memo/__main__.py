"""``python -m memo``: see :mod:`memo.cli`."""

import sys

from memo.cli import main

if __name__ == "__main__":
    # Messages quote values from the files; never let an odd terminal encoding crash us.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    sys.exit(main())
