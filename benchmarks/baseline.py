"""The plain Keras script: class folders -> a trained SavedModel, no TFX.

This is the workflow the pipeline replaces, kept as the benchmark's
baseline: `image_dataset_from_directory`, the pipeline's own model builder
and training settings, `model.fit` with a validation split, `model.save`.
"""

import copy
import os
import sys
import time

# Keras 2, as in the pipeline; must be chosen before TensorFlow loads.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import click  # noqa: E402

from pipeline import run_local  # noqa: E402

_OWN_HELP = {
    "image_dir": "Folder with one subfolder of images per class.",
    "split": "Fraction of images held out for validation (Keras' seeded "
    "split of the file list).",
}
_SHARED_OPTIONS = (
    "image_dir",
    "image_size",
    "batch_size",
    "epochs",
    "seed",
    "split",
)


def train(
    image_dir: str,
    export_dir: str,
    *,
    image_size: int,
    batch_size: int,
    epochs: int,
    seed: int,
    split: float,
) -> dict:
    """Trains the pipeline's model on class folders the plain Keras way.

    Args:
      image_dir: one subfolder per class (nested folders allowed).
      export_dir: where the SavedModel is written.
      image_size: side in pixels images are resized to.
      batch_size: training batch size.
      epochs: passes over the training subset.
      seed: seed of the split, the shuffling and the weights.
      split: fraction of images held out for validation.

    Returns:
      Images per subset, seconds spent training, and the final metrics.
    """
    import tensorflow as tf

    from components import features
    from components.trainer import model as model_lib

    classes = sorted(e.name for e in os.scandir(image_dir) if e.is_dir())
    spec = features.class_dir_spec(classes)
    tf.keras.utils.set_random_seed(seed)
    train_ds, val_ds = tf.keras.utils.image_dataset_from_directory(
        image_dir,
        labels="inferred",
        label_mode="binary" if spec.kind == features.BINARY else "int",
        validation_split=split,
        subset="both",
        seed=seed,
        image_size=(image_size, image_size),
        batch_size=batch_size,
    )
    counts = {"train": len(train_ds.file_paths), "eval": len(val_ds.file_paths)}
    output = spec.output_names[0]

    def to_model_inputs(images, labels):
        return {features.IMAGE_KEY: images / 255.0}, {output: labels}

    train_ds = train_ds.map(to_model_inputs).prefetch(tf.data.AUTOTUNE)
    val_ds = val_ds.map(to_model_inputs).prefetch(tf.data.AUTOTUNE)
    model = model_lib.build_model(spec, image_size=image_size)
    start = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs)
    fit_s = time.perf_counter() - start
    model.save(export_dir, save_format="tf")
    return {
        "examples": counts,
        "fit_s": fit_s,
        "metrics": {k: float(v[-1]) for k, v in history.history.items()},
    }


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--export-dir",
    required=True,
    help="Where the trained SavedModel is written.",
)
def main(image_dir: str, export_dir: str, **settings) -> None:
    """Trains the pipeline's model with a plain Keras script."""
    result = train(image_dir, export_dir, **settings)
    click.echo(f"Trained on {result['examples']}: {result['metrics']}")


def _training_options() -> list[click.Option]:
    """The pipeline's own training options, defaults included, so both
    sides of a comparison read the same flags; help adapted where the
    plain script differs."""
    options = []
    for param in run_local.main.params:
        if param.name not in _SHARED_OPTIONS:
            continue
        option = copy.copy(param)
        option.help = _OWN_HELP.get(param.name, param.help)
        options.append(option)
    return options


main.params[:0] = _training_options()


if __name__ == "__main__":
    main()
