"""A stand-in Kubeflow Pipelines REST API (v2beta1) that records requests.

It keeps pipelines, versions, experiments, runs and recurring runs in
memory and answers with the JSON fields the kfp 2.5 client reads, enough
for the client to go on. It is not Kubeflow: no validation of specs, no
runs, no auth.
"""

import dataclasses
import email.parser
import email.policy
import http.server
import itertools
import json
import threading
import urllib.parse

API = "/apis/v2beta1"


@dataclasses.dataclass
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict
    body: object  # Parsed JSON, {"form": ...} for uploads, or None.
    headers: dict  # Lowercase names.


class FakeKfp:
    """In-memory state and the recorded requests."""

    def __init__(self):
        self.requests: list[Request] = []
        self.pipelines: dict[str, dict] = {}
        self.versions: dict[str, list[dict]] = {}
        self.experiments: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.recurring_runs: dict[str, dict] = {}
        self._ids = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def calls(self, method: str, path: str) -> list[Request]:
        """The recorded requests with this method and path."""
        return [
            r for r in self.requests if r.method == method and r.path == path
        ]


def _display_name_filter(query: dict) -> str | None:
    text = query.get("filter")
    if not text:
        return None
    for predicate in json.loads(text).get("predicates", []):
        if predicate.get("key") in ("display_name", "name"):
            return predicate.get("stringValue")
    return None


def _by_name(items, query):
    name = _display_name_filter(query)
    return [i for i in items if name is None or i["display_name"] == name]


class _Handler(http.server.BaseHTTPRequestHandler):
    state: FakeKfp  # Set on the subclass made per server.

    def log_message(self, *args):  # Keep test output quiet.
        pass

    def _record(self, method: str):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = None
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            body = {"form": _parse_form(content_type, raw)}
        elif raw:
            body = json.loads(raw)
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(method, url.path, query, body, headers)
        self.state.requests.append(request)
        return request

    def _reply(self, payload: dict, status: int = 200):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        request = self._record("GET")
        state, path, query = self.state, request.path, request.query
        if path == f"{API}/healthz":
            return self._reply({"multi_user": False})
        if path == f"{API}/pipelines":
            found = _by_name(state.pipelines.values(), query)
            return self._reply({"pipelines": found, "total_size": len(found)})
        if path.startswith(f"{API}/pipelines/") and path.endswith("/versions"):
            pipeline_id = path.split("/")[-2]
            versions = _by_name(state.versions.get(pipeline_id, []), query)
            if query.get("sort_by", "").endswith("desc"):
                versions = versions[::-1]
            size = int(query.get("page_size") or len(versions) or 1)
            return self._reply({"pipeline_versions": versions[:size]})
        if path == f"{API}/experiments":
            found = _by_name(state.experiments.values(), query)
            return self._reply({"experiments": found})
        if path == f"{API}/recurringruns":
            found = [
                r
                for r in _by_name(state.recurring_runs.values(), query)
                if not query.get("experiment_id")
                or r["experiment_id"] == query["experiment_id"]
            ]
            # The API names this list in camelCase, unlike the others.
            return self._reply({"recurringRuns": found})
        return self._reply({"error": f"no route {path}"}, 404)

    def do_POST(self):
        request = self._record("POST")
        state, path, query = self.state, request.path, request.query
        if path == f"{API}/pipelines/upload":
            pipeline = {
                "pipeline_id": state.new_id("pipeline"),
                "display_name": query["name"],
            }
            state.pipelines[pipeline["pipeline_id"]] = pipeline
            self._add_version(pipeline["pipeline_id"], query["name"])
            return self._reply(pipeline)
        if path == f"{API}/pipelines/upload_version":
            version = self._add_version(query["pipelineid"], query["name"])
            return self._reply(version)
        if path == f"{API}/experiments":
            experiment = {
                **request.body,
                "experiment_id": state.new_id("experiment"),
            }
            state.experiments[experiment["experiment_id"]] = experiment
            return self._reply(experiment)
        if path == f"{API}/runs":
            run = {**request.body, "run_id": state.new_id("run")}
            state.runs[run["run_id"]] = run
            return self._reply(run)
        if path == f"{API}/recurringruns":
            run = {
                **request.body,
                "recurring_run_id": state.new_id("recurring"),
                "status": "ENABLED",
            }
            state.recurring_runs[run["recurring_run_id"]] = run
            return self._reply(run)
        return self._reply({"error": f"no route {path}"}, 404)

    def do_DELETE(self):
        request = self._record("DELETE")
        prefix = f"{API}/recurringruns/"
        if request.path.startswith(prefix):
            self.state.recurring_runs.pop(request.path[len(prefix) :], None)
            return self._reply({})
        return self._reply({"error": f"no route {request.path}"}, 404)

    def _add_version(self, pipeline_id: str, name: str) -> dict:
        version = {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": self.state.new_id("version"),
            "display_name": name,
        }
        self.state.versions.setdefault(pipeline_id, []).append(version)
        return version


def _parse_form(content_type: str, raw: bytes) -> dict:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    return {
        part.get_param("name", header="content-disposition"): part.get_content()
        for part in message.iter_parts()
    }


class Server:
    """The fake API on 127.0.0.1, served from a thread; use as a context."""

    def __init__(self):
        self.state = FakeKfp()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "Server":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
