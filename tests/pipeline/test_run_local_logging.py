"""The local runner's log filter: our lines, and errors that say something."""

import logging

import pytest

from pipeline import run_local


def _record(name: str, level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, (), None)


@pytest.mark.parametrize(
    "name, level, message, shown",
    [
        ("components.example_gen.executor", logging.INFO, "Listed 3", True),
        ("pipeline.summary", logging.WARNING, "Not blessed", True),
        ("absl", logging.INFO, "Component Trainer is running.", False),
        ("absl", logging.WARNING, "property_predicate", False),
        ("absl", logging.ERROR, "Execution 7 failed.", False),
        ("absl", logging.ERROR, "Execution 7 failed: disk full", True),
        ("apache_beam.runners", logging.ERROR, "Worker crashed", True),
    ],
)
def test_run_local_log_filter_keeps_ours_and_telling_errors(
    name, level, message, shown
):
    assert run_local._ours_or_errors(_record(name, level, message)) is shown
