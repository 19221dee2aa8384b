"""One run per out folder: the lock refuses a second holder at once and ends with its holder's process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.errors import UsageError
from pipeline.local.lock import LOCK_FILE, OutFolderBusy, out_folder_lock

# A process that takes the lock, starts a child that keeps every inheritable descriptor (close_fds=False:
# the launcher least careful about descriptors), says so on stdout, and waits to be killed.
HOLDER = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    from pipeline.local.lock import out_folder_lock

    with out_folder_lock(Path(sys.argv[1])):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], close_fds=False)
        print(child.pid, flush=True)
        time.sleep(600)
    """
)


def _start_holder(out: Path) -> tuple[subprocess.Popen, int]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    child_pid = int(holder.stdout.readline())  # printed once the lock is held
    return holder, child_pid


def test_a_second_holder_is_refused_at_once_and_told_who_holds_it(tmp_path):
    holder, child_pid = _start_holder(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(OutFolderBusy) as refused, out_folder_lock(tmp_path):
            pass
        assert time.monotonic() - started < 1  # no waiting for the holder
        message = str(refused.value)
        assert message.startswith(f"another run is using the out folder {tmp_path} (pid {holder.pid} on ")
        assert message.endswith("wait for it to finish or choose another --out")
        assert "\n" not in message
        assert isinstance(refused.value, UsageError)  # reported in one line with exit code 2
    finally:
        holder.kill()
        holder.wait()
        os.kill(child_pid, signal.SIGKILL)


def test_a_killed_holder_leaves_no_lock_even_while_its_child_lives(tmp_path):
    """GIVEN a holder whose child process is still running, WHEN the holder is killed with SIGKILL,
    THEN the next run takes the lock: the kernel dropped it, and the child never had the descriptor."""
    holder, child_pid = _start_holder(tmp_path)
    try:
        holder.kill()
        holder.wait()
        os.kill(child_pid, 0)  # still alive
        with out_folder_lock(tmp_path):
            recorded = json.loads((tmp_path / LOCK_FILE).read_text())
            assert recorded["pid"] == os.getpid()
    finally:
        os.kill(child_pid, signal.SIGKILL)


def test_the_lock_is_released_when_the_block_ends_even_by_an_exception(tmp_path):
    with pytest.raises(RuntimeError), out_folder_lock(tmp_path):
        raise RuntimeError("stage failed")
    with out_folder_lock(tmp_path):
        pass
    assert (tmp_path / LOCK_FILE).exists()  # kept: deleting it would let two runs lock two files


def test_an_unwritable_out_folder_is_a_usage_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError, match="cannot write to the out folder"), out_folder_lock(blocker):
        pass
