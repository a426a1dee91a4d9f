"""preprocessing_fn: raw image bytes and labels -> model-ready tensors.

The same graph runs in the Trainer's input pipeline and, through the
transform layer, inside both serving signatures. Ingestion has already made
stored images upright RGB; serving gets the client's bytes as they are.
"""

import tensorflow as tf

from components import features

DEFAULT_IMAGE_SIZE = 150


def preprocessing_fn(inputs: dict, custom_config: dict) -> dict:
    """Decodes and scales images; passes labels through as float 0/1.

    Args:
      inputs: raw features from the ExampleGen, batched.
      custom_config: `image_size` (side in pixels, default 150) and
        `label_spec` (JSON of features.LabelSpec).

    Returns:
      `image`: float32 [batch, size, size, 3] in [0, 1], and each label.
    """
    size = int(custom_config.get("image_size", DEFAULT_IMAGE_SIZE))
    spec = features.LabelSpec.from_json(custom_config["label_spec"])
    outputs = {
        features.IMAGE_KEY: decode_images(inputs[features.IMAGE_KEY], size)
    }
    for key in _label_keys(spec):
        if key in inputs:
            outputs[key] = tf.cast(_flat(inputs[key]), tf.float32)
    return outputs


def _label_keys(spec: features.LabelSpec) -> tuple[str, ...]:
    if spec.kind == features.MULTICLASS:
        return (features.LABEL_KEY,)
    return spec.label_features


def decode_images(encoded: tf.Tensor, size: int) -> tf.Tensor:
    """Decodes a batch of JPEG/PNG bytes into [batch, size, size, 3] floats."""

    def decode(one: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(one, channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        image = tf.image.resize(image, [size, size], antialias=True)
        return tf.clip_by_value(image / 255.0, 0.0, 1.0)

    return tf.map_fn(
        decode,
        _flat(encoded),
        fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32),
    )


def _flat(values) -> tf.Tensor:
    """One value per example, from a [batch, 1] dense or sparse feature."""
    if isinstance(values, tf.SparseTensor):
        values = tf.sparse.to_dense(values)
    return tf.reshape(values, [-1])
