"""Results of a made-up full benchmark run, for rendering tests."""


def _run(wall: float, peak: int, components=None, **result) -> dict:
    return {
        "wall_s": wall,
        "cpu_s": wall * 0.9,
        "peak_rss": peak,
        "result": {"components": components or [], **result},
    }


def component(name: str, seconds: float, state="ran", outputs=None):
    return {
        "component": name,
        "seconds": seconds,
        "state": state,
        "outputs": outputs or {},
    }


def _compare_row(images: int, script_s: float, dag_s: float) -> dict:
    components = [
        component("ClassDirExampleGen", 1 + images / 1000),
        component("Trainer", 10 + images / 100),
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


def results() -> dict:
    cached = [component("Trainer", 0.1, state="cached")]
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
