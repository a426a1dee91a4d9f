"""Tests for measuring a task in a fresh interpreter."""

import sys

import pytest

from benchmarks import measure, metadata


def test_run_measures_wall_cpu_and_peak_memory(tmp_path):
    script = "x = bytearray(200 * 1024 * 1024); import time; time.sleep(0.3)"

    with open(tmp_path / "log", "w") as log:
        wall, cpu, peak = measure._run([sys.executable, "-c", script], log)

    assert wall >= 0.3
    assert cpu > 0
    assert peak > 200 * 1024 * 1024


def test_run_task_that_fails_names_its_log(tmp_path):
    log = tmp_path / "task.log"

    with pytest.raises(measure.TaskError, match="task.log ends with"):
        measure.run_task("no-such-task", {}, log_path=str(log))


def test_tree_bytes_counts_files_at_any_depth(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one").write_bytes(b"x" * 10)
    (tmp_path / "a" / "b" / "two").write_bytes(b"x" * 5)

    assert metadata.tree_bytes(str(tmp_path)) == 15
    assert metadata.tree_bytes(str(tmp_path / "a" / "one")) == 10
