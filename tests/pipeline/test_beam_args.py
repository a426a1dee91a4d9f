"""Tests for the Beam arguments create_pipeline gives every component."""

import pytest

from components import features
from pipeline import pipeline
from pipeline.config import PipelineSettings

SPEC = features.class_dir_spec(["no", "yes"])


def _beam_args(tmp_path, *given: str) -> list[str]:
    settings = PipelineSettings(
        image_dir=str(tmp_path),
        model_name="beam-args",
        model_basedir=str(tmp_path / "models"),
        beam_args=given,
    )
    dag = pipeline.create_pipeline(settings, label_spec=SPEC)
    return list(dag.beam_pipeline_args)


def test_default_in_process_runner_skips_tfx_packaging(tmp_path):
    args = _beam_args(tmp_path)

    assert args == [
        "--runner=FnApiRunner",
        f"{pipeline.NO_PACKAGE_FLAG}={pipeline.NO_PACKAGE_VALUE}",
    ]


def test_direct_runner_given_also_skips_tfx_packaging(tmp_path):
    args = _beam_args(tmp_path, "--runner=DirectRunner")

    assert args == [
        f"{pipeline.NO_PACKAGE_FLAG}={pipeline.NO_PACKAGE_VALUE}",
        "--runner=DirectRunner",
    ]


def test_extra_direct_runner_args_keep_the_defaults(tmp_path):
    args = _beam_args(tmp_path, "--direct_num_workers=2")

    assert args[-1] == "--direct_num_workers=2"
    assert "--runner=FnApiRunner" in args
    assert f"{pipeline.NO_PACKAGE_FLAG}={pipeline.NO_PACKAGE_VALUE}" in args


@pytest.mark.parametrize(
    "given",
    [
        ("--runner=DataflowRunner", "--project=p"),
        ("--setup_file=./setup.py",),
        ("--sdk_container_image=my-image",),
    ],
)
def test_remote_runner_or_own_dependencies_get_no_placeholder(tmp_path, given):
    args = _beam_args(tmp_path, *given)

    placeholder = f"{pipeline.NO_PACKAGE_FLAG}={pipeline.NO_PACKAGE_VALUE}"
    assert placeholder not in args
    assert args[-len(given) :] == list(given)
