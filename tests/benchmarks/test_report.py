"""Tests for the benchmark tables."""

from benchmarks import report


def _run(wall: float, peak: int, components=None, **result) -> dict:
    return {
        "wall_s": wall,
        "cpu_s": wall * 0.9,
        "peak_rss": peak,
        "result": {"components": components or [], **result},
    }


def _component(name: str, seconds: float, state="ran", outputs=None):
    return {
        "component": name,
        "seconds": seconds,
        "state": state,
        "outputs": outputs or {},
    }


def _compare_row(images: int, script_s: float, dag_s: float) -> dict:
    components = [
        _component("ClassDirExampleGen", 1 + images / 1000),
        _component("Trainer", 10 + images / 100),
    ]
    return {
        "images": images,
        "source": "generated frames",
        "tries": 2 if images <= 1000 else 1,
        "baseline": _run(script_s, 1_000_000_000, import_s=3, fit_s=9),
        "pipeline": _run(
            dag_s, 1_500_000_000, components, import_s=9, run_s=dag_s - 9
        ),
    }


def _results() -> dict:
    cached = [_component("Trainer", 0.1, state="cached")]
    return {
        "plan": {
            "name": "full",
            "target_size": 1000,
            "image_size": 128,
            "batch_size": 32,
            "epochs": 3,
            "split": 0.2,
            "seed": 42,
        },
        "machine": {
            "cores": 2,
            "memory_gb": 25.0,
            "processor": "test cpu",
            "system": "Linux",
            "python": "3.10.13",
            "packages": {"tfx": "1.16.0"},
        },
        "conditions": {
            "started": "2026-01-01 00:00",
            "load_before": 0.5,
            "load_after": 1.5,
            "minutes": 30.0,
            "loads": [1.0, 2.0],
        },
        "compare": [
            _compare_row(250, 20.0, 40.0),
            _compare_row(1000, 50.0, 60.0),
            _compare_row(4000, 200.0, 220.0),
        ],
        "ingestion": {
            "images": 10000,
            "example_gen_s": 25.0,
            "example_gen_s_by_size": {"1000": 10.0, "10000": 25.0},
            "limit": {"pil_loop": 400.0, "tf_data_parallel": 800.0},
        },
        "rerun": {
            "images": 1000,
            "added": 10,
            "first": _run(60.0, 1),
            "unchanged": _run(5.0, 1, cached),
            "grown": _run(58.0, 1),
        },
        "memory": [
            {"images": 1000, "source": "s", "run": _run(30, 1_000_000_000)},
            {"images": 10000, "source": "s", "run": _run(90, 1_100_000_000)},
        ],
        "storage": {
            "images": 1000,
            "raw": 8_000_000,
            "examples": 8_100_000,
            "transform": {"transform_graph": 25_000},
        },
    }


def test_render_summary_states_each_target_and_verdict():
    markdown = report.render(_results())

    assert (
        "| 1 | Whole DAG / plain script, wall time, 1,000 images | 1.20x"
        in (markdown)
    )
    assert "2.00x -> 1.20x -> 1.10x | falling | met |" in markdown
    assert "| 75% (600 / 800 images/s) | >= 70% | met |" in markdown
    assert "| 50% (400 / 800 images/s) | (start-up: figure 3) |" in markdown
    assert "| 8% (5.0 s / 60 s) | <= 10% | met |" in markdown
    assert "| 1.10x (1,100 MB / 1,000 MB) | <= 1.2x | met |" in markdown
    assert "8.0 kB / 8.1 kB / 0.0 kB | no multiplication | met |" in markdown


def test_render_summary_misses_ingestion_below_the_share():
    results = _results()
    results["ingestion"]["example_gen_s_by_size"]["10000"] = 30.0

    markdown = report.render(results)

    assert "| 56% (450 / 800 images/s) | >= 70% | **missed** |" in markdown


def test_render_summary_judges_the_whole_component_without_two_sizes():
    results = _results()
    del results["ingestion"]["example_gen_s_by_size"]

    markdown = report.render(results)

    assert "| 50% (400 / 800 images/s) | >= 70% | **missed** |" in markdown


def test_render_ingestion_shows_the_rate_beyond_the_fixed_cost():
    markdown = report.render(_results())

    assert "beyond the first 1,000 (from the 1,000 and 10,000" in markdown
    assert "runs) | 600 | 75% |" in markdown


def test_render_states_the_load_during_the_run():
    markdown = report.render(_results())

    assert "1.50 on average and 2.00 at most" in markdown


def test_render_says_which_sizes_ran_twice():
    markdown = report.render(_results())

    assert "At 250, 1,000 images the script and the DAG ran 2 times" in (
        markdown
    )


def test_render_fits_fixed_and_per_image_cost_per_component():
    markdown = report.render(_results())

    assert "| Trainer | 12.5 | 20.0 | 50.0 | 10.0 | 10.0 |" in markdown


def test_render_leaves_out_what_a_run_did_not_measure():
    results = _results()
    del results["rerun"], results["memory"]
    results["compare"] = results["compare"][:1]

    markdown = report.render(results)

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
