"""Keras models: an image backbone and one head per label or class set."""

import tensorflow as tf
from tensorflow.python.autograph.core import config as autograph_config

from components import features

SMALL_CNN = "small_cnn"
MOBILENET_V2 = "mobilenet_v2"
BACKBONES = (SMALL_CNN, MOBILENET_V2)


def build_model(
    spec: features.LabelSpec,
    *,
    image_size: int,
    backbone: str = SMALL_CNN,
    weights: str = "imagenet",
    learning_rate: float = 1e-3,
) -> tf.keras.Model:
    """Builds and compiles the classifier.

    Args:
      spec: what to predict; one output per name in `spec.output_names`.
      image_size: side of the square float input in [0, 1].
      backbone: `small_cnn` (trains from scratch, fast on CPU) or
        `mobilenet_v2` (frozen application base). Defaults to `small_cnn`.
      weights: for application backbones: `imagenet` (downloaded by Keras),
        `none` (random), or the path of a weights file. Defaults to
        `imagenet`.
      learning_rate: Adam learning rate. Defaults to 1e-3.

    Returns:
      A compiled model taking `image` and returning a dict of outputs.

    Raises:
      ValueError: for an unknown backbone.
    """
    if backbone not in BACKBONES:
        raise ValueError(
            f"Expected backbone in {BACKBONES}, received {backbone!r}."
        )

    skip_autograph_of_keras()
    inputs = tf.keras.Input(
        shape=(image_size, image_size, 3), name=features.IMAGE_KEY
    )
    if backbone == SMALL_CNN:
        embedding = _small_cnn(inputs)
    else:
        embedding = _mobilenet_v2(inputs, image_size, weights)
    embedding = tf.keras.layers.Dropout(0.3)(embedding)
    outputs = _heads(embedding, spec)
    model = tf.keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate),
        loss=_losses(spec),
        metrics={name: _metrics(spec) for name in spec.output_names},
    )
    return model


def skip_autograph_of_keras() -> None:
    """Stops AutoGraph from rewriting tf_keras' own code on first trace.

    TensorFlow 2.16 exempts the `keras` package from AutoGraph but not
    `tf_keras`, so the first `fit`, `evaluate` or `predict` converts the
    whole Keras call tree from source: tens of seconds per process on 2
    cores, against about 2 with the exemption that later TensorFlow
    releases add. Our own functions are still converted. Idempotent.
    """
    # TODO: remove once the pinned TensorFlow has this rule; until then it
    # relies on a private module that an upgrade may move.
    rules = tuple(autograph_config.CONVERSION_RULES)
    if any(_skips_keras(rule) for rule in rules):
        return
    keras_rule = autograph_config.DoNotConvert("tf_keras")
    autograph_config.CONVERSION_RULES = (keras_rule, *rules)


def _skips_keras(rule) -> bool:
    return isinstance(rule, autograph_config.DoNotConvert) and rule.matches(
        "tf_keras"
    )


def _small_cnn(inputs: tf.Tensor) -> tf.Tensor:
    x = inputs
    for filters in (32, 64, 128):
        x = tf.keras.layers.Conv2D(filters, 3, padding="same")(x)
        # Few steps per epoch on small folders: let the moving statistics
        # catch up quickly, or evaluation sees untrained normalisation.
        x = tf.keras.layers.BatchNormalization(momentum=0.9)(x)
        x = tf.keras.layers.Activation("relu")(x)
        x = tf.keras.layers.MaxPooling2D()(x)
    return tf.keras.layers.GlobalAveragePooling2D()(x)


def _mobilenet_v2(inputs: tf.Tensor, image_size: int, weights: str):
    base = tf.keras.applications.MobileNetV2(
        input_shape=(image_size, image_size, 3),
        include_top=False,
        weights=None if weights == "none" else weights,
        pooling="avg",
    )
    base.trainable = False
    # MobileNetV2 expects pixels in [-1, 1]; ours are in [0, 1].
    scaled = tf.keras.layers.Rescaling(2.0, offset=-1.0)(inputs)
    return base(scaled, training=False)


def _heads(embedding: tf.Tensor, spec: features.LabelSpec) -> dict:
    if spec.kind == features.MULTICLASS:
        layer = tf.keras.layers.Dense(
            len(spec.classes), activation="softmax", name="classes"
        )
        return {"classes": layer(embedding)}
    return {
        name: tf.keras.layers.Dense(1, activation="sigmoid", name=name)(
            embedding
        )
        for name in spec.output_names
    }


def _losses(spec: features.LabelSpec) -> dict:
    if spec.kind == features.MULTICLASS:
        return {"classes": "sparse_categorical_crossentropy"}
    return {name: "binary_crossentropy" for name in spec.output_names}


def _metrics(spec: features.LabelSpec) -> list:
    if spec.kind == features.MULTICLASS:
        return ["sparse_categorical_accuracy"]
    return ["binary_accuracy", tf.keras.metrics.AUC(name="auc")]
