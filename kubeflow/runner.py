"""Kubeflow CLI: create_pipeline -> KFP v2 spec; runs, schedules, local check.

`compile` writes the PipelineSpec YAML; `submit` starts a run of it,
`schedule` / `unschedule` / `schedules` manage recurring runs, and
`local-run` runs the spec's own container commands on this machine.
"""

import os
import sys
import warnings

# Google client libraries warn about Python 3.10 on import; not actionable.
warnings.filterwarnings("ignore", category=FutureWarning)
# Keras 2 must be chosen before TensorFlow is imported (see components).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(_HERE)
# Run as a script, Python puts this folder first; import from the repo root.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, _REPO)

import copy  # noqa: E402
import datetime  # noqa: E402
import functools  # noqa: E402
import logging  # noqa: E402

import click  # noqa: E402

from kubeflow import client as kfp_client  # noqa: E402

DOCKERFILE = os.path.join(_HERE, "Dockerfile")
_URI_NOTE = " Object-storage URIs (gs://, s3://) work too."
_CONTEXT = {"help_option_names": ["-h", "--help"]}


def _pipeline_options() -> list[click.Option]:
    """The local runner's options, adapted to a cluster.

    Paths may be URIs, and --model-basedir has no local default.
    """
    from pipeline import run_local

    options = []
    for param in run_local.main.params:
        if param.name == "verbose":
            continue
        option = copy.copy(param)
        if isinstance(param.type, click.Path):
            option.type = click.STRING
            option.help = f"{param.help}{_URI_NOTE}"
        if param.name == "model_basedir":
            option.required, option.default = True, None
            option.show_default = False
            option.help = (
                "Models are pushed to <model-basedir>/<model-name>/<version>/"
                "; a URI every pod can write, e.g. gs://bucket/models."
            )
        if param.name == "pipeline_root":
            option.help = (
                "Default artifact root of runs (submit --pipeline-root "
                "overrides it per run). Default: "
                "<model-basedir>/_pipelines/<model-name>."
            )
        options.append(option)
    return options


class _PipelineCommand(click.Command):
    """A command led by the local runner's options, loaded on first use.

    Loading them imports TensorFlow, which the other commands do without.
    """

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if not getattr(self, "_pipeline_options_loaded", False):
            self.params[:0] = _pipeline_options()
            self._pipeline_options_loaded = True
        return super().get_params(ctx)


def _connection_options(command):
    options = [
        click.option(
            "--host",
            required=True,
            envvar="KFP_HOST",
            help="Kubeflow Pipelines API endpoint, e.g. http://localhost:8080 "
            "(port-forwarded ml-pipeline-ui) or https://<kubeflow>/pipeline. "
            "Env: KFP_HOST.",
        ),
        click.option(
            "--namespace",
            default=None,
            help="Kubernetes namespace of a multi-user Kubeflow; omit for "
            "standalone Kubeflow Pipelines.",
        ),
        click.option(
            "--token",
            default=None,
            envvar="KFP_TOKEN",
            help="Bearer token sent with every request (kfp's "
            "existing_token). Env: KFP_TOKEN.",
        ),
        click.option(
            "--cookies",
            default=None,
            help="Cookie header for a Kubeflow behind an auth proxy, e.g. "
            "'authservice_session=...'.",
        ),
        click.option(
            "--ssl-ca-cert",
            default=None,
            type=click.Path(exists=True, dir_okay=False),
            help="CA bundle that signed the host's certificate.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_options(command):
    """Which spec runs where, with which changed runtime parameters."""
    options = [
        click.option(
            "--package",
            required=True,
            type=click.Path(exists=True, dir_okay=False),
            help="Pipeline spec YAML written by `compile`.",
        ),
        click.option(
            "--pipeline-name",
            default=None,
            help="Pipeline name in Kubeflow. Default: the spec's name "
            "(the model name).",
        ),
        click.option(
            "--experiment",
            default=None,
            help="Experiment of the runs; created if missing. Default: the "
            "pipeline name.",
        ),
        click.option(
            "--pipeline-root",
            default=None,
            help="Artifact root of the runs. Default: the spec's "
            "(compile --pipeline-root).",
        ),
        click.option(
            "--image-dir",
            default=None,
            help="Runtime parameter: image folder or URI for these runs.",
        ),
        click.option(
            "--labels",
            "labels_csv",
            default=None,
            help="Runtime parameter: labels CSV for these runs (specs "
            "compiled with --labels).",
        ),
        click.option(
            "--epochs",
            default=None,
            type=int,
            help="Runtime parameter: passes over the training split.",
        ),
        click.option(
            "--param",
            "raw_params",
            multiple=True,
            help="Runtime parameter set verbatim, NAME=VALUE, repeatable; "
            "see the spec's header for the names.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for name in ("kubeflow", "pipeline", "components"):
        logging.getLogger(name).setLevel(logging.INFO)


def _connection(options: dict) -> kfp_client.Connection:
    return kfp_client.Connection(
        host=options.pop("host"),
        namespace=options.pop("namespace"),
        token=options.pop("token"),
        cookies=options.pop("cookies"),
        ssl_ca_cert=options.pop("ssl_ca_cert"),
    )


def _target(options: dict) -> kfp_client.Target:
    from kubeflow import parameters as run_params

    package = options.pop("package")
    spec = run_params.read_spec(package)
    changes = run_params.RunChanges(
        image_dir=options.pop("image_dir"),
        labels_csv=options.pop("labels_csv"),
        epochs=options.pop("epochs"),
        raw=tuple(options.pop("raw_params")),
    )
    return kfp_client.Target(
        package=package,
        pipeline_name=options.pop("pipeline_name")
        or spec["pipelineInfo"]["name"],
        experiment=options.pop("experiment"),
        parameters=run_params.run_parameters(spec, changes),
        pipeline_root=options.pop("pipeline_root"),
    )


def _usage_errors(command):
    """Turns our ValueError/LookupError into click usage messages."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (ValueError, LookupError) as e:
            raise click.UsageError(str(e)) from e

    return wrapper


@click.group(context_settings=_CONTEXT)
def main() -> None:
    """Runs the symbol-visibility pipeline on Kubeflow Pipelines 2.x."""


@main.command("compile", cls=_PipelineCommand, context_settings=_CONTEXT)
@click.option(
    "-o",
    "--output",
    required=True,
    help="Pipeline spec file to write; must end in .yaml (what the kfp "
    "client uploads and the Kubeflow UI imports).",
)
@click.option(
    "--image",
    required=True,
    help="Component image of every task, built from kubeflow/Dockerfile, "
    "e.g. registry.example.com/vision/symbol-pipeline:1.0.",
)
@click.option(
    "--labels-from",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Local CSV whose header gives the labels, when --labels cannot "
    "be read at compile time. Labels are fixed when compiling.",
)
@click.option(
    "--classes",
    default=None,
    help="Comma-separated class names, when the class directories of "
    "--image-dir cannot be listed at compile time.",
)
@click.option(
    "--env",
    "env",
    multiple=True,
    help="Environment variable of every task, NAME=VALUE, repeatable, "
    "e.g. S3_ENDPOINT=minio-service.kubeflow:9000.",
)
@click.option(
    "--secret-env",
    multiple=True,
    help="Environment variable of every task read from a Kubernetes "
    "secret, SECRET:KEY=NAME, repeatable, e.g. "
    "mlpipeline-minio-artifact:accesskey=AWS_ACCESS_KEY_ID.",
)
@click.option("--verbose", is_flag=True, help="Log TFX's INFO messages.")
@_usage_errors
def compile_command(
    output, image, labels_from, classes, env, secret_env, verbose, **options
) -> None:
    """Compiles the DAG to a KFP v2 PipelineSpec YAML file."""
    _setup_logging(verbose)
    from kubeflow import compiler
    from pipeline.config import PipelineSettings

    if not output.endswith((".yaml", ".yml")):
        raise ValueError(
            f"Expected --output ending in .yaml, received {output}."
        )
    options["beam_args"] = tuple(options["beam_args"])
    settings = PipelineSettings(**options)
    container = compiler.ContainerOptions(
        image=image,
        env=tuple(_pair(item, "--env") for item in env),
        secret_env=tuple(compiler.SecretEnv.parse(s) for s in secret_env),
    )
    spec = _label_spec(settings, labels_from, classes)
    documents = compiler.compile_spec(settings, container, label_spec=spec)
    compiler.write_spec(documents, output)
    click.echo(output)


def _pair(text: str, option: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not (name and sep):
        raise ValueError(f"Expected {option} NAME=VALUE, received {text!r}.")
    return name, value


def _label_spec(settings, labels_from, classes):
    from components import features
    from components.example_gen import sources

    if labels_from and classes:
        raise ValueError("Give --labels-from or --classes, not both.")
    if labels_from:
        if not settings.labels_csv:
            raise ValueError("--labels-from applies with --labels only.")
        return features.csv_spec(sources.read_csv_header(labels_from))
    if classes:
        if settings.labels_csv:
            raise ValueError("--classes applies to class directories only.")
        names = [c.strip() for c in classes.split(",") if c.strip()]
        return features.class_dir_spec(
            names, positive_class=settings.positive_class
        )
    try:
        return settings.label_spec()
    except Exception as e:  # Storage errors differ by filesystem.
        raise ValueError(
            f"Cannot read the labels from the data at compile time: {e} "
            "Give them with --classes a,b,... or --labels-from a local CSV."
        ) from e


@main.command(context_settings=_CONTEXT)
@_connection_options
@_run_options
@click.option(
    "--run-name",
    default=None,
    help="Display name of the run. Default: <pipeline>-<UTC time>.",
)
@click.option("--verbose", is_flag=True, help="Log every request step.")
@_usage_errors
def submit(run_name, verbose, **options) -> None:
    """Uploads the spec (or a new version of it) and starts a run.

    Prints the run's id and its URL.
    """
    _setup_logging(verbose)
    connection = _connection(options)
    target = _target(options)
    stamp = datetime.datetime.now(datetime.timezone.utc)
    run_name = run_name or f"{target.pipeline_name}-{stamp:%Y%m%d-%H%M%S}"
    run_id, url = kfp_client.submit(connection, target, run_name=run_name)
    click.echo(f"Run id: {run_id}")
    click.echo(f"Run URL: {url}")


@main.command(context_settings=_CONTEXT)
@_connection_options
@_run_options
@click.option(
    "--cron",
    required=True,
    help="When runs start: 5-field crontab, e.g. '0 3 * * 1' (Mondays "
    "03:00, KFP's time zone, usually UTC), or @daily/@weekly.",
)
@click.option(
    "--name",
    default=None,
    help="Schedule name; scheduling again under the same name replaces "
    "it. Default: <pipeline>-retrain.",
)
@click.option("--verbose", is_flag=True, help="Log every request step.")
@_usage_errors
def schedule(cron, name, verbose, **options) -> None:
    """Creates (or replaces) a recurring run of the spec.

    One run at a time, and no catch-up of times missed while paused.
    """
    _setup_logging(verbose)
    connection = _connection(options)
    target = _target(options)
    name = name or f"{target.pipeline_name}-retrain"
    recurring_id = kfp_client.schedule(connection, target, name=name, cron=cron)
    click.echo(f"Schedule {name}: {recurring_id}")


@main.command(context_settings=_CONTEXT)
@_connection_options
@click.option("--name", required=True, help="Schedule name to remove.")
@click.option(
    "--experiment",
    required=True,
    help="Experiment of the schedule (by default the pipeline name).",
)
@_usage_errors
def unschedule(name, experiment, **options) -> None:
    """Removes a recurring run by name."""
    _setup_logging(False)
    count = kfp_client.unschedule(
        _connection(options), name=name, experiment=experiment
    )
    click.echo(f"Removed {count} schedule(s) named {name}.")


@main.command(context_settings=_CONTEXT)
@_connection_options
@click.option(
    "--experiment",
    default=None,
    help="Only this experiment's schedules. Default: all visible ones.",
)
@_usage_errors
def schedules(experiment, **options) -> None:
    """Lists recurring runs: name, id, status, KFP cron expression."""
    _setup_logging(False)
    for recurring_run in kfp_client.schedules(
        _connection(options), experiment=experiment
    ):
        click.echo(kfp_client.describe(recurring_run))


@main.command("local-run", context_settings=_CONTEXT)
@click.option(
    "--package",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Pipeline spec YAML written by `compile`.",
)
@click.option(
    "--root",
    required=True,
    type=click.Path(file_okay=False),
    help="Local folder for the tasks' artifacts and logs.",
)
@click.option("--image-dir", default=None, help="As for submit.")
@click.option("--labels", "labels_csv", default=None, help="As for submit.")
@click.option("--epochs", default=None, type=int, help="As for submit.")
@click.option(
    "--param",
    "raw_params",
    multiple=True,
    help="As for submit: NAME=VALUE, repeatable.",
)
@click.option("--verbose", is_flag=True, help="Log each task's start.")
@_usage_errors
def local_run(package, root, verbose, **options) -> None:
    """Runs the spec's tasks here, each with its own container command.

    A check of a compiled spec before a cluster run: tasks run in
    dependency order as local processes with the image's environment
    (ENV of kubeflow/Dockerfile) and this checkout importable. Not a
    cluster: no Kubernetes, caching or ML Metadata.
    """
    _setup_logging(verbose)
    from kubeflow import local_run as runner
    from kubeflow import parameters as run_params

    spec = run_params.read_spec(package)
    values = run_params.run_parameters(
        spec,
        run_params.RunChanges(
            image_dir=options["image_dir"],
            labels_csv=options["labels_csv"],
            epochs=options["epochs"],
            raw=tuple(options["raw_params"]),
        ),
    )
    results = runner.run_spec(
        spec, os.path.abspath(root), values=values, env=task_env()
    )
    for result in results.values():
        click.echo(f"{result.name:<24}{result.seconds:8.1f} s")
    click.echo(runner.push_summary(results))


def task_env() -> dict[str, str]:
    """This process's environment plus the image's, with this checkout."""
    from kubeflow import local_run as runner

    env = {**os.environ, **runner.image_env(DOCKERFILE)}
    paths = [_REPO, env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


if __name__ == "__main__":
    main()
