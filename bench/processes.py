"""Server processes the harness starts and stops itself, by process group and never by name.

Each server starts in a session of its own, so Ctrl-C in the terminal reaches only the
harness, which then stops every server it started (SIGTERM to the group, SIGKILL after
a grace period). Workers forked by a server (uvicorn's, Parse's cluster) share its group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

STOP_GRACE_SECONDS = 10


class ServerProcess:
    def __init__(self, name: str, command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("wb") as log:  # a fresh log per run: readiness checks read it
            self._popen = subprocess.Popen(
                list(command), env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self._popen.pid

    def alive(self) -> bool:
        return self._popen.poll() is None

    def member_pids(self) -> set[int]:
        """The server and its workers; a change during a run means a worker died and was replaced."""
        return {process.pid for process in self._members()}

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL whatever is left after the grace period."""
        group = self.pid  # the leader of a new session is its group's leader: pgid == pid
        members = self._members()
        self._signal_group(group, signal.SIGTERM)
        _, alive = psutil.wait_procs(members, timeout=STOP_GRACE_SECONDS)
        if alive or self._group_exists(group):
            # A cluster master can fork a replacement worker while it is being stopped.
            self._signal_group(group, signal.SIGKILL)
        try:
            self._popen.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pass

    def _members(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    @staticmethod
    def _signal_group(group: int, sig: signal.Signals) -> None:
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            pass

    @staticmethod
    def _group_exists(group: int) -> bool:
        time.sleep(0.1)
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
