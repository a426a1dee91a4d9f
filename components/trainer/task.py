"""Trainer run_fn: raw examples + Transform graph -> SavedModel.

Training reads the ExampleGen's raw examples and applies the Transform
graph in the input pipeline, batch by batch, as serving does; no
transformed copy of the data is written. `serving_default` takes encoded
images (`image_bytes`) and returns one probability per label or class
name; `serving_examples` takes serialized tf.Example (`examples`) and
returns the raw model outputs, for TFMA.
"""

import json
import logging
import os

import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx_bsl.public import tfxio

from components import features
from components.trainer import model as model_lib

logger = logging.getLogger(__name__)

# Written into the serving model directory, copied on by the Pusher.
TRAINING_INFO_FILE = "training.json"


def run_fn(fn_args: FnArgs) -> None:
    """Trains the model and exports it; called by the TFX Trainer.

    `fn_args.custom_config` holds `label_spec` (JSON), `image_size`,
    `backbone`, `weights`, `epochs`, `batch_size` and `seed`.
    """
    config = fn_args.custom_config
    spec = features.LabelSpec.from_json(config["label_spec"])
    tf.keras.utils.set_random_seed(int(config["seed"]))
    model_lib.skip_autograph_of_keras()
    transform_output = tft.TFTransformOutput(fn_args.transform_output)

    train = _dataset(
        fn_args.train_files, fn_args, transform_output, spec, shuffle=True
    )
    evaluation = _dataset(
        fn_args.eval_files, fn_args, transform_output, spec, shuffle=False
    )
    model = model_lib.build_model(
        spec,
        image_size=int(config["image_size"]),
        backbone=config["backbone"],
        weights=config["weights"],
    )
    logger.info(
        "Training %s for %d epochs.", config["backbone"], int(config["epochs"])
    )
    history = model.fit(
        train,
        validation_data=evaluation,
        epochs=int(config["epochs"]),
        verbose=2,
    )
    _export(model, transform_output, spec, fn_args.serving_model_dir)
    _write_training_info(fn_args.serving_model_dir, config, history)


def _dataset(files, fn_args, transform_output, spec, *, shuffle: bool):
    """Raw examples, transformed per batch: decoding overlaps training."""
    dataset = fn_args.data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(
            batch_size=int(fn_args.custom_config["batch_size"]),
            num_epochs=1,
            shuffle=shuffle,
            shuffle_seed=int(fn_args.custom_config["seed"]),
        ),
        _needed_schema(transform_output, spec),
    )
    transform = transform_output.transform_features_layer()
    # Nothing here branches on tensors; converting it would make AutoGraph
    # rewrite the whole Transform layer from source first, for seconds.
    return dataset.map(
        tf.autograph.experimental.do_not_convert(
            lambda batch: _split_labels(transform(batch), spec)
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    ).prefetch(tf.data.AUTOTUNE)


def _needed_schema(transform_output, spec: features.LabelSpec):
    """The raw schema restricted to the image and the label features."""
    schema = type(transform_output.raw_metadata.schema)()
    schema.CopyFrom(transform_output.raw_metadata.schema)
    needed = {features.IMAGE_KEY, *_label_features(spec)}
    kept = [f for f in schema.feature if f.name in needed]
    del schema.feature[:]
    schema.feature.extend(kept)
    return schema


def _label_features(spec: features.LabelSpec) -> tuple[str, ...]:
    if spec.kind == features.MULTICLASS:
        return (features.LABEL_KEY,)
    return spec.label_features


def _split_labels(batch: dict, spec: features.LabelSpec):
    inputs = {features.IMAGE_KEY: batch[features.IMAGE_KEY]}
    if spec.kind == features.MULTICLASS:
        return inputs, {"classes": _flat(batch[features.LABEL_KEY])}
    return inputs, {
        name: _flat(batch[key])
        for name, key in zip(spec.output_names, spec.label_features)
    }


def _flat(values):
    if isinstance(values, tf.SparseTensor):
        values = tf.sparse.to_dense(values)
    return tf.reshape(values, [-1, 1])


def _export(model, transform_output, spec, export_dir: str) -> None:
    model.tft_layer = transform_output.transform_features_layer()
    image_spec = transform_output.raw_feature_spec()[features.IMAGE_KEY]

    def predict(raw_images):
        transformed = model.tft_layer({features.IMAGE_KEY: raw_images})
        return model({features.IMAGE_KEY: transformed[features.IMAGE_KEY]})

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name=features.IMAGE_BYTES_INPUT)
        ],
        autograph=False,
    )
    def serve_images(image_bytes):
        raw = _like_raw_feature(image_bytes, image_spec)
        return _named_probabilities(predict(raw), spec)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name=features.EXAMPLES_INPUT)
        ],
        autograph=False,
    )
    def serve_examples(examples):
        parsed = tf.io.parse_example(examples, {features.IMAGE_KEY: image_spec})
        return predict(parsed[features.IMAGE_KEY])

    signatures = {
        features.SERVING_SIGNATURE: serve_images,
        features.EXAMPLES_SIGNATURE: serve_examples,
    }
    model.save(export_dir, save_format="tf", signatures=signatures)
    logger.info("Exported model to %s.", export_dir)


def _like_raw_feature(image_bytes: tf.Tensor, image_spec) -> tf.Tensor:
    """Shapes a [batch] string tensor as the raw schema's image feature."""
    if isinstance(image_spec, tf.io.FixedLenFeature) and image_spec.shape:
        return tf.reshape(image_bytes, [-1] + list(image_spec.shape))
    if isinstance(image_spec, tf.io.VarLenFeature):
        return tf.sparse.from_dense(tf.reshape(image_bytes, [-1, 1]))
    return image_bytes


def _named_probabilities(outputs: dict, spec: features.LabelSpec) -> dict:
    if spec.kind == features.MULTICLASS:
        probabilities = outputs["classes"]
        return {name: probabilities[:, i] for i, name in enumerate(spec.labels)}
    return {name: tf.reshape(outputs[name], [-1]) for name in spec.labels}


def _write_training_info(export_dir: str, config: dict, history) -> None:
    info = {
        "label_spec": json.loads(config["label_spec"]),
        "image_size": int(config["image_size"]),
        "backbone": config["backbone"],
        # small_cnn always starts from random weights.
        "weights": None
        if config["backbone"] == model_lib.SMALL_CNN
        else config["weights"],
        "epochs": int(config["epochs"]),
        "batch_size": int(config["batch_size"]),
        "seed": int(config["seed"]),
        "history": {
            k: [float(v) for v in values]
            for k, values in history.history.items()
        },
    }
    path = os.path.join(export_dir, TRAINING_INFO_FILE)
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(info, f, indent=2, sort_keys=True)
