"""`clinqa ui --auth user:pass` (or CLINQA_UI_AUTH): Gradio's login guards the UI; loopback by default."""
from __future__ import annotations

import socket

import pytest

from clinqa.errors import InputError
from ui.commands import bind_warning, parse_auth


def test_parse_auth():
    assert parse_auth("ana:s3cret:with:colons") == [("ana", "s3cret:with:colons")]
    assert parse_auth("ana:pw1, ben:pw2") == [("ana", "pw1"), ("ben", "pw2")]
    assert parse_auth(None) is None and parse_auth("  ") is None
    for bad in ("ana", ":pw", "ana:", "ana:pw,ben"):
        with pytest.raises(InputError):
            parse_auth(bad)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "clinic-server.example"])
def test_warning_when_reachable_from_other_machines_without_login(host):
    assert "without a login" in bind_warning(host, None)
    assert bind_warning(host, [("ana", "pw")]) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_no_warning_on_loopback(host):
    assert bind_warning(host, None) is None


def test_default_host_is_loopback():
    import typer

    from ui.commands import register

    app = typer.Typer()
    register(app)
    (cmd,) = app.registered_commands
    import inspect

    assert inspect.signature(cmd.callback).parameters["host"].default.default == "127.0.0.1"


def test_login_guards_the_app(tmp_path):
    pytest.importorskip("gradio")
    import httpx

    from clinqa.workspace import Workspace
    from ui.app import launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    app = launch(ws, host="127.0.0.1", port=port, backend="extractive", prevent_thread_lock=True, quiet=True,
                 auth=[("ana", "pw")])
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.get("/config").status_code in (401, 403)
            bad = c.post("/login", data={"username": "ana", "password": "wrong"})
            assert bad.status_code in (400, 401)
            ok = c.post("/login", data={"username": "ana", "password": "pw"})
            assert ok.status_code == 200
            assert c.get("/config").status_code == 200
    finally:
        app.close()
        app.clinqa_engines.close()
        ws.store.close()
