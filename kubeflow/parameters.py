"""A compiled spec's runtime parameters: defaults, and the values of one run.

The runtime parameters are those `create_pipeline` declares: the image
folder as plain text, and the ExampleGen and Trainer settings as JSON (TFX
lets only whole execution properties be runtime parameters). Helpers here
change single settings inside that JSON, so a user writes `--epochs 5`
instead of editing it.
"""

import dataclasses
import json

import yaml
from google.protobuf import json_format
from tfx.types import standard_component_specs

from components.example_gen import options
from pipeline.pipeline import (
    IMAGE_DIR_PARAMETER,
    INGEST_CONFIG_PARAMETER,
    TRAINER_CONFIG_PARAMETER,
)


def read_spec(path: str) -> dict:
    """The PipelineSpec (first YAML document) of a compiled file."""
    with open(path, encoding="utf-8") as f:
        documents = list(yaml.safe_load_all(f))
    if not documents or "pipelineInfo" not in (documents[0] or {}):
        raise ValueError(
            f"Expected a PipelineSpec YAML written by `compile` in {path}, "
            "found no pipelineInfo."
        )
    return documents[0]


def defaults(spec: dict) -> dict[str, str]:
    """Runtime parameter name -> default value declared in the spec."""
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    return {
        name: definition.get("defaultValue")
        for name, definition in declared.items()
    }


@dataclasses.dataclass(frozen=True)
class RunChanges:
    """What one run changes from the compiled defaults; None keeps them.

    Attributes:
      image_dir: folder or URI of the images.
      labels_csv: labels CSV (specs compiled for a labels CSV only).
      epochs: passes over the training split.
      raw: `name=value` pairs set verbatim, applied first.
    """

    image_dir: str | None = None
    labels_csv: str | None = None
    epochs: int | None = None
    raw: tuple[str, ...] = ()


def run_parameters(spec: dict, changes: RunChanges) -> dict[str, str]:
    """The parameter values to send with a run: only the changed ones.

    Raises:
      ValueError: naming an unknown parameter, a raw pair without `=`, or
        `--labels` for a spec compiled for class directories.
    """
    known = defaults(spec)
    values = {}
    for pair in changes.raw:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"Expected --param NAME=VALUE, received {pair!r}.")
        if name not in known:
            raise ValueError(
                f"Unknown runtime parameter {name!r}; the spec declares "
                f"{sorted(known)}."
            )
        values[name] = value

    def current(name: str) -> str:
        return values.get(name, known[name])

    if changes.image_dir is not None:
        values[IMAGE_DIR_PARAMETER] = changes.image_dir
    if changes.labels_csv is not None:
        values[INGEST_CONFIG_PARAMETER] = _with_labels_csv(
            current(INGEST_CONFIG_PARAMETER), changes.labels_csv
        )
    if changes.epochs is not None:
        values[TRAINER_CONFIG_PARAMETER] = _with_epochs(
            current(TRAINER_CONFIG_PARAMETER), changes.epochs
        )
    return values


def _with_labels_csv(ingest_config: str, labels_csv: str) -> str:
    settings = options.from_exec_properties(
        {standard_component_specs.CUSTOM_CONFIG_KEY: ingest_config}
    )
    if settings.layout != options.LABELS_CSV:
        raise ValueError(
            "--labels applies to a spec compiled with --labels; this one "
            f"was compiled for the {settings.layout!r} layout."
        )
    changed = dataclasses.replace(settings, labels_csv=labels_csv)
    return json_format.MessageToJson(
        changed.to_custom_config(),
        indent=None,
        preserving_proto_field_name=True,
        sort_keys=True,
    )


def _with_epochs(trainer_config: str, epochs: int) -> str:
    if epochs < 1:
        raise ValueError(f"Expected --epochs >= 1, received {epochs}.")
    config = json.loads(trainer_config)
    config["epochs"] = epochs
    return json.dumps(config, sort_keys=True)
