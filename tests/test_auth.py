"""API keys and roles (viewer, mes, planner), local mode, and `rackplan serve`'s refusals."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from app import cli
from app.auth import KeyConfigError, KeyStore, Role

VIEWER = "viewer-key-0123456789"
MES = "mes-key-0123456789abc"
PLANNER = "planner-key-0123456789"
KEYS = f"{VIEWER}:viewer, {MES}:mes,{PLANNER}:planner"
ROOT = Path(__file__).resolve().parents[1]
ORDER = [{"id": "SO-2001", "product": "GB300-NVL72", "quantity": 4,
          "due": "2026-12-20T00:00:00Z"}]
CSV = b"id,product,quantity,due\nSO-2002,NVSW-SPINE,2,2026-12-21\n"


@pytest.fixture
def keyed(make_client: Callable[..., AbstractContextManager[Any]]) -> Iterator[Any]:
    """A client of a service with three keys, one per role."""
    with make_client(api_keys=KEYS) as c:
        yield c


def as_(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["detail"]
    return body


def factory(c: Any) -> dict[str, Any]:
    body = c.get("/factory", headers=as_(VIEWER)).json()
    return {k: body[k] for k in ("sites", "resources", "products")}


def test_no_key_or_bad_key_is_401(keyed: Any) -> None:
    """Without a key, or with an unknown one, every endpoint but health answers 401."""
    for method, path in [("GET", "/orders"), ("GET", "/factory"), ("POST", "/orders"),
                         ("GET", "/orders/SO-1001"), ("DELETE", "/orders/SO-1001")]:
        r = keyed.request(method, path, json=ORDER if method == "POST" else None)
        body = problem(r, 401)
        assert "X-API-Key" in body["detail"]
        assert r.headers["www-authenticate"] == "X-API-Key"
        bad = keyed.request(method, path, headers=as_("not-a-key-0123456789"))
        assert "not valid" in problem(bad, 401)["detail"]
    problem(keyed.get("/orders", headers=as_(VIEWER[:-1])), 401)
    assert keyed.get("/healthz").status_code == 200


def test_viewer_reads_only(keyed: Any) -> None:
    """A viewer may read orders and the factory, not write orders, upload, cancel or
    change the factory (403 naming the role)."""
    assert keyed.get("/orders", headers=as_(VIEWER)).status_code == 200
    assert keyed.get("/orders/SO-1001", headers=as_(VIEWER)).status_code == 200
    assert keyed.get("/factory", headers=as_(VIEWER)).status_code == 200
    body = problem(keyed.post("/orders", json=ORDER, headers=as_(VIEWER)), 403)
    assert "viewer" in body["detail"]
    problem(keyed.post("/orders/upload", files={"file": ("o.csv", CSV, "text/csv")},
                       headers=as_(VIEWER)), 403)
    problem(keyed.delete("/orders/SO-1001", headers=as_(VIEWER)), 403)
    problem(keyed.put("/factory", json=factory(keyed), headers=as_(VIEWER)), 403)
    assert keyed.get("/orders/SO-1001", headers=as_(VIEWER)).json()["status"] == "open"
    assert keyed.get("/orders/SO-2001", headers=as_(VIEWER)).status_code == 404


def test_mes_writes_orders_not_the_factory(keyed: Any) -> None:
    """The MES key may post, upload and cancel orders but not change the factory."""
    r = keyed.post("/orders", json=ORDER, headers=as_(MES))
    assert r.status_code == 200 and r.json()["created"] == ["SO-2001"]
    r = keyed.post("/orders/upload", files={"file": ("o.csv", CSV, "text/csv")},
                   headers=as_(MES))
    assert r.status_code == 200 and r.json()["created"] == ["SO-2002"]
    assert keyed.delete("/orders/SO-2001", headers=as_(MES)).json()["status"] == "cancelled"
    changed = factory(keyed)
    changed["resources"][0]["capacity"] = 2
    body = problem(keyed.put("/factory", json=changed, headers=as_(MES)), 403)
    assert "mes" in body["detail"]
    assert keyed.get("/factory", headers=as_(MES)).json()["version"] == 1


def test_planner_may_do_everything(keyed: Any) -> None:
    """The planner key changes the factory and writes orders."""
    changed = factory(keyed)
    changed["resources"][0]["capacity"] = 2
    r = keyed.put("/factory", json=changed, headers=as_(PLANNER))
    assert r.status_code == 201 and r.json()["version"] == 2
    assert keyed.post("/orders", json=ORDER, headers=as_(PLANNER)).status_code == 200


def test_local_mode_caller_is_planner(client: Any) -> None:
    """With no keys configured every caller is a planner, with or without a header."""
    changed = factory(client)
    changed["resources"][0]["capacity"] = 2
    assert client.put("/factory", json=changed).status_code == 201
    assert client.get("/orders", headers=as_("anything")).status_code == 200


def test_keys_kept_hashed() -> None:
    """The key store finds each role by key and keeps no key in plain text."""
    store = KeyStore(KEYS)
    assert not store.local_mode
    found = [store.lookup(k) for k in (VIEWER, MES, PLANNER)]
    assert [p.role if p else None for p in found] == [Role.VIEWER, Role.MES, Role.PLANNER]
    assert store.lookup("nope") is None and store.lookup(None) is None
    state = repr(vars(store))
    assert all(k not in state for k in (VIEWER, MES, PLANNER))
    assert found[0] is not None and found[0].key_id not in VIEWER


@pytest.mark.parametrize(("spec", "words"), [
    ("short-key:planner", "16+ characters"),
    (f"{PLANNER}:admin", "unknown role 'admin'"),
    (f"{PLANNER}", "expected key:role"),
    (f"{PLANNER}:planner,:viewer", "entry 2"),
])
def test_malformed_keys_refused(spec: str, words: str) -> None:
    """A malformed RACKPLAN_API_KEYS names the entry and what is wrong."""
    with pytest.raises(KeyConfigError, match=re.escape(words)):
        KeyStore(spec)


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """`rackplan serve` must refuse before starting a server: starting one fails the test."""
    import uvicorn

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr(uvicorn, "run", refuse)
    monkeypatch.setenv("RACKPLAN_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'unused.db'}")


@pytest.mark.usefixtures("no_server")
def test_serve_public_without_keys_refused(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`rackplan serve --host 0.0.0.0` without keys exits 2 and says why."""
    monkeypatch.delenv("RACKPLAN_API_KEYS", raising=False)
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without API keys" in err
    assert "RACKPLAN_API_KEYS" in err


@pytest.mark.usefixtures("no_server")
@pytest.mark.parametrize("spec", ["short:planner", f"{PLANNER}:root", "no-role-here-0123456789"])
def test_serve_malformed_keys_refused(spec: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed RACKPLAN_API_KEYS makes `rackplan serve` exit 2 naming the fault."""
    monkeypatch.setenv("RACKPLAN_API_KEYS", spec)
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "bad configuration" in err and "RACKPLAN_API_KEYS entry 1" in err
