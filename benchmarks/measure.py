"""Runs one benchmark task in a fresh interpreter: wall, CPU, peak memory.

Peak memory is the largest memory of the task's whole process tree (pages
shared by forked workers counted once), polled while it runs, or the
kernel's own peak for the task process when that is larger (it also
catches spikes between two polls).
"""

import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import psutil

POLL_S = 0.05
TASKS_SCRIPT = os.path.join(os.path.dirname(__file__), "tasks.py")


@dataclasses.dataclass(frozen=True)
class Measurement:
    """What one task cost, seen from outside, and what it reported."""

    wall_s: float  # Interpreter start to exit, imports included.
    cpu_s: float  # User plus system time of the task and its children.
    peak_rss: int  # Bytes.
    result: dict  # The task's own JSON result.


class TaskError(RuntimeError):
    """A benchmark task exited with an error; the message has its log."""


def run_task(task: str, config: dict, *, log_path: str) -> Measurement:
    """Runs `benchmarks/tasks.py <task>` with `config` and measures it.

    Args:
      task: a task name of `tasks.py`: baseline, pipeline, ingest, decode.
      config: the task's JSON settings.
      log_path: where the task's stdout and stderr go.

    Returns:
      The measurement and the task's result.

    Raises:
      TaskError: if the task fails; names the log and quotes its end.
    """
    with tempfile.TemporaryDirectory() as tmp:
        result_path = os.path.join(tmp, "result.json")
        command = [
            sys.executable,
            TASKS_SCRIPT,
            task,
            "--config",
            json.dumps(config),
            "--result",
            result_path,
        ]
        with open(log_path, "w") as log:
            wall, cpu, polled = _run(command, log)
        if not os.path.exists(result_path):
            raise TaskError(
                f"Task {task} failed; its log {log_path} ends with:\n"
                + _tail(log_path)
            )
        with open(result_path) as f:
            result = json.load(f)
    peak = max(polled, result.get("max_rss", 0))
    return Measurement(wall_s=wall, cpu_s=cpu, peak_rss=peak, result=result)


def _run(command: list[str], log) -> tuple[float, float, int]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = psutil.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process))
        time.sleep(POLL_S)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    return wall, cpu, peak


def _tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process tree, shared pages counted once.

    Forked workers (ingestion's decoders) share their parent's pages, so
    each child adds only its own private pages (USS). Those take a walk of
    the child's memory map to count; the parent's resident set is cheap to
    read, which matters at one poll every POLL_S during training.
    """
    try:
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            total += _private(child)
    except psutil.Error:
        return 0  # A process ended between listing and reading.
    return total


def _private(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().uss
    except (AttributeError, psutil.AccessDenied):  # No USS on this system.
        return process.memory_info().rss


def _tail(path: str, lines: int = 30) -> str:
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def self_max_rss() -> int:
    """Peak resident set of this process and its finished children, bytes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024  # Linux reports kilobytes.
