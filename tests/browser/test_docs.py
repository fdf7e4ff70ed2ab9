"""The OpenAPI page renders from the server's own files under the strict CSP."""

from __future__ import annotations

from typing import Any

from support import ServerProcess


def test_the_docs_page_lists_every_route_and_loads_nothing_from_elsewhere(
    browser: Any, server: ServerProcess
) -> None:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    foreign: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: None if r.url.startswith(server.url) else foreign.append(r.url))
    page.goto(server.url + "/docs")
    page.locator(".opblock").first.wait_for()
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/api/auth/register", "/api/conversations/{conversation_id}/messages"} <= paths
    assert problems == []
    assert foreign == []
    context.close()
