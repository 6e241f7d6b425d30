"""SIGINT and SIGTERM during a run: one :class:`Interrupted`, only where the run can be unwound.

The handler raises at most once per run (``spent``), so the cleanup that follows cannot be
interrupted itself.  Starting a notebook process and swapping the chapter folders are
critical sections (:meth:`Interrupts.critical`): a signal that arrives inside one is
acted on when it ends.  After :meth:`Interrupts.commit` (the new chapters are in place)
signals are only recorded; the CLI reports them.

For tests only: ``REPLICATION_RUNNER_TRACE=<file>`` appends the name of each phase the
run enters to the file, and ``REPLICATION_RUNNER_PAUSE=<phase>`` waits up to 60 s at the
start of that phase (:func:`phase`), so that a test can signal the run exactly there.
"""
from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class Interrupts:
    """SIGINT/SIGTERM -> one :class:`Interrupted`, only where the run can be unwound.

    ``signum`` keeps the first signal received.  While ``armed`` the handler raises, once
    (``spent``); outside (before the run, inside a critical section, after the commit) it
    only records the signal.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.old: dict | None = None
        self.signum: int | None = None
        self.armed = False
        self.spent = False
        self.committed = False

    @property
    def installed(self) -> bool:
        return self.old is not None

    def install(self) -> bool:
        """Install the handlers (a no-op when installed); False outside the main thread."""
        if self.old is None:
            try:
                old = {s: signal.getsignal(s) for s in self.SIGNALS}
                for s in self.SIGNALS:
                    signal.signal(s, self._handler)
            except ValueError:  # not the main thread: no guarantees
                return False
            self.old = old
        return True

    def uninstall(self) -> None:
        if self.old is not None:
            for s, h in self.old.items():
                signal.signal(s, h if h is not None else signal.SIG_DFL)
            self.old = None

    def reset(self) -> None:
        self.signum, self.armed, self.spent, self.committed = None, False, False, False

    def _raise(self):
        self.spent = True
        self.armed = False
        raise Interrupted(self.signum)

    def _handler(self, signum, frame):
        if self.signum is None:
            self.signum = signum
        if self.armed and not self.spent:
            self._raise()

    def arm(self) -> None:
        """From here on a signal interrupts the run (one received before does so now)."""
        if self.committed or self.spent:
            return
        self.armed = True
        if self.signum is not None:
            self._raise()

    def disarm(self) -> None:
        self.armed = False

    def commit(self) -> None:
        """The new chapters are in place: the run completes whatever arrives now."""
        self.committed = True
        self.armed = False

    @contextmanager
    def critical(self):
        """Defer signals to the end of the block (where the first one raises)."""
        was = self.armed
        self.armed = False
        try:
            yield
        finally:
            if was and not self.committed and not self.spent:
                self.armed = True
        if self.armed and self.signum is not None:
            self._raise()


INTERRUPTS = Interrupts()


def phase(name: str) -> None:
    """Test hook: trace the phase the run enters and optionally pause there."""
    trace = os.environ.get("REPLICATION_RUNNER_TRACE")
    if trace:
        with open(trace, "a") as f:
            f.write(name + "\n")
    if os.environ.get("REPLICATION_RUNNER_PAUSE") == name:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            time.sleep(0.05)
