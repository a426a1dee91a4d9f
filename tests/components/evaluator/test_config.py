"""Tests for the TFMA EvalConfig built from a LabelSpec."""

import pytest

from components import features
from components.evaluator import config


def test_eval_config_multilabel_pairs_each_output_with_its_label():
    spec = features.csv_spec(["filename", "pentagram_visible", "star_visible"])

    eval_config = config.eval_config(spec, min_auc=0.6, max_auc_drop=0.1)

    model_spec = eval_config.model_specs[0]
    assert dict(model_spec.label_keys) == {
        "pentagram": "pentagram_visible",
        "star": "star_visible",
    }
    assert not model_spec.label_key
    assert model_spec.signature_name == features.EXAMPLES_SIGNATURE
    metrics_spec = eval_config.metrics_specs[0]
    assert list(metrics_spec.output_names) == ["pentagram", "star"]
    auc = next(m for m in metrics_spec.metrics if m.class_name == "AUC")
    assert auc.threshold.value_threshold.lower_bound.value == 0.6
    assert auc.threshold.change_threshold.absolute.value == -0.1


def test_eval_config_binary_uses_single_label_key():
    spec = features.class_dir_spec(["a", "b"])

    eval_config = config.eval_config(spec)

    assert eval_config.model_specs[0].label_key == features.LABEL_KEY
    assert not eval_config.metrics_specs[0].output_names
    assert {m.class_name for m in eval_config.metrics_specs[0].metrics} == set(
        config.METRICS
    )


def test_eval_config_multiclass_binarizes_every_class():
    spec = features.class_dir_spec(["a", "b", "c"])

    eval_config = config.eval_config(spec)

    assert list(eval_config.metrics_specs[0].binarize.class_ids.values) == [
        0,
        1,
        2,
    ]


def test_eval_config_threshold_out_of_range_is_refused():
    spec = features.class_dir_spec(["a", "b"])

    with pytest.raises(ValueError, match="received 1.5"):
        config.eval_config(spec, min_auc=1.5)
