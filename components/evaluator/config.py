"""Builds the TFMA EvalConfig of a model from its LabelSpec."""

import tensorflow_model_analysis as tfma

from components import features

# Reported for every label; MeanLabel is the label's prevalence, which also
# shows which label column each output was scored against.
METRICS = (
    "ExampleCount",
    "MeanLabel",
    "BinaryAccuracy",
    "AUC",
    "Precision",
    "Recall",
    "FalsePositives",
    "FalseNegatives",
)
DEFAULT_MIN_AUC = 0.5
DEFAULT_MAX_AUC_DROP = 0.05


def eval_config(
    spec: features.LabelSpec,
    *,
    min_auc: float = DEFAULT_MIN_AUC,
    max_auc_drop: float = DEFAULT_MAX_AUC_DROP,
) -> tfma.EvalConfig:
    """Per-label metrics, blessed when every label passes both thresholds.

    Args:
      spec: what the model predicts.
      min_auc: each label's AUC must be at least this. Defaults to 0.5.
      max_auc_drop: each label's AUC may fall at most this much below the
        latest blessed model's; ignored when there is none. Defaults to 0.05.

    Returns:
      An EvalConfig for the `serving_examples` signature.

    Raises:
      ValueError: for thresholds outside [0, 1].
    """
    if not 0.0 <= min_auc <= 1.0:
        raise ValueError(f"Expected 0 <= min_auc <= 1, received {min_auc}.")
    if not 0.0 <= max_auc_drop <= 1.0:
        raise ValueError(
            f"Expected 0 <= max_auc_drop <= 1, received {max_auc_drop}."
        )

    # TFMA unwraps a model's only output, so single-output models take one
    # label_key; several outputs need a label per output *and* output_names.
    # TFMA calls only this signature; naming the model generic spares it
    # loading the SavedModel as Keras once just to find its type, and again
    # to use it (about 2 s per evaluation on 2 cores).
    model_spec = tfma.ModelSpec(
        signature_name=features.EXAMPLES_SIGNATURE,
        model_type=tfma.TF_GENERIC,
    )
    label_keys = _label_keys(spec)
    if len(label_keys) == 1:
        model_spec.label_key = next(iter(label_keys.values()))
    else:
        model_spec.label_keys.update(label_keys)
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(
            lower_bound={"value": min_auc}
        ),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -max_auc_drop},
        ),
    )
    metrics = [tfma.MetricConfig(class_name=name) for name in METRICS]
    metrics[METRICS.index("AUC")].threshold.CopyFrom(threshold)
    metrics_spec = tfma.MetricsSpec(metrics=metrics)
    if len(label_keys) > 1:
        metrics_spec.output_names.extend(label_keys)
    if spec.kind == features.MULTICLASS:
        metrics_spec.binarize.class_ids.values.extend(range(len(spec.classes)))
    config = tfma.EvalConfig(
        model_specs=[model_spec],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[metrics_spec],
    )
    # The Keras model's compiled metrics are not per label; use ours only.
    config.options.include_default_metrics.value = False
    return config


def _label_keys(spec: features.LabelSpec) -> dict[str, str]:
    if spec.kind == features.MULTICLASS:
        return {"classes": features.LABEL_KEY}
    return dict(zip(spec.output_names, spec.label_features))
