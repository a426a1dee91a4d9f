"""Resolver strategy: the blessed model a new model is compared against.

TFX's LatestBlessedModelStrategy returns the newest blessed model, which on
an unchanged rerun is the cached candidate itself: the Evaluator then runs
again, comparing the model with itself, and the Pusher pushes it a second
time. This strategy leaves the candidate out, so an unchanged rerun
resolves the same baseline as the first run and every step stays cached.
"""

from tfx import types
from tfx.components.evaluator import constants
from tfx.dsl.components.common import resolver

MODEL_KEY = "model"  # Every Model artifact (an unattached channel).
BLESSING_KEY = "model_blessing"  # Every ModelBlessing artifact.
CANDIDATE_KEY = "candidate"  # The Trainer's model of this run.


class LatestBlessedOtherModelStrategy(resolver.ResolverStrategy):
    """The newest blessed model other than the candidate, with its blessing.

    Inputs are `model`, `model_blessing` and `candidate`; outputs the same
    keys, `model` and `model_blessing` holding the baseline (empty when
    there is none) and `candidate` passed through.
    """

    def resolve_artifacts(
        self, store, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]]:
        del store  # Everything needed arrives in the input channels.
        expected = {MODEL_KEY, BLESSING_KEY, CANDIDATE_KEY}
        if set(input_dict) != expected:
            raise ValueError(
                f"Expected resolver inputs {sorted(expected)}, received "
                f"{sorted(input_dict)}."
            )

        candidates = {a.id for a in input_dict[CANDIDATE_KEY]}
        blessings = _latest_blessing_per_model(input_dict[BLESSING_KEY])
        result = {
            MODEL_KEY: [],
            BLESSING_KEY: [],
            CANDIDATE_KEY: list(input_dict[CANDIDATE_KEY]),
        }
        for model in sorted(input_dict[MODEL_KEY], key=lambda a: -a.id):
            if model.id in blessings and model.id not in candidates:
                result[MODEL_KEY] = [model]
                result[BLESSING_KEY] = [blessings[model.id]]
                break
        return result


def _latest_blessing_per_model(
    blessings: list[types.Artifact],
) -> dict[int, types.Artifact]:
    """Model id -> its newest positive blessing."""
    latest: dict[int, types.Artifact] = {}
    for blessing in sorted(blessings, key=lambda a: a.id):
        if (
            blessing.get_int_custom_property(
                constants.ARTIFACT_PROPERTY_BLESSED_KEY
            )
            != 1
        ):
            continue
        model_id = blessing.get_int_custom_property(
            constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY
        )
        latest[model_id] = blessing
    return latest
