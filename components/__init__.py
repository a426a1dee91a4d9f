"""Custom TFX components and component code for symbol-visibility models."""

import os

# The trainer and serving code are written for Keras 2 (tf_keras). TensorFlow
# picks the Keras version on first import, so this must run before it.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
