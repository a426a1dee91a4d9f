"""Compiled spec -> Kubeflow Pipelines: pipeline versions, runs, schedules.

Everything goes through the kfp client (REST API v2beta1). The kfp client
prints links on stdout; they are sent to stderr here so that commands print
only their own results.
"""

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import sys

logger = logging.getLogger(__name__)

# A crontab field: digits, names (MON, JAN), lists, ranges and steps.
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/-]+$")
_CRON_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True)
class Connection:
    """Where the Kubeflow Pipelines API is, and how to authenticate.

    Attributes:
      host: API endpoint, e.g. http://localhost:8080 after a port-forward
        of ml-pipeline-ui, or a Kubeflow gateway URL ending in /pipeline.
      namespace: Kubernetes namespace (multi-user Kubeflow); None for
        standalone Kubeflow Pipelines.
      token: bearer token sent with every request.
      cookies: cookie header, e.g. 'authservice_session=...'.
      ssl_ca_cert: CA bundle to verify the host's certificate.
    """

    host: str
    namespace: str | None = None
    token: str | None = None
    cookies: str | None = None
    ssl_ca_cert: str | None = None

    def client(self):
        """A kfp.Client for this connection."""
        import kfp

        with _quiet():
            return kfp.Client(
                host=self.host,
                namespace=self.namespace or "kubeflow",
                existing_token=self.token,
                cookies=self.cookies,
                ssl_ca_cert=self.ssl_ca_cert,
            )

    def run_url(self, run_id: str) -> str:
        """The Kubeflow UI page of a run."""
        return f"{self.host.rstrip('/')}/#/runs/details/{run_id}"


@dataclasses.dataclass(frozen=True)
class Target:
    """Which pipeline version runs, in which experiment, with what values.

    Attributes:
      package: compiled spec file.
      pipeline_name: the pipeline in Kubeflow; the spec's name when None.
      experiment: experiment name; the pipeline name when None.
      parameters: runtime parameter values that differ from the spec's.
      pipeline_root: artifact root of the runs; the spec's when None.
    """

    package: str
    pipeline_name: str
    experiment: str | None = None
    parameters: dict = dataclasses.field(default_factory=dict)
    pipeline_root: str | None = None

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.pipeline_name


def cron_to_kfp(expression: str) -> str:
    """Converts a 5-field crontab line to KFP's 6-field form (seconds first).

    Args:
      expression: `minute hour day-of-month month day-of-week`, or a macro
        such as @weekly. Day of week 0 is Sunday.

    Returns:
      The expression with a leading `0` seconds field.

    Raises:
      ValueError: for another number of fields or a malformed field.
    """
    text = _CRON_MACROS.get(expression.strip().lower(), expression)
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            "Expected a crontab schedule of 5 fields (minute hour "
            "day-of-month month day-of-week), e.g. '0 3 * * 1' for Mondays "
            f"at 03:00, received {len(fields)} fields: {expression!r}."
        )
    bad = [f for f in fields if not _CRON_FIELD.match(f)]
    if bad:
        raise ValueError(
            f"Invalid crontab field(s) {bad} in {expression!r}; expected "
            "numbers, names, '*', ',', '-' or '/'."
        )
    return " ".join(["0", *fields])


def upload(client, package: str, pipeline_name: str) -> tuple[str, str]:
    """Uploads the spec as a new pipeline, or as a version of it.

    A version is named after the pipeline and a digest of the file, so
    uploading the same file again reuses its version.

    Returns:
      (pipeline id, pipeline version id).
    """
    with open(package, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    version_name = f"{pipeline_name}-{digest}"

    with _quiet():
        pipeline_id = client.get_pipeline_id(pipeline_name)
        if pipeline_id is None:
            pipeline = client.upload_pipeline(package, pipeline_name)
            pipeline_id = pipeline.pipeline_id
            logger.info("Created pipeline %s (%s).", pipeline_name, pipeline_id)
            return pipeline_id, _newest_version(client, pipeline_id)
        existing = _find_version(client, pipeline_id, version_name)
        if existing:
            logger.info("Reusing pipeline version %s.", version_name)
            return pipeline_id, existing
        version = client.upload_pipeline_version(
            package, version_name, pipeline_id=pipeline_id
        )
    logger.info("Uploaded pipeline version %s.", version_name)
    return pipeline_id, version.pipeline_version_id


def submit(
    connection: Connection, target: Target, *, run_name: str
) -> tuple[str, str]:
    """Uploads the spec if needed and starts one run.

    Returns:
      (run id, run URL).
    """
    client = connection.client()
    pipeline_id, version_id = upload(
        client, target.package, target.pipeline_name
    )
    experiment_id = _experiment_id(client, connection, target)
    with _quiet():
        run = client.run_pipeline(
            experiment_id,
            run_name,
            params=target.parameters,
            pipeline_id=pipeline_id,
            version_id=version_id,
            pipeline_root=target.pipeline_root,
        )
    logger.info("Started run %s in experiment %s.", run.run_id, experiment_id)
    return run.run_id, connection.run_url(run.run_id)


def schedule(
    connection: Connection, target: Target, *, name: str, cron: str
) -> str:
    """Creates the recurring run `name`, replacing any of the same name.

    Runs start on `cron` (5-field crontab, evaluated by KFP, usually in
    UTC), one at a time, without catching up on missed times.

    Returns:
      The new recurring run's id.
    """
    kfp_cron = cron_to_kfp(cron)
    client = connection.client()
    pipeline_id, version_id = upload(
        client, target.package, target.pipeline_name
    )
    experiment_id = _experiment_id(client, connection, target)
    previous = _recurring_runs(client, experiment_id, name)
    with _quiet():
        created = client.create_recurring_run(
            experiment_id,
            name,
            cron_expression=kfp_cron,
            max_concurrency=1,
            no_catchup=True,
            params=target.parameters,
            pipeline_id=pipeline_id,
            version_id=version_id,
            pipeline_root=target.pipeline_root,
        )
        for old in previous:
            client.delete_recurring_run(old.recurring_run_id)
            logger.info("Replaced schedule %s.", old.recurring_run_id)
    return created.recurring_run_id


def unschedule(connection: Connection, *, name: str, experiment: str) -> int:
    """Deletes the recurring runs named `name` in `experiment`.

    Returns:
      How many were deleted.

    Raises:
      LookupError: when there is none of that name.
    """
    client = connection.client()
    experiment_id = _existing_experiment_id(client, connection, experiment)
    found = _recurring_runs(client, experiment_id, name)
    if not found:
        raise LookupError(
            f"No schedule named {name!r} in experiment {experiment!r}."
        )
    with _quiet():
        for run in found:
            client.delete_recurring_run(run.recurring_run_id)
    return len(found)


def schedules(connection: Connection, *, experiment: str | None) -> list:
    """The recurring runs of an experiment, or of the namespace when None."""
    client = connection.client()
    experiment_id = None
    if experiment:
        experiment_id = _existing_experiment_id(client, connection, experiment)
    return _recurring_runs(client, experiment_id, None, connection.namespace)


def describe(recurring_run) -> str:
    """One line: name, id, status, KFP cron expression."""
    trigger = recurring_run.trigger
    cron = (
        trigger.cron_schedule.cron if trigger and trigger.cron_schedule else ""
    )
    return "\t".join(
        [
            recurring_run.display_name or "",
            recurring_run.recurring_run_id or "",
            str(recurring_run.status or recurring_run.mode or ""),
            cron,
        ]
    )


def _experiment_id(client, connection: Connection, target: Target) -> str:
    with _quiet():
        experiment = client.create_experiment(
            target.experiment_name, namespace=connection.namespace
        )
    return experiment.experiment_id


def _existing_experiment_id(
    client, connection: Connection, experiment: str
) -> str:
    with _quiet():
        return client.get_experiment(
            experiment_name=experiment, namespace=connection.namespace
        ).experiment_id


def _newest_version(client, pipeline_id: str) -> str:
    with _quiet():
        response = client.list_pipeline_versions(
            pipeline_id, page_size=1, sort_by="created_at desc"
        )
    versions = response.pipeline_versions or []
    if not versions:
        raise RuntimeError(f"Pipeline {pipeline_id} has no version.")
    return versions[0].pipeline_version_id


def _find_version(client, pipeline_id: str, name: str) -> str | None:
    response = client.list_pipeline_versions(
        pipeline_id, page_size=_PAGE_SIZE, filter=_name_filter(name)
    )
    for version in response.pipeline_versions or []:
        if version.display_name == name:
            return version.pipeline_version_id
    return None


def _recurring_runs(client, experiment_id, name, namespace=None) -> list:
    found, token = [], ""
    while True:
        with _quiet():
            response = client.list_recurring_runs(
                page_token=token,
                page_size=_PAGE_SIZE,
                experiment_id=experiment_id,
                namespace=namespace if experiment_id is None else None,
                filter=_name_filter(name) if name else None,
            )
        found.extend(
            run
            for run in response.recurring_runs or []
            if name is None or run.display_name == name
        )
        token = response.next_page_token
        if not token:
            return found


def _name_filter(name: str) -> str:
    return json.dumps(
        {
            "predicates": [
                {
                    "operation": "EQUALS",
                    "key": "display_name",
                    "stringValue": name,
                }
            ]
        }
    )


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(sys.stderr):
        yield
