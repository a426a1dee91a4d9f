"""Tests for the baseline-model resolver strategy."""

import pytest
from tfx.components.evaluator import constants
from tfx.types import standard_artifacts

from components.evaluator import baseline


def _model(model_id: int):
    model = standard_artifacts.Model()
    model.id = model_id
    return model


def _blessing(blessing_id: int, model_id: int, *, blessed: bool = True):
    blessing = standard_artifacts.ModelBlessing()
    blessing.id = blessing_id
    blessing.set_int_custom_property(
        constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model_id
    )
    blessing.set_int_custom_property(
        constants.ARTIFACT_PROPERTY_BLESSED_KEY, int(blessed)
    )
    return blessing


def _resolve(models, blessings, candidate):
    return baseline.LatestBlessedOtherModelStrategy().resolve_artifacts(
        None,
        {
            baseline.MODEL_KEY: models,
            baseline.BLESSING_KEY: blessings,
            baseline.CANDIDATE_KEY: candidate,
        },
    )


def test_strategy_leaves_out_the_candidate_itself():
    models = [_model(1), _model(2)]
    blessings = [_blessing(10, 1), _blessing(11, 2)]

    result = _resolve(models, blessings, [models[1]])

    assert [a.id for a in result[baseline.MODEL_KEY]] == [1]
    assert [a.id for a in result[baseline.BLESSING_KEY]] == [10]
    assert [a.id for a in result[baseline.CANDIDATE_KEY]] == [2]


def test_strategy_skips_models_that_were_not_blessed():
    models = [_model(1), _model(2), _model(3)]
    blessings = [_blessing(10, 1), _blessing(11, 2, blessed=False)]

    result = _resolve(models, blessings, [models[2]])

    assert [a.id for a in result[baseline.MODEL_KEY]] == [1]


def test_strategy_first_model_has_no_baseline():
    model = _model(1)

    result = _resolve([model], [_blessing(10, 1)], [model])

    assert result[baseline.MODEL_KEY] == []
    assert result[baseline.BLESSING_KEY] == []


def test_strategy_takes_the_newest_blessing_of_the_baseline():
    models = [_model(1), _model(2)]
    blessings = [_blessing(10, 1), _blessing(12, 1)]

    result = _resolve(models, blessings, [models[1]])

    assert [a.id for a in result[baseline.BLESSING_KEY]] == [12]


def test_strategy_refuses_unexpected_inputs():
    strategy = baseline.LatestBlessedOtherModelStrategy()

    with pytest.raises(ValueError, match="received \\['model'\\]"):
        strategy.resolve_artifacts(None, {baseline.MODEL_KEY: []})
