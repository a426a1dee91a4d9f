"""Helpers for the Kubeflow tests: settings of tiny runs, compiled specs."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from kubeflow import compiler  # noqa: E402
from pipeline.config import PipelineSettings  # noqa: E402

IMAGE = "registry.example.com/vision/symbol-pipeline:test"
# Small and fast: one short epoch on 32-pixel images.
FAST = {"epochs": 1, "image_size": 32, "batch_size": 16, "min_auc": 0.0}


def class_dir_settings(root, **changes) -> PipelineSettings:
    """Settings of a tiny run on `root`/class_dirs; `changes` override."""
    values = {
        "image_dir": str(root / "class_dirs"),
        "model_name": "kfp-classes",
        "model_basedir": str(root / "models"),
        **FAST,
    }
    return PipelineSettings(**{**values, **changes})


def csv_settings(root, **changes) -> PipelineSettings:
    """Settings of a tiny run on `root`/labels_csv; `changes` override."""
    values = {
        "image_dir": str(root / "labels_csv"),
        "labels_csv": str(root / "labels_csv" / "labels.csv"),
        "model_name": "kfp-labels",
        "model_basedir": str(root / "models"),
        **FAST,
    }
    return PipelineSettings(**{**values, **changes})


def compile_to(settings, path, **container) -> str:
    """Compiles `settings` with the test image; returns the file path."""
    options = compiler.ContainerOptions(image=IMAGE, **container)
    documents = compiler.compile_spec(settings, options)
    compiler.write_spec(documents, str(path))
    return str(path)
