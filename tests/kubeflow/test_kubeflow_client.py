"""submit / schedule / unschedule / schedules against a recording fake API.

The server in fake_kfp.py answers like Kubeflow Pipelines' REST API, so
these tests show which requests the kfp client sends for each command; they
do not show that a real cluster accepts or runs them.
"""

import json

import pytest
from click.testing import CliRunner
from fake_kfp import API, Server
from kfp.client import client as kfp_client_module

from kubeflow import client, runner
from pipeline.pipeline import TRAINER_CONFIG_PARAMETER


@pytest.fixture
def kfp(monkeypatch, tmp_path):
    # The kfp client reads a user's saved context; keep it out.
    monkeypatch.setattr(
        kfp_client_module.Client,
        "_LOCAL_KFP_CONTEXT",
        str(tmp_path / "context.json"),
    )
    with Server() as server:
        yield server


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(runner.main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _submit(kfp, package, *extra) -> str:
    return _invoke(
        "submit", f"--host={kfp.url}", f"--package={package}", *extra
    )


def _schedule(kfp, package, *extra) -> str:
    return _invoke(
        "schedule",
        f"--host={kfp.url}",
        f"--package={package}",
        "--cron=0 3 * * 1",
        *extra,
    )


def test_submit_uploads_the_pipeline_and_starts_a_run(kfp, specs):
    output = _submit(kfp, specs["labels_csv"], "--epochs=3")

    (upload,) = kfp.state.calls("POST", f"{API}/pipelines/upload")
    (experiment,) = kfp.state.calls("POST", f"{API}/experiments")
    (run,) = kfp.state.calls("POST", f"{API}/runs")
    run_id = kfp.state.runs and next(iter(kfp.state.runs))
    assert upload.query["name"] == "kfp-labels"
    assert b"pipelineInfo" in upload.body["form"]["uploadfile"]
    assert experiment.body["display_name"] == "kfp-labels"
    reference = run.body["pipeline_version_reference"]
    (version,) = kfp.state.versions[reference["pipeline_id"]]
    assert reference["pipeline_version_id"] == version["pipeline_version_id"]
    assert run.body["experiment_id"] == experiment_id(kfp)
    trainer = json.loads(
        run.body["runtime_config"]["parameters"][TRAINER_CONFIG_PARAMETER]
    )
    assert trainer["epochs"] == 3
    assert f"Run id: {run_id}" in output
    assert f"Run URL: {kfp.url}/#/runs/details/{run_id}" in output


def experiment_id(kfp) -> str:
    (experiment,) = kfp.state.experiments.values()
    return experiment["experiment_id"]


def test_submit_adds_a_version_only_when_the_spec_changed(kfp, specs, tmp_path):
    changed = tmp_path / "changed.yaml"
    with open(specs["labels_csv"], encoding="utf-8") as f:
        changed.write_text(f.read() + "# changed\n")

    for package in (specs["labels_csv"], changed, changed):
        _submit(kfp, package)

    assert len(kfp.state.calls("POST", f"{API}/pipelines/upload")) == 1
    (added,) = kfp.state.calls("POST", f"{API}/pipelines/upload_version")
    assert added.query["name"].startswith("kfp-labels-")
    assert len(kfp.state.experiments) == 1
    versions = [
        run["pipeline_version_reference"]["pipeline_version_id"]
        for run in kfp.state.runs.values()
    ]
    assert versions[1] == versions[2] != versions[0]


def test_submit_passes_token_namespace_and_pipeline_root(kfp, specs):
    _submit(
        kfp,
        specs["class_dirs"],
        "--token=secret-token",
        "--namespace=team-vision",
        "--pipeline-root=gs://bucket/roots",
        "--experiment=weekly",
    )

    (experiment,) = kfp.state.calls("POST", f"{API}/experiments")
    (run,) = kfp.state.calls("POST", f"{API}/runs")
    assert all(
        r.headers.get("authorization") == "Bearer secret-token"
        for r in kfp.state.requests
    )
    assert experiment.body == {
        "display_name": "weekly",
        "namespace": "team-vision",
    }
    lookups = kfp.state.calls("GET", f"{API}/experiments")
    assert lookups[0].query["namespace"] == "team-vision"
    assert run.body["runtime_config"]["pipeline_root"] == "gs://bucket/roots"


def test_schedule_creates_one_run_at_a_time_without_catchup(kfp, specs):
    output = _schedule(kfp, specs["labels_csv"])

    (created,) = kfp.state.calls("POST", f"{API}/recurringruns")
    body = created.body
    assert body["display_name"] == "kfp-labels-retrain"
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * 1"
    assert int(body["max_concurrency"]) == 1
    assert body["no_catchup"] is True
    assert body["mode"] == "ENABLE"
    assert body["experiment_id"] == experiment_id(kfp)
    (recurring_id,) = kfp.state.recurring_runs
    assert f"Schedule kfp-labels-retrain: {recurring_id}" in output


def test_schedule_again_replaces_the_schedule_of_that_name(kfp, specs):
    _schedule(kfp, specs["labels_csv"])
    (first,) = kfp.state.recurring_runs

    _schedule(kfp, specs["labels_csv"], "--epochs=2")

    (deleted,) = kfp.state.calls("DELETE", f"{API}/recurringruns/{first}")
    (kept,) = kfp.state.recurring_runs.values()
    assert deleted
    assert kept["recurring_run_id"] != first
    trainer = json.loads(
        kept["runtime_config"]["parameters"][TRAINER_CONFIG_PARAMETER]
    )
    assert trainer["epochs"] == 2


def test_unschedule_removes_it_and_schedules_lists_what_is_left(kfp, specs):
    _schedule(kfp, specs["labels_csv"])
    _schedule(kfp, specs["labels_csv"], "--name=nightly", "--cron=@daily")
    connection = f"--host={kfp.url}"

    before = _invoke("schedules", connection, "--experiment=kfp-labels")
    removed = _invoke(
        "unschedule",
        connection,
        "--name=kfp-labels-retrain",
        "--experiment=kfp-labels",
    )
    after = _invoke("schedules", connection)

    assert "kfp-labels-retrain" in before and "nightly" in before
    assert "Removed 1 schedule(s) named kfp-labels-retrain." in removed
    assert "kfp-labels-retrain" not in after
    assert "nightly\t" in after and "0 0 0 * * *" in after


def test_unschedule_names_a_schedule_that_does_not_exist(kfp, specs):
    _schedule(kfp, specs["labels_csv"])

    result = CliRunner().invoke(
        runner.main,
        [
            "unschedule",
            f"--host={kfp.url}",
            "--name=missing",
            "--experiment=kfp-labels",
        ],
    )

    assert result.exit_code == 2
    assert "No schedule named 'missing' in experiment 'kfp-labels'" in (
        result.output
    )


@pytest.mark.parametrize(
    "crontab, expected",
    [
        ("0 3 * * 1", "0 0 3 * * 1"),
        ("*/15 8-18 * * MON-FRI", "0 */15 8-18 * * MON-FRI"),
        ("@weekly", "0 0 0 * * 0"),
    ],
)
def test_cron_to_kfp_adds_the_seconds_field(crontab, expected):
    assert client.cron_to_kfp(crontab) == expected


@pytest.mark.parametrize(
    "crontab, message",
    [
        ("0 0 3 * * 1", r"5 fields.*received 6 fields"),
        ("0 3 * *", r"received 4 fields"),
        ("0 3 * * 1;x", r"Invalid crontab field\(s\) \['1;x'\]"),
    ],
)
def test_cron_to_kfp_refuses_other_forms(crontab, message):
    with pytest.raises(ValueError, match=message):
        client.cron_to_kfp(crontab)
