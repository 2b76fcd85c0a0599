"""A hostile or plain-http evidence server: tokens never travel over http:// unless the org opts in,
and a server that reflects the token in its error body never gets it printed."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from security.hostile import demo, tree  # noqa: F401  (demo is a fixture)

from gooseterm.orgconfig import bundled_config_dir

TOKEN = "ghp_s3cr3tT0kenThatMustNeverBePrinted0123"


class Reflector(BaseHTTPRequestHandler):
    """Answers every request with an error whose body repeats the credentials it was sent."""

    seen: list[dict] = []
    status = 401

    def do_GET(self):  # noqa: N802 (http.server's name)
        Reflector.seen.append(dict(self.headers))
        auth = self.headers.get("Authorization", "")
        body = (f'{{"message": "bad credentials: {auth} (token {auth.split(" ")[-1]})"}}' if Reflector.status < 500
                else f"upstream rejected {auth}\n")
        self.send_response(Reflector.status)
        self.send_header("Content-Type", "application/json" if Reflector.status < 500 else "text/plain")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Reflector.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Reflector)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def org_with_github(folder: Path, url: str, **extra) -> Path:
    shutil.copytree(bundled_config_dir(), folder)
    org = yaml.safe_load((folder / "org.yaml").read_text())
    org.setdefault("evidence_sources", {})["github"] = {"api_url": url, "repository": "acme/${service}",
                                                         "token_env": "GITHUB_TOKEN", "retries": 1, "timeout": "2s", **extra}
    (folder / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    return folder


def collect(cli, org: Path, **env):
    return cli("--config", org, "collect", "--service", "service-c", "--source", "github",
               env={"GITHUB_TOKEN": TOKEN, **env})


def test_a_token_is_not_sent_over_plain_http(cli, demo: Path, tmp_path: Path, server: str):
    org = org_with_github(tmp_path / "org", server)
    before = tree(demo.parent)
    run = collect(cli, org)
    assert run.code == 2
    assert "refusing to send the token over plain http://" in run.err and "allow_insecure_http: true" in run.err
    assert "GOOSETERM_ALLOW_INSECURE_HTTP=1" in run.err
    assert Reflector.seen == []
    assert TOKEN not in run.text
    assert {k: v for k, v in tree(demo.parent).items() if not k.startswith("sources")} == \
        {k: v for k, v in before.items() if not k.startswith("sources")}


@pytest.mark.parametrize("status", [401, 404, 500])
@pytest.mark.parametrize("opt_in", ["config", "env"])
def test_a_server_reflecting_the_token_never_gets_it_printed(cli, demo: Path, tmp_path: Path, server: str,
                                                             status: int, opt_in: str):
    Reflector.status = status
    org = org_with_github(tmp_path / "org", server, **({"allow_insecure_http": True} if opt_in == "config" else {}))
    run = collect(cli, org, **({"GOOSETERM_ALLOW_INSECURE_HTTP": "1"} if opt_in == "env" else {}))
    assert run.code == 2
    assert Reflector.seen and Reflector.seen[0]["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in run.text and TOKEN[4:20] not in run.text
    assert "***" in run.err and f"HTTP {status}" in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_a_literal_token_in_the_config_is_refused_without_echoing_it(cli, tmp_path: Path):
    org = org_with_github(tmp_path / "org", "https://api.github.com", token=TOKEN)
    run = cli("config", "check", org)
    assert run.code == 2
    assert "would put a secret in the config" in run.text and TOKEN not in run.text
