"""The kernel warm-up process started by this process, waited for before the kernels run.

Separate from :mod:`.kernel_warmup` so that the callers of the kernels can check it
without importing that module (which imports them).
"""
import subprocess
import threading
from typing import List

#: warm-up processes started by this process and not waited for yet
PROCESSES: List[subprocess.Popen] = []
# the scorers' threads may all arrive here at once: one waits, the others wait for it
_LOCK = threading.Lock()


def wait_for_warmup(timeout: float = 600.0) -> None:
    """Let a running warm-up finish: compiling the same kernels here too would only compete
    with it for the cores. If it takes longer than ``timeout`` seconds, go on without it.
    Safe to call from several threads at once."""
    with _LOCK:
        while PROCESSES:
            try:
                PROCESSES[0].wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            PROCESSES.pop(0)
