"""Assembles and runs the symbol-visibility TFX pipeline."""

import components  # noqa: F401  Selects Keras 2 before TensorFlow loads.
