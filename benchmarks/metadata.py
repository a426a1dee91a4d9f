"""Reads what a pipeline run did from its ML Metadata store.

Seconds per component are the time between an execution's creation and
its last update: the component's driver, executor and publishing, without
the runner's own start-up.
"""

import os

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

_RUN_CONTEXT_TYPE = "pipeline_run"
_STATES = {
    metadata_store_pb2.Execution.COMPLETE: "ran",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
}


def open_store(sqlite_path: str) -> metadata_store.MetadataStore:
    """Opens an existing SQLite metadata store read-write."""
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = sqlite_path
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE
    )
    return metadata_store.MetadataStore(config)


def latest_run(store: metadata_store.MetadataStore) -> list[dict]:
    """The components of the newest pipeline run, in the order they ran.

    Returns:
      One dict per execution: `component` (its type, e.g. `Transform`),
      `state` (ran, cached, failed or other), `seconds`, and `outputs`:
      bytes on disk of each output artifact, keyed by output name.
    """
    runs = store.get_contexts_by_type(_RUN_CONTEXT_TYPE)
    if not runs:
        return []
    newest = max(runs, key=lambda c: c.create_time_since_epoch)
    executions = sorted(
        store.get_executions_by_context(newest.id),
        key=lambda e: e.create_time_since_epoch,
    )
    outputs = _output_sizes(store, [e.id for e in executions])
    types = {t.id: t.name for t in store.get_execution_types()}
    return [
        {
            "component": types[e.type_id].rsplit(".", 1)[-1],
            "state": _STATES.get(e.last_known_state, "other"),
            "seconds": (
                e.last_update_time_since_epoch - e.create_time_since_epoch
            )
            / 1000.0,
            "outputs": outputs.get(e.id, {}),
        }
        for e in executions
    ]


def _output_sizes(store, execution_ids: list[int]) -> dict[int, dict]:
    events = store.get_events_by_execution_ids(execution_ids)
    wanted = [
        e
        for e in events
        if e.type
        in (
            metadata_store_pb2.Event.OUTPUT,
            metadata_store_pb2.Event.DECLARED_OUTPUT,
        )
    ]
    artifacts = {
        a.id: a
        for a in store.get_artifacts_by_id([e.artifact_id for e in wanted])
    }
    sizes: dict[int, dict] = {}
    for event in wanted:
        key = event.path.steps[0].key if event.path.steps else "output"
        uri = artifacts[event.artifact_id].uri
        sizes.setdefault(event.execution_id, {})[key] = tree_bytes(uri)
    return sizes


def tree_bytes(path: str) -> int:
    """Bytes of the files at `path`, or below it at any depth."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total
