"""End-to-end runs of the real local DAG on small generated frames."""

import csv
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata

from pipeline import run_local, sample_data
from pipeline.config import PipelineSettings
from pipeline.pipeline import metadata_path

pytestmark = pytest.mark.e2e

FAST = {"epochs": 1, "image_size": 32, "batch_size": 16}
SCHEMA = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "schemas",
    "class_dirs",
    "schema.pbtxt",
)


@pytest.fixture(scope="module")
def class_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("class_run")
    images = sample_data.write_class_dirs(root / "images", count=40)
    settings = PipelineSettings(
        image_dir=str(images),
        model_name="e2e-classes",
        model_basedir=str(root / "models"),
        schema_path=SCHEMA,
        min_auc=0.0,
        **FAST,
    )
    return settings, run_local.run(settings)


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv_run")
    csv_path = sample_data.write_labels_csv(root, count=48)
    _add_rare_label(csv_path)
    settings = PipelineSettings(
        image_dir=str(root),
        labels_csv=str(csv_path),
        model_name="e2e-labels",
        model_basedir=str(root / "models"),
        min_auc=0.0,
        **FAST,
    )
    return settings, run_local.run(settings)


def _add_rare_label(csv_path) -> None:
    """A third label with a prevalence far from the others' (1 in 4)."""
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    rows[0].append("rare_visible")
    for i, row in enumerate(rows[1:]):
        row.append("1" if i % 4 == 0 else "0")
    with open(csv_path, "w", newline="") as f:
        csv.writer(f).writerows(rows)


def _artifact_dir(settings, component: str, output: str) -> str:
    paths = glob.glob(os.path.join(settings.root, component, output, "*"))
    return max(paths, key=lambda p: int(os.path.basename(p)))


def _eval_records(settings) -> list[tf.train.Example]:
    examples_dir = glob.glob(os.path.join(settings.root, "*ExampleGen"))[0]
    files = glob.glob(
        os.path.join(
            _artifact_dir(settings, os.path.basename(examples_dir), "examples"),
            "Split-eval",
            "data_tfrecord-*",
        )
    )
    dataset = tf.data.TFRecordDataset(files)
    return [tf.train.Example.FromString(r.numpy()) for r in dataset]


def _refuse_constant(name: str):
    raise ValueError(f"model.json holds {name}, which is not JSON")


def test_class_dirs_run_pushes_binary_model_with_model_json(class_run):
    settings, report = class_run

    version_dir = report["pushed_to"]
    assert os.path.dirname(version_dir) == settings.serving_dir
    assert os.path.isfile(os.path.join(version_dir, "saved_model.pb"))
    with open(os.path.join(version_dir, "model.json")) as f:
        # Strict JSON: NaN or Infinity would break other languages' parsers.
        model_json = json.load(f, parse_constant=_refuse_constant)
    assert model_json["labels"] == ["pentagram"]
    assert model_json["weights"] is None  # small_cnn starts from random.
    assert model_json["positive_class"] == "pentagram"
    assert model_json["classes"] == ["no_pentagram", "pentagram"]
    assert model_json["image_size"] == 32
    assert model_json["backbone"] == "small_cnn"
    assert model_json["blessed"] is True
    counts = model_json["examples"]
    assert counts["train"]["_total"] + counts["eval"]["_total"] == 40
    eval_count = model_json["metrics"]["pentagram"]["example_count"]
    assert eval_count == counts["eval"]["_total"]


def test_class_dirs_serving_default_scores_image_files(class_run):
    settings, report = class_run
    files = sorted(glob.glob(os.path.join(settings.image_dir, "*", "*.jpg")))
    image_bytes = tf.constant([open(f, "rb").read() for f in files[:3]])

    model = tf.saved_model.load(report["pushed_to"])
    scores = model.signatures["serving_default"](image_bytes=image_bytes)

    assert set(scores) == {"pentagram"}
    values = scores["pentagram"].numpy()
    assert values.shape == (3,)
    assert ((values >= 0) & (values <= 1)).all()


def test_csv_run_pushes_model_with_one_output_per_label(csv_run):
    settings, report = csv_run
    png = glob.glob(
        os.path.join(settings.image_dir, "frames", "**", "*.png"),
        recursive=True,
    )[0]

    model = tf.saved_model.load(report["pushed_to"])
    scores = model.signatures["serving_default"](
        image_bytes=tf.constant([open(png, "rb").read()])
    )

    assert set(scores) == {"pentagram", "star", "rare"}
    assert all(0 <= float(v.numpy()[0]) <= 1 for v in scores.values())
    assert report["labels"] == ["pentagram", "star", "rare"]


def test_csv_run_scores_each_label_against_its_own_column(csv_run):
    settings, report = csv_run
    records = _eval_records(settings)
    model = tf.saved_model.load(
        os.path.join(
            _artifact_dir(settings, "Trainer", "model"), "Format-Serving"
        )
    )
    outputs = model.signatures["serving_examples"](
        examples=tf.constant([r.SerializeToString() for r in records])
    )

    for label in ("pentagram", "star", "rare"):
        truth = np.array(
            [
                r.features.feature[f"{label}_visible"].int64_list.value[0]
                for r in records
            ]
        )
        predicted = outputs[label].numpy().reshape(-1) > 0.5
        metrics = report["metrics"][label]
        assert metrics["example_count"] == len(records)
        assert metrics["mean_label"] == pytest.approx(truth.mean())
        assert metrics["false_positives"] == np.sum(predicted & (truth == 0))
        assert metrics["false_negatives"] == np.sum(~predicted & (truth == 1))
    prevalences = {report["metrics"][k]["mean_label"] for k in report["labels"]}
    assert len(prevalences) > 1, "labels need distinct prevalences to tell"


def test_csv_run_below_min_auc_is_not_blessed_or_pushed(csv_run):
    settings, first = csv_run
    strict = PipelineSettings(
        **{**settings.__dict__, "min_auc": 1.0, "beam_args": ()}
    )

    report = run_local.run(strict)

    assert report["blessed"] is False
    assert report["pushed_to"] is None
    assert any(
        "auc" in line and "below 1.000" in line
        for line in report["blessing_failures"]
    )
    versions = os.listdir(settings.serving_dir)
    assert versions == [os.path.basename(first["pushed_to"])]


def _executions(settings) -> dict[str, list[int]]:
    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(metadata_path(settings))
    )
    types = {t.id: t.name for t in store.get_execution_types()}
    states = {}
    for execution in store.get_executions():
        name = types[execution.type_id].rsplit(".", 1)[-1]
        states.setdefault(name, []).append(execution.last_known_state)
    return states


def _completed(states, component: str) -> int:
    return states.get(component, []).count(
        metadata_store_pb2.Execution.COMPLETE
    )


# Every step of an unchanged rerun is cached, evaluation and push included.
RERUN_COMPONENTS = (
    "ClassDirExampleGen",
    "Transform",
    "Trainer",
    "Evaluator",
    "Pusher",
)


def test_unchanged_rerun_is_cached_and_added_nested_image_reruns(class_run):
    settings, _ = class_run
    before = _executions(settings)
    pushed = sorted(os.listdir(settings.serving_dir))

    run_local.run(settings)
    cached = _executions(settings)
    pushed_again = sorted(os.listdir(settings.serving_dir))
    nested = os.path.join(
        settings.image_dir, "pentagram", "episode_09", "scene_9", "deep"
    )
    os.makedirs(nested)
    source = glob.glob(os.path.join(settings.image_dir, "pentagram", "*.jpg"))
    with (
        open(source[0], "rb") as src,
        open(os.path.join(nested, "new.jpg"), "wb") as dst,
    ):
        dst.write(src.read())
    run_local.run(settings)
    after = _executions(settings)

    for component in RERUN_COMPONENTS:
        assert _completed(cached, component) == _completed(before, component)
        assert _completed(after, component) == _completed(cached, component) + 1
    assert pushed_again == pushed, "an unchanged rerun must not push again"


def test_anomalies_stop_the_run_before_transform(tmp_path):
    csv_path = sample_data.write_labels_csv(tmp_path, count=30)
    settings = PipelineSettings(
        image_dir=str(tmp_path),
        labels_csv=str(csv_path),
        model_name="e2e-anomalies",
        model_basedir=str(tmp_path / "models"),
        schema_path=SCHEMA,  # Class-dir schema: no label/class features.
        **FAST,
    )

    with pytest.raises(
        Exception,
        match=r"(?s)do not match the schema.*"
        r"feature 'class_name'.*feature 'star_visible'",
    ):
        run_local.run(settings)

    assert not os.path.exists(os.path.join(settings.root, "Transform"))
    assert not os.path.exists(os.path.join(settings.root, "Trainer"))
