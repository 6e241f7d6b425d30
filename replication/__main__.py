"""``python -m replication``: an interrupt at any moment, even while the package is still
importing, ends with a message and exit code 130, never a traceback."""
import sys

try:
    from replication.book.cli import main

    code = main()
except KeyboardInterrupt:
    print("interrupted; previous outputs left intact", file=sys.stderr)
    code = 130
raise SystemExit(code)
