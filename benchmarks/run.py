"""Benchmarks the pipeline against a plain Keras script; writes the tables.

`python benchmarks/run.py --quick` takes a few minutes on 2 cores; the
full run, whose tables are kept in docs/benchmarks.md, about 20 minutes.
Targets that are missed are reported in the table, never as a failure.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dataclasses  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import click  # noqa: E402

from benchmarks import data, measure, metadata, report  # noqa: E402

logger = logging.getLogger("benchmarks")

DOC = os.path.join(data.REPO_ROOT, "docs", "benchmarks.md")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one benchmark run measures, and with which training settings.

    Attributes:
      name: `quick` or `full`.
      sizes: image counts at which the DAG and the script are compared.
      target_size: the size the 1.3x target applies to; one of `sizes`.
      rerun_size: the size whose first run is rerun unchanged, then grown.
      memory_sizes: the two sizes whose ingestion-to-Transform peak memory
        is compared; the larger also gives the ingestion rate.
      storage_size: the size whose bytes on disk are reported; one of
        `sizes`, best with distinct images (repeated photos compress).
      image_size, batch_size, epochs, split, seed: training settings, the
        same for both sides.
      repeats: how often the script and the DAG run, in turn, at each
        size, and how often the unchanged rerun, ingestion and the decode
        loops run; the fastest run of each is reported, the one least
        disturbed by other load on the machine.
    """

    name: str
    sizes: tuple[int, ...]
    target_size: int
    rerun_size: int
    memory_sizes: tuple[int, int]
    storage_size: int
    image_size: int
    epochs: int
    batch_size: int = 32
    split: float = 0.2
    seed: int = 42
    repeats: int = 1


QUICK = Plan(
    name="quick",
    sizes=(100, 250),
    target_size=250,
    rerun_size=250,
    memory_sizes=(250, 1000),
    storage_size=250,
    image_size=64,
    epochs=1,
)
FULL = Plan(
    name="full",
    sizes=(250, 1000, 4000),
    target_size=1000,
    rerun_size=1000,
    memory_sizes=(1000, 10000),
    storage_size=250,
    image_size=128,
    epochs=3,
    repeats=3,
)
GROWTH = 0.01  # The rerun after adding this fraction of new images.


class Runner:
    """Runs the measured tasks of a plan under one working folder."""

    def __init__(self, plan: Plan, workdir: str):
        self.plan = plan
        self.workdir = workdir
        self.logs = os.path.join(workdir, "logs")
        self.loads: list[float] = []  # 1-minute load before each task.
        os.makedirs(self.logs, exist_ok=True)

    def image_set(self, count: int) -> data.ImageSet:
        image_set = data.prepare(self.workdir, count)
        data.warm(image_set.image_dir)
        return image_set

    def measure(self, task: str, config: dict, label: str) -> dict:
        self.loads.append(os.getloadavg()[0])
        logger.info("Measuring %s (load %.2f).", label, self.loads[-1])
        log = os.path.join(self.logs, f"{label}.log")
        result = measure.run_task(task, config, log_path=log)
        logger.info(
            "%s: %.1f s wall, %.1f s CPU, %.0f MB peak.",
            label,
            result.wall_s,
            result.cpu_s,
            result.peak_rss / 1e6,
        )
        return dataclasses.asdict(result)

    def baseline(self, image_set: data.ImageSet, label: str) -> dict:
        plan = self.plan
        config = {
            "image_dir": image_set.image_dir,
            "export_dir": os.path.join(self.workdir, label),
            "image_size": plan.image_size,
            "batch_size": plan.batch_size,
            "epochs": plan.epochs,
            "seed": plan.seed,
            "split": plan.split,
        }
        return self.measure("baseline", config, label)

    def settings(self, image_set: data.ImageSet, name: str) -> dict:
        plan = self.plan
        return {
            "image_dir": image_set.image_dir,
            "model_name": name,
            "model_basedir": os.path.join(self.workdir, name, "models"),
            "pipeline_root": os.path.join(self.workdir, name, "root"),
            "image_size": plan.image_size,
            "batch_size": plan.batch_size,
            "epochs": plan.epochs,
            "seed": plan.seed,
            "split": plan.split,
            # Every run pushes, so every run does the same work.
            "min_auc": 0.0,
        }


def compare(runner: Runner) -> list[dict]:
    """The script and the whole DAG at each size, side by side."""
    rows = []
    for count in runner.plan.sizes:
        image_set = runner.image_set(count)
        tries = runner.plan.repeats
        scripts, dags = [], []
        for attempt in range(tries):
            suffix = f"-{attempt + 1}" if attempt else ""
            scripts.append(
                runner.baseline(image_set, f"script-{count}{suffix}")
            )
            name = f"dag-{count}{suffix}"
            dags.append(
                runner.measure(
                    "pipeline", runner.settings(image_set, name), name
                )
            )
        rows.append(
            {
                "images": count,
                "source": image_set.source,
                "tries": tries,
                "baseline": _fastest(scripts),
                "pipeline": _fastest(dags),
                "image_dir": image_set.image_dir,
                # The rerun reuses the first DAG run's pipeline root.
                "settings": runner.settings(image_set, f"dag-{count}"),
            }
        )
    return rows


def memory(runner: Runner) -> list[dict]:
    """Ingestion to Transform at the two memory sizes, fresh roots."""
    rows = []
    for count in runner.plan.memory_sizes:
        image_set = runner.image_set(count)
        runs = []
        for attempt in range(runner.plan.repeats):
            name = f"ingest-{count}" + (f"-{attempt + 1}" if attempt else "")
            runs.append(
                runner.measure("ingest", runner.settings(image_set, name), name)
            )
        rows.append(
            {
                "images": count,
                "source": image_set.source,
                "image_dir": image_set.image_dir,
                "tries": len(runs),
                "run": _fastest(runs),
                # The ingestion rate's own fastest run, which need not be
                # the fastest run of the whole partial DAG.
                "example_gen_s": min(_example_gen_seconds(r) for r in runs),
            }
        )
    return rows


def ingestion(runner: Runner, memory_rows: list[dict]) -> dict:
    """ExampleGen's rate at the memory sizes against plain decode loops."""
    row = memory_rows[-1]
    cores = len(os.sched_getaffinity(0))
    config = {"image_dir": row["image_dir"], "workers": cores}
    limit = max(
        (
            runner.measure("decode", config, f"decode-{row['images']}-{n + 1}")
            for n in range(runner.plan.repeats)
        ),
        key=lambda m: max(m["result"]["images_per_s"].values()),
    )
    return {
        "images": row["images"],
        "example_gen_s": row["example_gen_s"],
        "example_gen_s_by_size": {
            str(r["images"]): r["example_gen_s"] for r in memory_rows
        },
        "limit": limit["result"]["images_per_s"],
    }


def _example_gen_seconds(run: dict) -> float:
    return sum(
        c["seconds"]
        for c in run["result"]["components"]
        if c["component"].endswith("ExampleGen")
    )


def rerun(runner: Runner, compare_rows: list[dict]) -> dict:
    """The first run at the rerun size again, unchanged, then grown by 1 %."""
    count = runner.plan.rerun_size
    row = next(r for r in compare_rows if r["images"] == count)
    settings, name = row["settings"], f"dag-{count}"
    reruns = [
        runner.measure("pipeline", settings, f"{name}-rerun-{n + 1}")
        for n in range(runner.plan.repeats)
    ]
    result = {
        "images": count,
        "first": row["pipeline"],
        "unchanged": _fastest(reruns),
        "tries": len(reruns),
    }
    image_set = data.prepare(runner.workdir, count)
    result["added"] = max(1, round(count * GROWTH))
    data.add_images(image_set, result["added"])
    result["grown"] = runner.measure("pipeline", settings, f"{name}-grown")
    return result


def _fastest(runs: list[dict]) -> dict:
    """The run least disturbed by other load: the one with the least wall."""
    return min(runs, key=lambda m: m["wall_s"])


def storage(compare_rows: list[dict], count: int) -> dict:
    """Bytes of raw images, examples and Transform outputs at one size."""
    row = next(r for r in compare_rows if r["images"] == count)
    outputs = {
        c["component"]: c["outputs"]
        for c in row["pipeline"]["result"]["components"]
    }
    examples = next(v for k, v in outputs.items() if k.endswith("ExampleGen"))
    transform = outputs.get("Transform", {})
    return {
        "images": count,
        "raw": metadata.tree_bytes(row["image_dir"]),
        "examples": examples["examples"],
        "transform": {
            k: v
            for k, v in transform.items()
            if k in ("transform_graph", "transformed_examples")
        },
    }


def run_plan(plan: Plan, workdir: str) -> dict:
    """Runs every measurement of `plan`; returns the results to render."""
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    date = report.now()
    runner = Runner(plan, workdir)
    results: dict = {"plan": dataclasses.asdict(plan)}
    results["compare"] = compare(runner)
    results["memory"] = memory(runner)
    results["ingestion"] = ingestion(runner, results["memory"])
    results["storage"] = storage(results["compare"], plan.storage_size)
    results["rerun"] = rerun(runner, results["compare"])
    results["machine"] = report.machine()
    results["conditions"] = {
        "started": date,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "loads": runner.loads,
        "minutes": (time.perf_counter() - started) / 60,
    }
    return results


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--quick",
    is_flag=True,
    help="Small sizes (100 to 1,000 images), 64 px, 1 epoch, one try of "
    "each: about 2 minutes on 2 cores. Default: the full run (250 to "
    "10,000 images, about 20 minutes).",
)
@click.option(
    "--workdir",
    default=None,
    help="A new or empty folder for image sets, pipeline roots, task logs "
    "and results.json; kept afterwards. Default: a temporary folder, "
    "deleted at the end.",
)
@click.option(
    "--output",
    default=None,
    help="Markdown file whose generated part is replaced by the results; "
    "'' only prints. Default: docs/benchmarks.md for a full run; a quick "
    "run only prints.",
)
@click.option(
    "--from-results",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Render a results.json of an earlier run instead of measuring; "
    "its own plan (quick or full) decides the default --output.",
)
def main(
    quick: bool, workdir: str | None, output: str | None, from_results
) -> None:
    """Measures the pipeline against a plain Keras script; prints tables."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if from_results:
        if quick or workdir is not None:
            raise click.UsageError(
                "--from-results renders a saved run; --quick and --workdir "
                "apply only to a new one."
            )
        results = load_results(from_results)
        target = _target(output, results["plan"]["name"])
        _check_output(target)
        _publish(results, target, source=from_results)
        return

    plan = QUICK if quick else FULL
    target = _target(output, plan.name)
    _check_output(target)
    keep = workdir is not None
    if keep:
        _check_workdir(workdir)
    else:
        workdir = tempfile.mkdtemp(prefix="symbol-benchmarks-")
    saved = os.path.join(workdir, "results.json")
    published = False
    try:
        results = _measure(plan, workdir)
        with open(saved, "w") as f:
            json.dump(results, f, indent=2)
        _publish(results, target, source=saved)
        published = True
    finally:
        if os.path.exists(saved) and not published:
            logger.error(
                "The measured results are kept in %s; render them again "
                "with --from-results.",
                saved,
            )
        elif not keep:
            shutil.rmtree(workdir, ignore_errors=True)


RESULT_KEYS = (
    "plan",
    "compare",
    "memory",
    "ingestion",
    "storage",
    "rerun",
    "machine",
    "conditions",
)


def load_results(path: str) -> dict:
    """The results.json an earlier run kept, checked before rendering.

    Raises:
      click.ClickException: naming the file, if it is not JSON or lacks a
        part of the results.
    """
    try:
        with open(path) as f:
            results = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise click.ClickException(
            f"{path}: not a results.json of benchmarks/run.py ({e})."
        ) from e
    missing = (
        [k for k in RESULT_KEYS if not results.get(k)]
        if isinstance(results, dict)
        else list(RESULT_KEYS)
    )
    if missing:
        raise click.ClickException(
            f"{path}: not a results.json of benchmarks/run.py; it lacks "
            f"{', '.join(missing)}."
        )
    return results


# What rendering a damaged results.json raises.
RENDER_ERRORS = (
    KeyError,
    TypeError,
    AttributeError,
    ValueError,
    ZeroDivisionError,
)


def _target(output: str | None, plan_name: str) -> str:
    """Where the tables go: --output, else the docs for a full run only."""
    if output is not None:
        return output
    return DOC if plan_name == FULL.name else ""


def _publish(results: dict, output: str, *, source: str) -> None:
    """Prints the tables and writes them into `output`, if one is given."""
    try:
        markdown = report.render(results)
    except RENDER_ERRORS as e:
        raise click.ClickException(
            f"{source}: the results cannot be rendered "
            f"({type(e).__name__}: {e})."
        ) from e
    click.echo(markdown)
    if not output:
        return
    try:
        report.write(output, markdown)
    except (OSError, ValueError) as e:
        raise click.ClickException(f"Cannot write {output}: {e}") from e
    logger.info("Wrote the results into %s.", output)


def _check_output(output: str) -> None:
    """Refuses, before anything is measured, a file the tables cannot go to."""
    if not output:
        return
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise click.BadParameter(
            f"{output!r}: its folder {folder!r} does not exist.",
            param_hint="--output",
        )
    if os.path.isdir(output):
        raise click.BadParameter(
            f"{output!r} is a folder, not a file.", param_hint="--output"
        )
    if not os.access(output if os.path.exists(output) else folder, os.W_OK):
        raise click.BadParameter(
            f"{output!r} cannot be written.", param_hint="--output"
        )
    try:
        report.check_marks(output)
    except (OSError, ValueError) as e:
        raise click.BadParameter(str(e), param_hint="--output") from e


def _check_workdir(workdir: str) -> None:
    """Creates the workdir; refuses one that is a file or holds anything.

    A second run in the same folder would find its pipeline roots cached,
    measure cache hits as first runs, and overwrite the earlier logs.
    """
    if not workdir:
        raise click.BadParameter("an empty path.", param_hint="--workdir")
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise click.BadParameter(
            f"{workdir!r} is a file, not a folder.", param_hint="--workdir"
        )
    if os.path.isdir(workdir) and os.listdir(workdir):
        raise click.BadParameter(
            f"{workdir!r} is not empty: it may hold an earlier run, whose "
            "cached pipelines would be measured instead of new runs. Give a "
            "new or empty folder.",
            param_hint="--workdir",
        )
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as e:
        raise click.BadParameter(
            f"{workdir!r} cannot be created ({e.strerror or e}).",
            param_hint="--workdir",
        ) from e
    if not os.access(workdir, os.W_OK):
        raise click.BadParameter(
            f"{workdir!r} cannot be written.", param_hint="--workdir"
        )


def _measure(plan: Plan, workdir: str) -> dict:
    logger.info("Running the %s benchmarks in %s.", plan.name, workdir)
    try:
        return run_plan(plan, workdir)
    except measure.TaskError as e:
        raise click.ClickException(str(e)) from e


if __name__ == "__main__":
    main()
