"""Tests for the benchmark runner's command line (no measuring)."""

import json

import pytest
from click.testing import CliRunner

from benchmarks import run
from tests.benchmarks import sample


@pytest.fixture
def doc(tmp_path, monkeypatch):
    """docs/benchmarks.md stand-in: the file a full run writes by default."""
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\nBy hand.\n")
    monkeypatch.setattr(run, "DOC", str(path))
    return path


def _saved(tmp_path, name: str, results: dict):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(results))
    return path


def test_rendering_quick_results_leaves_the_docs_alone(tmp_path, doc):
    results = sample.results()
    results["plan"]["name"] = "quick"
    saved = _saved(tmp_path, "quick", results)

    outcome = CliRunner().invoke(run.main, ["--from-results", str(saved)])

    assert outcome.exit_code == 0, outcome.output
    assert "### Run: quick" in outcome.output
    assert doc.read_text() == "# Benchmarks\n\nBy hand.\n"


def test_rendering_full_results_writes_the_docs(tmp_path, doc):
    saved = _saved(tmp_path, "full", sample.results())

    outcome = CliRunner().invoke(run.main, ["--from-results", str(saved)])

    assert outcome.exit_code == 0, outcome.output
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nBy hand.\n")
    assert "### Run: full, 2026-01-01 00:00" in text


def test_rendering_names_a_file_that_is_not_json(tmp_path, doc):
    saved = tmp_path / "results.json"
    saved.write_text("{not json")

    outcome = CliRunner().invoke(run.main, ["--from-results", str(saved)])

    assert outcome.exit_code == 1
    assert f"{saved}: not a results.json of benchmarks/run.py" in (
        outcome.output
    )


def test_rendering_names_the_parts_a_file_lacks(tmp_path, doc):
    results = sample.results()
    del results["rerun"], results["machine"]
    saved = _saved(tmp_path, "partial", results)

    outcome = CliRunner().invoke(run.main, ["--from-results", str(saved)])

    assert outcome.exit_code == 1
    assert "it lacks rerun, machine." in outcome.output
    assert doc.read_text() == "# Benchmarks\n\nBy hand.\n"


def test_rendering_refuses_options_of_a_new_run(tmp_path, doc):
    saved = _saved(tmp_path, "full", sample.results())

    outcome = CliRunner().invoke(
        run.main, ["--from-results", str(saved), "--quick"]
    )

    assert outcome.exit_code == 2
    assert "--quick and --workdir apply only to a new one" in outcome.output


def test_measuring_refuses_a_workdir_that_holds_files(tmp_path, monkeypatch):
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "results.json").write_text("{}")
    monkeypatch.setattr(run, "run_plan", _must_not_measure)

    outcome = CliRunner().invoke(
        run.main, ["--quick", "--workdir", str(workdir)]
    )

    assert outcome.exit_code == 2
    assert "is not empty" in outcome.output
    assert (workdir / "results.json").read_text() == "{}"


def test_measuring_refuses_a_workdir_that_is_a_file(tmp_path, monkeypatch):
    workdir = tmp_path / "work"
    workdir.write_text("mine")
    monkeypatch.setattr(run, "run_plan", _must_not_measure)

    outcome = CliRunner().invoke(
        run.main, ["--quick", "--workdir", str(workdir)]
    )

    assert outcome.exit_code == 2
    assert "is a file, not a folder" in outcome.output
    assert workdir.read_text() == "mine"


def test_measuring_refuses_an_output_in_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "run_plan", _must_not_measure)
    output = tmp_path / "missing" / "out.md"

    outcome = CliRunner().invoke(run.main, ["--quick", "--output", str(output)])

    assert outcome.exit_code == 2
    assert "does not exist" in outcome.output


def test_measuring_keeps_results_in_an_empty_workdir(
    tmp_path, monkeypatch, doc
):
    workdir = tmp_path / "work"
    workdir.mkdir()
    results = sample.results()
    results["plan"]["name"] = "quick"
    monkeypatch.setattr(run, "run_plan", lambda plan, folder: results)

    outcome = CliRunner().invoke(
        run.main, ["--quick", "--workdir", str(workdir)]
    )

    assert outcome.exit_code == 0, outcome.output
    kept = json.loads((workdir / "results.json").read_text())
    assert kept["plan"]["target_size"] == 1000
    assert doc.read_text() == "# Benchmarks\n\nBy hand.\n"


def _must_not_measure(plan, workdir):
    raise AssertionError("measured despite a refused option")


def test_rendering_names_the_file_whose_results_are_damaged(tmp_path, doc):
    results = sample.results()
    del results["compare"][0]["baseline"]
    saved = _saved(tmp_path, "damaged", results)

    outcome = CliRunner().invoke(run.main, ["--from-results", str(saved)])

    assert outcome.exit_code == 1
    assert f"{saved}: the results cannot be rendered (KeyError" in (
        outcome.output
    )
    assert doc.read_text() == "# Benchmarks\n\nBy hand.\n"


def test_measured_results_are_kept_when_writing_fails(tmp_path, monkeypatch):
    workdir = tmp_path / "temporary"
    workdir.mkdir()
    monkeypatch.setattr(run.tempfile, "mkdtemp", lambda prefix: str(workdir))
    monkeypatch.setattr(run, "run_plan", lambda plan, folder: sample.results())

    def fail(path, markdown):
        raise OSError("disk full")

    monkeypatch.setattr(run.report, "write", fail)
    output = tmp_path / "out.md"

    outcome = CliRunner().invoke(run.main, ["--quick", "--output", str(output)])

    assert outcome.exit_code == 1
    assert f"Cannot write {output}: disk full" in outcome.output
    kept = json.loads((workdir / "results.json").read_text())
    assert kept["plan"]["name"] == "full"


def test_measuring_removes_its_temporary_folder_once_written(
    tmp_path, monkeypatch
):
    workdir = tmp_path / "temporary"
    workdir.mkdir()
    monkeypatch.setattr(run.tempfile, "mkdtemp", lambda prefix: str(workdir))
    monkeypatch.setattr(run, "run_plan", lambda plan, folder: sample.results())
    output = tmp_path / "out.md"

    outcome = CliRunner().invoke(run.main, ["--quick", "--output", str(output)])

    assert outcome.exit_code == 0, outcome.output
    assert "### Run: full" in output.read_text()
    assert not workdir.exists()


@pytest.mark.parametrize(
    "option, make, message",
    [
        ("--workdir", lambda tmp: "", "an empty path"),
        (
            "--workdir",
            lambda tmp: str(_file(tmp) / "below"),
            "cannot be created",
        ),
        ("--output", lambda tmp: str(tmp), "is a folder, not a file"),
        (
            "--output",
            lambda tmp: str(_damaged(tmp)),
            "marks around the generated part",
        ),
    ],
)
def test_measuring_refuses_a_path_it_cannot_use(
    tmp_path, monkeypatch, option, make, message
):
    monkeypatch.setattr(run, "run_plan", _must_not_measure)

    outcome = CliRunner().invoke(run.main, ["--quick", option, make(tmp_path)])

    assert outcome.exit_code == 2
    assert message in outcome.output


def _file(folder):
    path = folder / "a-file"
    path.write_text("mine")
    return path


def _damaged(folder):
    path = folder / "damaged.md"
    path.write_text(f"# Title\n\n{run.report.START_MARK}\nold\n")
    return path
