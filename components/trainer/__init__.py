"""Trainer code: Keras model builders, run_fn and serving signatures."""
