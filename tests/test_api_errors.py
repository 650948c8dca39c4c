"""Error answers that cross modules: database refusals and a clock with seconds."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

ORDER = {"id": "SO-9001", "product": "GB200-NVL72", "quantity": 1,
         "due": "2026-12-20T00:00:00Z"}


def test_nul_characters_are_refused_never_a_500(client: Any) -> None:
    """A NUL in a path, a query or a body is never a 500 on either database; an id with
    a control character is refused by name."""
    for r in (
        client.get("/orders/a%00b"),
        client.get("/orders", params={"customer": "a\x00b"}),
        client.post("/orders", json=[{**ORDER, "customer": "x\x00y"}]),
    ):
        assert r.status_code < 500, r.text
    r = client.post("/orders", json=[{**ORDER, "id": "SO-\x00"}])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "[0].id"
    assert client.get("/orders", params={"product": "GB200-NVL72"}).json()["total"] >= 0


def test_factory_put_with_a_clock_that_has_seconds(
    make_client: Callable[..., AbstractContextManager[Any]],
) -> None:
    """The wall clock has seconds: a factory change is still accepted (a new version)."""
    with make_client(now="2026-11-30T10:17:42Z") as c:
        f = c.get("/factory").json()
        body = {k: f[k] for k in ("sites", "resources", "products")}
        body["sites"][0]["holidays"] = [*body["sites"][0].get("holidays", []), "2027-01-01"]
        r = c.put("/factory", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["version"] == f["version"] + 1
