"""Tests for the in-graph image decoding shared by Transform and serving."""

import io

import numpy as np
import tensorflow as tf
from PIL import Image

from components.transform import preprocessing


def _encoded(color, *, size=(40, 20), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def test_decode_images_resizes_and_scales_png_and_jpeg():
    batch = tf.constant(
        [[_encoded((255, 0, 0))], [_encoded((0, 0, 255), fmt="JPEG")]]
    )

    images = preprocessing.decode_images(batch, 16).numpy()

    assert images.shape == (2, 16, 16, 3)
    np.testing.assert_allclose(images[0].mean(axis=(0, 1)), [1, 0, 0])
    np.testing.assert_allclose(
        images[1].mean(axis=(0, 1)), [0, 0, 1], atol=0.02
    )


def test_preprocessing_fn_passes_labels_as_float():
    spec = '{"kind": "multilabel", "labels": ["star"], "classes": [], '
    spec += '"label_features": ["star_visible"]}'
    inputs = {
        "image": tf.constant([[_encoded((0, 255, 0))]]),
        "star_visible": tf.constant([[1]], dtype=tf.int64),
    }

    outputs = preprocessing.preprocessing_fn(
        inputs, {"image_size": 8, "label_spec": spec}
    )

    assert set(outputs) == {"image", "star_visible"}
    assert outputs["star_visible"].dtype == tf.float32
    assert outputs["star_visible"].numpy().tolist() == [1.0]
    assert outputs["image"].shape == (1, 8, 8, 3)
