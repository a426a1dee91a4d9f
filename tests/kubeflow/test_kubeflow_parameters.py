"""Per-run values of a compiled spec's runtime parameters."""

import json

import pytest

from components.example_gen import options
from kubeflow import parameters
from pipeline.pipeline import (
    IMAGE_DIR_PARAMETER,
    INGEST_CONFIG_PARAMETER,
    TRAINER_CONFIG_PARAMETER,
)


def test_run_parameters_send_nothing_when_nothing_changes(specs):
    spec = parameters.read_spec(specs["labels_csv"])

    assert parameters.run_parameters(spec, parameters.RunChanges()) == {}


def test_run_parameters_change_epochs_inside_the_trainer_config(specs):
    spec = parameters.read_spec(specs["labels_csv"])
    default = json.loads(parameters.defaults(spec)[TRAINER_CONFIG_PARAMETER])

    values = parameters.run_parameters(spec, parameters.RunChanges(epochs=7))

    changed = json.loads(values[TRAINER_CONFIG_PARAMETER])
    assert changed == {**default, "epochs": 7}


def test_run_parameters_change_the_labels_csv_of_a_csv_spec(specs):
    spec = parameters.read_spec(specs["labels_csv"])

    values = parameters.run_parameters(
        spec,
        parameters.RunChanges(
            image_dir="gs://frames/2024-06", labels_csv="gs://frames/l.csv"
        ),
    )

    settings = options.from_exec_properties(
        {"custom_config": values[INGEST_CONFIG_PARAMETER]}
    )
    assert values[IMAGE_DIR_PARAMETER] == "gs://frames/2024-06"
    assert settings.labels_csv == "gs://frames/l.csv"
    assert settings.layout == options.LABELS_CSV


def test_run_parameters_refuse_labels_for_a_class_dir_spec(specs):
    spec = parameters.read_spec(specs["class_dirs"])

    with pytest.raises(ValueError, match="compiled with --labels"):
        parameters.run_parameters(
            spec, parameters.RunChanges(labels_csv="gs://frames/l.csv")
        )


def test_run_parameters_apply_helpers_over_raw_values(specs):
    spec = parameters.read_spec(specs["labels_csv"])
    raw = json.dumps({"epochs": 3, "seed": 1})

    values = parameters.run_parameters(
        spec,
        parameters.RunChanges(
            epochs=4, raw=(f"{TRAINER_CONFIG_PARAMETER}={raw}",)
        ),
    )

    assert json.loads(values[TRAINER_CONFIG_PARAMETER]) == {
        "epochs": 4,
        "seed": 1,
    }


@pytest.mark.parametrize(
    "raw, message",
    [
        ("epochs", r"NAME=VALUE, received 'epochs'"),
        ("epochs=3", r"Unknown runtime parameter 'epochs'.*image_dir"),
    ],
)
def test_run_parameters_name_bad_raw_values(specs, raw, message):
    spec = parameters.read_spec(specs["labels_csv"])

    with pytest.raises(ValueError, match=message):
        parameters.run_parameters(spec, parameters.RunChanges(raw=(raw,)))


def test_read_spec_refuses_a_file_that_is_not_a_spec(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text("kind: Deployment\n")

    with pytest.raises(ValueError, match="no pipelineInfo"):
        parameters.read_spec(str(path))
