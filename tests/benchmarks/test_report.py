"""Tests for the benchmark tables."""

import pytest

from benchmarks import report
from tests.benchmarks import sample


def test_render_summary_states_each_target_and_verdict():
    markdown = report.render(sample.results())

    assert (
        "| 1 | Whole DAG / plain script, wall time, 1,000 images | 1.20x"
        in (markdown)
    )
    assert "2.00x -> 1.20x -> 1.10x | falling | met |" in markdown
    assert "| 75% (600 / 800 images/s) | >= 70% | met |" in markdown
    assert "| 50% (400 / 800 images/s) | (start-up: figure 3) |" in markdown
    assert "| 8% (5.0 s / 60 s) | <= 10% | met |" in markdown
    assert "| 1.10x (1,100 MB / 1,000 MB) | <= 1.2x | met |" in markdown
    assert "8.0 kB / 8.1 kB / 0.0 kB | each <= 1.5x raw | met |" in markdown


def test_render_summary_misses_ingestion_below_the_share():
    results = sample.results()
    results["ingestion"]["example_gen_s_by_size"]["10000"] = 30.0

    markdown = report.render(results)

    assert "| 56% (450 / 800 images/s) | >= 70% | **missed** |" in markdown


def test_render_summary_judges_the_whole_component_without_two_sizes():
    results = sample.results()
    del results["ingestion"]["example_gen_s_by_size"]

    markdown = report.render(results)

    assert "| 50% (400 / 800 images/s) | >= 70% | **missed** |" in markdown


def test_render_summary_passes_a_fast_whole_component_without_two_sizes():
    results = sample.results()
    del results["ingestion"]["example_gen_s_by_size"]
    results["ingestion"]["example_gen_s"] = 12.5

    markdown = report.render(results)

    assert "| 100% (800 / 800 images/s) | >= 70% | met |" in markdown


def test_render_summary_misses_examples_that_multiply_storage():
    results = sample.results()
    results["storage"]["examples"] = 80_000_000

    markdown = report.render(results)

    assert "8.0 kB / 80.0 kB / 0.0 kB | each <= 1.5x raw | **missed** |" in (
        markdown
    )


def test_render_summary_of_a_quick_run_judges_nothing():
    results = sample.results()
    results["plan"]["name"] = "quick"

    markdown = report.render(results)
    summary = markdown.split("### Summary", 1)[1].split("### 1.", 1)[0]

    assert "| 1.20x (60 s / 50 s) | <= 1.3x |  |" in summary
    assert "| 8% (5.0 s / 60 s) | <= 10% |  |" in summary
    assert "met" not in summary
    assert "missed" not in summary


def test_render_ingestion_shows_the_rate_beyond_the_fixed_cost():
    markdown = report.render(sample.results())

    assert "beyond the first 1,000 (from the 1,000 and 10,000" in markdown
    assert "runs) | 600 | 75% |" in markdown


def test_render_states_the_load_during_the_run():
    markdown = report.render(sample.results())

    assert "1.50 on average and 2.00 at most" in markdown


def test_render_says_which_sizes_ran_twice_and_which_once():
    markdown = report.render(sample.results())

    assert (
        "At 250, 1,000 images the script and the DAG ran 2 times, in turn; "
        "at 4,000 images once." in markdown
    )


def test_render_fits_print_no_negative_zero():
    results = sample.results()
    for row, seconds in zip(results["compare"], (0.02, 0.02, 0.01)):
        validator = [sample.component("ExampleValidator", seconds)]
        row["pipeline"]["result"]["components"] += validator

    markdown = report.render(results)

    assert "| ExampleValidator | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 |" in markdown
    assert "-0.0" not in markdown


def test_render_fits_fixed_and_per_image_cost_per_component():
    markdown = report.render(sample.results())

    assert "| Trainer | 12.5 | 20.0 | 50.0 | 10.0 | 10.0 |" in markdown


def test_render_leaves_out_what_a_run_did_not_measure():
    results = sample.results()
    del results["rerun"], results["memory"]
    results["compare"] = results["compare"][:1]

    markdown = report.render(results)

    assert "### 1. Whole DAG against the plain Keras script" in markdown
    assert "| 250 | generated frames | 20.0 s | 40.0 s | 2.00x |" in markdown
    assert "Unchanged rerun" not in markdown
    assert "Peak memory" not in markdown
    assert "falling" not in markdown


def test_write_replaces_only_the_generated_part(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(
        f"# Title\n\nBy hand.\n\n{report.START_MARK}\nold\n"
        f"{report.END_MARK}\n\n## Kept\n"
    )

    report.write(str(path), "new table")

    text = path.read_text()
    assert "old" not in text
    assert text.startswith("# Title\n\nBy hand.\n\n")
    assert "new table" in text
    assert text.endswith(f"{report.END_MARK}\n\n## Kept\n")


def test_write_appends_the_marks_to_a_file_without_them(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text("# Title\n")

    report.write(str(path), "table")

    assert path.read_text() == (
        f"# Title\n\n{report.START_MARK}\n\ntable\n{report.END_MARK}\n"
    )


def test_render_summary_misses_each_target_it_judges():
    results = sample.results()
    results["compare"][1]["pipeline"]["wall_s"] = 70.0
    results["compare"][2]["pipeline"]["wall_s"] = 300.0
    results["rerun"]["unchanged"]["wall_s"] = 7.0
    results["memory"][1]["run"]["peak_rss"] = 1_300_000_000

    markdown = report.render(results)

    assert "| 1.40x (70 s / 50 s) | <= 1.3x | **missed** |" in markdown
    assert "2.00x -> 1.40x -> 1.50x | falling | **missed** |" in markdown
    assert "| 12% (7.0 s / 60 s) | <= 10% | **missed** |" in markdown
    assert "| 1.30x (1,300 MB / 1,000 MB) | <= 1.2x | **missed** |" in (
        markdown
    )


def test_render_summary_judges_the_figure_as_printed():
    results = sample.results()
    results["compare"][1]["pipeline"]["wall_s"] = 65.2  # 1.304x

    markdown = report.render(results)

    assert "| 1.30x (65 s / 50 s) | <= 1.3x | met |" in markdown


@pytest.mark.parametrize(
    "marks",
    [
        f"{report.START_MARK}\nold\n",
        f"old\n{report.END_MARK}\n",
        f"{report.END_MARK}\nold\n{report.START_MARK}\n",
        f"{report.START_MARK}\n{report.END_MARK}\n{report.START_MARK}\n",
    ],
)
def test_write_refuses_damaged_marks_and_keeps_the_file(tmp_path, marks):
    path = tmp_path / "benchmarks.md"
    original = f"# Title\n\n{marks}\n## Kept by hand\n"
    path.write_text(original)

    with pytest.raises(ValueError, match="marks around the generated part"):
        report.write(str(path), "new table")

    assert path.read_text() == original
