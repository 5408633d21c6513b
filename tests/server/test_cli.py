"""`baton keys create|list|revoke` and the `serve` command's registration."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from baton.cli.serve_commands import register
from tests.server.conftest import CLINIC


def _keys_cli(tmp_path: Path) -> tuple[Path, typer.Typer, CliRunner, list[str]]:
    """A copy of the clinic, the serve commands' app, a runner and a --database option."""
    root = tmp_path / "clinic"
    shutil.copytree(CLINIC, root, ignore=shutil.ignore_patterns("*.db*"))
    app = typer.Typer()
    register(app)
    return root, app, CliRunner(), ["--database", f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"]


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    root, app, runner, db = _keys_cli(tmp_path)
    created = runner.invoke(app, ["keys", "create", str(root), "--account", "acme", *db])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("bk_")
    key_id = created.output.split()[1]
    listed = runner.invoke(app, ["keys", "list", str(root), *db])
    assert key_id in listed.output and "acme" in listed.output and secret not in listed.output
    assert secret[:7] + "…" in listed.output and secret[:8] not in listed.output  # masked
    revoked = runner.invoke(app, ["keys", "revoke", key_id, str(root), *db])
    assert revoked.exit_code == 0, revoked.output
    again = runner.invoke(app, ["keys", "revoke", key_id, str(root), *db])
    assert again.exit_code == 1
    assert "serve" in runner.invoke(app, ["--help"]).output
    typo = runner.invoke(app, ["keys", "create", str(root), "--account", "bad account!", *db])
    assert typo.exit_code == 2 and "is not an account id" in typo.output


def test_serve_starts_and_serves_widget_api_docs_and_metrics(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.server.standin import free_port

    root = tmp_path / "clinic"
    shutil.copytree(CLINIC, root, ignore=shutil.ignore_patterns("*.db*"))
    port = free_port()
    script = (
        "import typer, sys; from baton.cli.serve_commands import register; "
        "app = typer.Typer(); register(app); app(sys.argv[1:])"
    )
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 's.db'}"}
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", script, "serve", str(root), "--port", str(port)],
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    if httpx.get(url + "/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "not ready in time"
                time.sleep(0.1)
            assert "widget.js" in httpx.get(url + "/").text
            assert (
                httpx.get(url + "/widget.js")
                .headers["content-type"]
                .startswith("application/javascript")
            )
            assert httpx.get(url + "/docs").status_code == 200
            assert "/v1/conversations" in httpx.get(url + "/openapi.json").json()["paths"]
            assert "baton_turns" in httpx.get(url + "/metrics").text
            assert httpx.get(url + "/v1/bots").status_code == 401
        finally:
            process.terminate()
            process.wait(20)


def test_serve_caps_websocket_frames_by_the_body_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    root = tmp_path / "clinic"
    shutil.copytree(CLINIC, root, ignore=shutil.ignore_patterns("*.db*"))
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: seen.update(options))
    monkeypatch.setenv("BATON_MAX_BODY_BYTES", "10000")
    app = typer.Typer()
    register(app)
    served = CliRunner().invoke(app, ["serve", str(root), "--port", "18199"])
    assert served.exit_code == 0, served.output
    assert seen["ws_max_size"] == 40_000 and seen["port"] == 18199


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BATON_PORT", "abc", "a whole number from 1 to 65535"),
        ("BATON_PORT", "70000", "a whole number from 1 to 65535"),
        ("BATON_MAX_BODY_BYTES", "-5", "a whole number 1024 or more"),
        ("BATON_CONTACT_RATE_PER_MINUTE", "0", "a whole number 1 or more"),
        ("BATON_OUTBOX_POLL_SECONDS", "0", "a number more than 0"),
        ("BATON_OUTBOX_BACKOFF_SECONDS", "nan", "a number 0 or more"),
    ],
)
def test_bad_server_settings_in_the_environment_are_named(
    name: str, value: str, expected: str
) -> None:
    from baton.server.settings import ServerSettings, SettingInvalid

    with pytest.raises(SettingInvalid, match=f"{name}='{value}': expected {expected}"):
        ServerSettings.from_env(environ={name: value})
    assert ServerSettings.from_env(environ={"BATON_GC_FREEZE_SECONDS": "0"}).gc_freeze_seconds == 0


def test_serve_refuses_a_bad_setting_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "clinic"
    shutil.copytree(CLINIC, root, ignore=shutil.ignore_patterns("*.db*"))
    monkeypatch.setenv("BATON_PORT", "abc")
    app = typer.Typer()
    register(app)
    served = CliRunner().invoke(app, ["serve", str(root)])
    assert served.exit_code == 2
    assert "BATON_PORT='abc': expected a whole number" in served.output
    assert isinstance(served.exception, SystemExit)  # typer.Exit, not a traceback


def test_keys_revoke_takes_the_project_first_like_create_and_list(tmp_path: Path) -> None:
    root, app, runner, db = _keys_cli(tmp_path)
    key_ids = []
    for _ in range(2):
        created = runner.invoke(app, ["keys", "create", str(root), *db])
        key_ids.append(created.output.split()[1])
    first = runner.invoke(app, ["keys", "revoke", str(root), key_ids[0], *db])
    assert first.exit_code == 0 and f"revoked {key_ids[0]}" in first.output, first.output
    older_order = runner.invoke(app, ["keys", "revoke", key_ids[1], str(root), *db])
    assert older_order.exit_code == 0, older_order.output
    nowhere = runner.invoke(app, ["keys", "revoke", str(tmp_path / "nope"), key_ids[0], *db])
    assert nowhere.exit_code == 2 and "Invalid value for PROJECT" in nowhere.output


def test_keys_use_the_servers_database_wherever_they_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BATON_DATABASE_URL names the store for `keys` as for `serve`, and a relative
    `database_url` in baton.yml is read from the project folder, not the shell's."""
    root, app, runner, _db = _keys_cli(tmp_path)
    env_db = tmp_path / "server.db"
    monkeypatch.setenv("BATON_DATABASE_URL", str(env_db))
    created = runner.invoke(app, ["keys", "create", str(root), "--name", "k1"])
    assert created.exit_code == 0, created.output
    assert env_db.exists() and not (root / ".baton" / "baton.db").exists()

    monkeypatch.delenv("BATON_DATABASE_URL")
    baton_yml = root / "baton.yml"
    text = baton_yml.read_text()
    baton_yml.write_text(text.replace("settings:\n", "settings:\n  database_url: data/p.db\n", 1))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    made = runner.invoke(app, ["keys", "create", str(root), "--name", "k2"])
    assert made.exit_code == 0, made.output
    assert (root / "data" / "p.db").exists() and not (elsewhere / "data").exists()
    monkeypatch.chdir(root)
    listed = runner.invoke(app, ["keys", "list", "."])
    assert "k2" in listed.output


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("data/p.db", "{root}/data/p.db"),
        ("sqlite:///data/p.db", "sqlite:///{root}/data/p.db"),
        ("sqlite+aiosqlite:///data/p.db", "sqlite+aiosqlite:///{root}/data/p.db"),
        ("/srv/baton.db", "/srv/baton.db"),
        ("sqlite:////srv/baton.db", "sqlite:////srv/baton.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://u@db/baton", "postgresql://u@db/baton"),
    ],
)
def test_a_relative_database_path_is_the_project_folders(
    tmp_path: Path, written: str, expected: str
) -> None:
    from baton.project import load_project
    from baton.runtime.engine import project_database_url

    root, _app, _runner, _db = _keys_cli(tmp_path)
    baton_yml = root / "baton.yml"
    text = baton_yml.read_text()
    baton_yml.write_text(
        text.replace("settings:\n", f"settings:\n  database_url: '{written}'\n", 1)
    )
    assert project_database_url(load_project(root)) == expected.format(root=root)
