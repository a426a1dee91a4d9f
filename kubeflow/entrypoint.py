"""Container command of every task: prepares the process, then runs TFX's.

The compiled spec starts each task as `python -m kubeflow.entrypoint
--executor_class_path ... --json_serialized_invocation_args ...`; this
module hands those arguments unchanged to TFX's KFP v2 executor runner after
two preparations that must happen before TensorFlow is imported:

- Keras 2 (tf_keras) is chosen, as everywhere in this project;
- when an argument names an `s3://` URI, tensorflow-io is imported, which
  registers the S3 filesystem with `tf.io.gfile` (TensorFlow itself no longer
  ships it).
"""

import os
import runpy
import sys

TFX_EXECUTOR_MODULE = (
    "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
)
S3_SCHEME = "s3://"


def load_filesystems(args: list[str]) -> None:
    """Imports the filesystem plugins the URIs in `args` need.

    Raises:
      RuntimeError: if an argument names an `s3://` URI and tensorflow-io is
        not installed.
    """
    if not any(S3_SCHEME in arg for arg in args):
        return
    try:
        import tensorflow_io  # noqa: F401  (registers s3:// with tf.io.gfile)
    except ImportError as e:
        raise RuntimeError(
            "This task reads or writes s3:// URIs, which tf.io.gfile opens "
            "only with tensorflow-io installed; build the image from "
            "kubeflow/Dockerfile, which installs it."
        ) from e


def main() -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    load_filesystems(sys.argv[1:])
    runpy.run_module(TFX_EXECUTOR_MODULE, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
