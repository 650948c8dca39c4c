"""The browser pages and their assets (app/routes/pages.py): each page rendered from the one
layout (app/templates/); tests/test_browser.py drives them in headless Chromium."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from app.routes.pages import TEMPLATES, templates


def problem_json(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize(("path", "needle"), [
    ("/", "/static/index.js"),
    ("/schedules/abc/view", "/static/gantt.js"),
    ("/ui/orders", "/static/orders.js"),
    ("/ui/compare?a=x&b=y", "/static/compare.js"),
    ("/ui/exceptions", "/static/exceptions.js"),
    ("/docs", "/static/swagger-init.js"),
    ("/redoc", "/static/redoc-init.js"),
])
def test_pages_are_html_with_their_own_scripts(client: Any, path: str, needle: str) -> None:
    """Each page is HTML that loads its scripts from this service (no CDN)."""
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert needle in r.text
    assert "http://" not in r.text and "https://" not in r.text


def test_assets_are_served_and_paths_are_checked(client: Any) -> None:
    """Scripts and styles come with their media types; other names are 404."""
    r = client.get("/static/gantt.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "class Gantt" in r.text
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    problem_json(client.get("/static/nope.js"), 404)
    problem_json(client.get("/static/..%2Fmain.py"), 404)
    assert client.get("/static/../main.py").status_code == 404


class Outline(HTMLParser):
    """What a page shows around its content: title, body class, nav links (href, label,
    current), stylesheets, icons and scripts, and how many heads and headers it has."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.title = ""
        self.body_class: str | None = None
        self.nav: list[tuple[str, str, bool]] = []
        self.links: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self.heads = self.headers = 0
        self._in: list[str] = []
        self._link: dict[str, str | None] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._in.append(tag)
        if tag == "head":
            self.heads += 1
        elif tag == "header":
            self.headers += 1
        elif tag == "body":
            self.body_class = a.get("class")
        elif tag == "link":
            self.links.append((a.get("rel") or "", a.get("href") or ""))
            self._in.pop()  # a void element
        elif tag == "meta":
            self._in.pop()
        elif tag == "script":
            self.scripts.append(a.get("src") or "")
        elif tag == "a" and "nav" in self._in:
            self._link = a

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]
        if tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "title":
            self.title += data
        elif self._link is not None and data.strip():
            self.nav.append((self._link.get("href") or "", data.strip(),
                             self._link.get("aria-current") == "page"))


NAV = [("/", "Plan"), ("/ui/exceptions", "Exceptions"), ("/ui/compare", "Compare"),
       ("/ui/orders", "Orders"), ("/ui/capacity", "Capacity"), ("/docs", "API")]


@pytest.mark.parametrize(("path", "title", "current", "body_class", "scripts"), [
    ("/", "rackplan", "/", None, ["api", "gantt", "gantt-explain", "upload", "plan", "index"]),
    ("/schedules/abc/view", "Schedule — rackplan", None, "full",
     ["api", "gantt", "gantt-explain", "plan", "view", "gantt-pins"]),
    ("/ui/orders", "Orders — rackplan", "/ui/orders", None, ["api", "upload", "orders"]),
    ("/ui/compare", "Compare plans — rackplan", "/ui/compare", None,
     ["api", "gantt", "plan", "compare"]),
    ("/ui/exceptions", "Exceptions — rackplan", "/ui/exceptions", None,
     ["api", "plan", "exceptions"]),
])
def test_each_page_has_the_layouts_head_and_nav(
    client: Any, path: str, title: str, current: str | None, body_class: str | None,
    scripts: list[str],
) -> None:
    """Each page is the one layout: its own title, one head with the style sheet and the
    icon, one header whose nav lists Plan, Orders and API with the page's own entry
    marked current, and the page's scripts in load order."""
    page = Outline(client.get(path).text)
    assert page.title == title
    assert page.heads == 1 and page.headers == 1
    assert page.links[:2] == [("stylesheet", "/static/style.css"),
                              ("icon", "/static/favicon.svg")]
    # a page's own style sheets, after the layout's, from this service too
    assert all(rel == "stylesheet" and href.startswith("/static/") and href.endswith(".css")
               for rel, href in page.links[2:])
    assert page.nav == [(href, label, href == current) for href, label in NAV]
    assert page.body_class == body_class
    assert page.scripts == [f"/static/{s}.js" for s in scripts]


def test_every_page_template_extends_the_layout() -> None:
    """No page template writes its own head or nav: each extends layout.html (but the API
    docs, which are Swagger UI's and ReDoc's own pages)."""
    names = sorted(p.name for p in TEMPLATES.glob("*.html"))
    assert names == ["capacity.html", "compare.html", "docs.html", "exceptions.html",
                     "index.html", "layout.html", "orders.html", "redoc.html", "scenarios.html",
                     "view.html"]
    for name in names:
        if name not in ("layout.html", "docs.html", "redoc.html"):
            text = (TEMPLATES / name).read_text(encoding="utf-8")
            assert text.startswith('{% extends "layout.html" %}'), name
            assert "<head" not in text and "<nav" not in text, name


def test_templates_escape_what_they_are_given() -> None:
    """Autoescape is on: a value with markup reaches the page as text."""
    html = templates.get_template("layout.html").render(
        body_class='"><script>alert(1)</script>', scripts=["x.js"])
    assert "<script>alert(1)" not in html
    assert 'class="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_api_docs_are_served_offline(client: Any) -> None:
    """/docs and /redoc load Swagger UI and ReDoc from this service, under a policy that
    allows no other origin; the bundles come with their media types; other names are 404."""
    for path, bundle in (("/docs", "/docs-assets/swagger-ui-bundle.js"),
                         ("/redoc", "/docs-assets/redoc.standalone.js")):
        r = client.get(path)
        assert r.status_code == 200 and bundle in r.text
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "http" not in csp
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in js.text
    css = client.get("/docs-assets/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")
    problem_json(client.get("/docs-assets/nope.js"), 404)
    problem_json(client.get("/docs-assets/..%2Fcore.py"), 404)
    assert client.get("/docs/oauth2-redirect").status_code == 404
