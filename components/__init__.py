"""Custom TFX components and component code for symbol-visibility models."""

import os

# The trainer and serving code are written for Keras 2 (tf_keras). TensorFlow
# picks the Keras version on first import, so this must run before it.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def __getattr__(name: str):
    # Kubeflow imports custom artifact classes by their type name.
    if name == "ModelReportArtifact":
        from components.model_report.component import ModelReportArtifact

        return ModelReportArtifact
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
