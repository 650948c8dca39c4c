"""`/factory`: the model, its versions, and refusals that name the fault (SQLite and
PostgreSQL)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from app.services.seed import sample_file

SAMPLE: dict[str, Any] = json.loads(sample_file("sample.json").read_text())
KEYS = ("sites", "resources", "products")


def factory(client: Any) -> dict[str, Any]:
    """The current factory as a PUT body."""
    body = client.get("/factory").json()
    return {k: body[k] for k in KEYS}


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def test_get_factory_is_the_sample(client: Any) -> None:
    """On a new database the factory is the sample's, as version 1."""
    r = client.get("/factory")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 1 and body["created_at"] == "2026-11-30T00:00:00Z"
    for kind in KEYS:
        assert [x["id"] for x in body[kind]] == [x["id"] for x in SAMPLE[kind]]


def test_put_unchanged_keeps_the_version(client: Any) -> None:
    """PUTting back the factory as GET gives it changes nothing: 200, still version 1."""
    r = client.put("/factory", json=factory(client))
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1


def test_put_changed_is_a_new_version(client: Any) -> None:
    """A change is a new version (201); the same change again is 200 with that version;
    the old version stays readable."""
    body = factory(client)
    body["resources"][0]["capacity"] = 2
    r = client.put("/factory", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["resources"][0]["capacity"] == 2
    again = client.put("/factory", json=body)
    assert again.status_code == 200 and again.json()["version"] == 2
    assert client.get("/factory").json()["version"] == 2
    old = client.get("/factory/versions/1").json()
    assert old["version"] == 1 and old["resources"][0]["capacity"] == 1
    assert client.get("/factory/versions/2").json()["resources"][0]["capacity"] == 2


def test_unknown_version_404(client: Any) -> None:
    """An unknown factory version is a 404 naming it."""
    body = problem(client.get("/factory/versions/99"), 404)
    assert "99" in body["detail"]
    problem(client.get("/factory/versions/one"), 422)


def test_unknown_site_on_resource_named(client: Any) -> None:
    """A resource on an unknown site is refused with a message naming both; nothing is
    stored."""
    body = factory(client)
    rid = body["resources"][0]["id"]
    body["resources"][0]["site"] = "MARS"
    err = problem(client.put("/factory", json=body), 422)
    assert any(rid in e["message"] and "MARS" in e["message"] for e in err["errors"])
    assert client.get("/factory").json()["version"] == 1


def test_naive_datetime_named(client: Any) -> None:
    """A downtime start without a UTC offset is refused naming its field path."""
    body = factory(client)
    body["resources"][1]["downtime"] = [{"start": "2026-12-03T00:00:00",
                                         "end": "2026-12-03T08:00:00Z"}]
    err = problem(client.put("/factory", json=body), 422)
    assert err["errors"][0]["field"] == "resources[1].downtime[0].start"


def test_other_faults_named(client: Any) -> None:
    """An unknown time zone, an alternative on an unknown resource, a repeated id, an
    unknown field and empty lists are each refused naming what is wrong."""
    body = factory(client)
    bad = copy.deepcopy(body)
    bad["sites"][0]["timezone"] = "Mars/Olympus"
    err = problem(client.put("/factory", json=bad), 422)
    assert err["errors"][0]["field"] == "sites[0].timezone"
    assert "Mars/Olympus" in err["errors"][0]["message"]

    bad = copy.deepcopy(body)
    bad["products"][1]["routing"][1]["alternatives"][0]["resource"] = "NOPE-01"
    err = problem(client.put("/factory", json=bad), 422)
    assert any("NOPE-01" in e["message"] and "GB300-NVL72" in e["message"]
               for e in err["errors"])

    bad = copy.deepcopy(body)
    bad["resources"].append(copy.deepcopy(bad["resources"][0]))
    err = problem(client.put("/factory", json=bad), 422)
    assert any(body["resources"][0]["id"] in e["message"] for e in err["errors"])

    bad = copy.deepcopy(body)
    bad["sites"][0]["colour"] = "red"
    err = problem(client.put("/factory", json=bad), 422)
    assert err["errors"][0]["field"] == "sites[0].colour"

    err = problem(client.put("/factory", json={"sites": [], "resources": [], "products": []}),
                  422)
    assert {e["field"] for e in err["errors"]} == set(KEYS)
    assert client.get("/factory").json()["version"] == 1


def test_no_factory_yet(make_client: Callable[..., AbstractContextManager[Any]]) -> None:
    """Without the sample there is no factory: GET is 409 and says to PUT one; a PUT makes
    version 1."""
    with make_client(load_sample=False) as c:
        body = problem(c.get("/factory"), 409)
        assert "PUT /factory" in body["detail"]
        r = c.put("/factory", json={k: SAMPLE[k] for k in KEYS})
        assert r.status_code == 201 and r.json()["version"] == 1


def test_openapi_example_factory_is_accepted(client: Any) -> None:
    """The factory example shown in /docs is a valid factory (a new version)."""
    from app.schemas.factory import EXAMPLE

    schema = client.get("/openapi.json").json()["components"]["schemas"]["FactoryIn"]
    assert schema["examples"] == [EXAMPLE]
    r = client.put("/factory", json=EXAMPLE)
    assert r.status_code == 201, r.text


def test_power_window_faults_named(client: Any) -> None:
    """Overlapping power windows of a site and one ending before it starts (SPEC section 6)
    are refused (422) naming the site's power_windows; nothing is stored. Windows that
    keep the rules are stored with the site."""
    body = factory(client)
    bad = copy.deepcopy(body)
    bad["sites"][0]["power_windows"] = [
        {"start": "2026-12-21T20:00:00Z", "end": "2026-12-21T23:00:00Z", "power_cap_kw": 300},
        {"start": "2026-12-21T22:00:00Z", "end": "2026-12-22T02:00:00Z", "power_cap_kw": 300},
        {"start": "2027-01-15T00:00:00Z", "end": "2027-01-14T00:00:00Z", "power_cap_kw": 900}]
    err = problem(client.put("/factory", json=bad), 422)
    text = " | ".join(f"{e.get('field')}: {e['message']}" for e in err["errors"])
    assert "power_windows[2].end" in text and "windows 0 and 1 overlap" in text, text
    assert client.get("/factory").json()["version"] == 1
    good = copy.deepcopy(body)
    good["sites"][0]["power_windows"] = bad["sites"][0]["power_windows"][:1]
    assert client.put("/factory", json=good).status_code == 201
    assert client.get("/factory").json()["sites"][0]["power_windows"] == [
        {"start": "2026-12-21T20:00:00Z", "end": "2026-12-21T23:00:00Z", "power_cap_kw": 300}]
