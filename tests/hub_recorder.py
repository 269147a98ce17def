"""A push to the Hub with only the network transport replaced: huggingface_hub's own HTTP calls (create the repo,
validate the card's YAML, pre-upload, commit) are answered here and the commit is recorded, file by file; any other
request (a pull from the loopback olah server) goes to the real transport.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import httpx2

SHA = "c0ffee" * 6 + "c0ff"


@dataclass
class HubRecorder(httpx2.BaseTransport):
    """The Hub's write endpoints for ``endpoint``; ``repos`` the repos created, ``commits`` each commit's summary and
    files (path -> bytes), in order."""

    endpoint: str
    repos: list[dict] = field(default_factory=list)
    commits: list[dict] = field(default_factory=list)
    real: httpx2.BaseTransport | None = None  # where other requests go (none: answered 404, nothing leaves)
    clients: list[httpx2.Client] = field(default_factory=list)  # those built for huggingface_hub, closed at the end

    def close(self) -> None:
        for client in self.clients:
            client.close()
        if self.real is not None:
            self.real.close()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "POST" and path == "/api/repos/create":
            body = json.loads(request.content)
            self.repos.append(body)
            name = f"{body.get('organization') or 'me'}/{body['name']}"
            return httpx2.Response(200, json={"url": f"{self.endpoint}/{body.get('type', 'model')}s/{name}"})
        if request.method == "POST" and path == "/api/validate-yaml":
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        if request.method == "POST" and "/preupload/" in path:
            files = json.loads(request.content)["files"]
            answer = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
            return httpx2.Response(200, json={"files": answer})
        if request.method == "POST" and "/commit/" in path:
            return self._commit(request)
        if self.real is None:
            return httpx2.Response(404, json={"error": f"not recorded: {request.method} {path}"})
        return self.real.handle_request(request)

    def _commit(self, request: httpx2.Request) -> httpx2.Response:
        lines = [json.loads(line) for line in request.content.decode().splitlines()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        files = {
            line["value"]["path"]: base64.b64decode(line["value"]["content"]) for line in lines if line["key"] == "file"
        }
        repo = request.url.path.split("/commit/")[0].removeprefix("/api/")
        self.commits.append({"repo": repo, "summary": header.get("summary"), "files": files})
        url = f"{self.endpoint}/{repo}/commit/{SHA}"
        return httpx2.Response(200, json={"commitUrl": url, "commitOid": SHA, "pullRequestUrl": None})


def install(monkeypatch, endpoint: str | None = None) -> HubRecorder:
    """Route huggingface_hub's HTTP client through a new recorder for the rest of the test: for the Hub itself (its
    default endpoint, offline mode lifted: nothing leaves the machine), or a loopback ``endpoint`` whose other
    requests (pulls) pass through. Tests take it through the ``hub_recorder`` fixture, which closes it."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    recorder = HubRecorder(endpoint or constants.ENDPOINT, real=httpx2.HTTPTransport() if endpoint else None)
    if endpoint is None:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    def client() -> httpx2.Client:  # huggingface_hub's own client (its hooks, redirects, timeouts), our transport
        made = httpx2.Client(
            event_hooks={"request": [_http.hf_request_event_hook]}, follow_redirects=True, timeout=None,
            transport=recorder,
        )  # fmt: skip
        recorder.clients.append(made)
        return made

    monkeypatch.setattr(_http, "_GLOBAL_CLIENT_FACTORY", client)
    monkeypatch.setattr(_http, "_GLOBAL_CLIENT", None)  # the next request builds its client through the factory
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    return recorder
