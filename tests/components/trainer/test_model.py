"""Tests for the Keras model builders."""

import numpy as np
import pytest

from components import features
from components.trainer import model as model_lib


def test_build_model_multilabel_has_one_sigmoid_per_label():
    spec = features.csv_spec(["filename", "pentagram_visible", "star_visible"])

    model = model_lib.build_model(spec, image_size=32)
    outputs = model.predict(np.zeros((2, 32, 32, 3), np.float32), verbose=0)

    assert set(outputs) == {"pentagram", "star"}
    assert outputs["star"].shape == (2, 1)
    assert ((outputs["star"] >= 0) & (outputs["star"] <= 1)).all()


def test_build_model_multiclass_has_one_softmax():
    spec = features.class_dir_spec(["a", "b", "c"])

    model = model_lib.build_model(spec, image_size=32)
    outputs = model.predict(np.zeros((1, 32, 32, 3), np.float32), verbose=0)

    assert set(outputs) == {"classes"}
    np.testing.assert_allclose(outputs["classes"].sum(), 1.0, rtol=1e-5)


def test_build_model_mobilenet_v2_freezes_the_base():
    spec = features.class_dir_spec(["a", "b"])

    model = model_lib.build_model(
        spec, image_size=32, backbone="mobilenet_v2", weights="none"
    )

    base = next(layer for layer in model.layers if "mobilenet" in layer.name)
    assert not base.trainable
    assert model.count_params() > sum(
        int(np.prod(w.shape)) for w in model.trainable_weights
    )


def test_build_model_unknown_backbone_is_refused():
    spec = features.class_dir_spec(["a", "b"])

    with pytest.raises(ValueError, match="received 'resnet9'"):
        model_lib.build_model(spec, image_size=32, backbone="resnet9")


def test_build_model_exempts_tf_keras_from_autograph_once():
    from tensorflow.python.autograph.core import config as autograph_config

    spec = features.class_dir_spec(["a", "b"])

    model_lib.build_model(spec, image_size=32)
    model_lib.build_model(spec, image_size=32)

    keras_rules = [
        rule
        for rule in autograph_config.CONVERSION_RULES
        if isinstance(rule, autograph_config.DoNotConvert)
        and rule.matches("tf_keras.src.engine.training")
    ]
    assert len(keras_rules) == 1
