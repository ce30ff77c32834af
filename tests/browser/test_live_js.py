"""live.js and socket.js (the incident and rescuer pages' live updates) in headless Chromium against a routed fake
server and a fake WebSocket: the real htmx, socket.js and live.js, no Django server. Two promises: an htmx form (a
phone reveal) does not stop the page from following the incident; a form the user has started filling in keeps the
version they decided on, so the server's optimistic lock refuses a decision taken on what has since changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

STATIC = Path(settings.BASE_DIR) / "linli" / "static"

FAKE_WS = """
window.__sockets = [];
window.WebSocket = function (url) { var s = this; window.__sockets.push(s); s.send = function () {};
  setTimeout(function () { s.onopen && s.onopen(); }, 10); };
window.__drop = function (code) { var s = window.__sockets[window.__sockets.length - 1];
  s.onclose && s.onclose({code: code}); };
window.__push = function () { window.__sockets.forEach(function (s) {
  s.onmessage && s.onmessage({data: JSON.stringify({type: "incident", id: 1})}); }); };
"""

RESCUE = """<!doctype html><html><head><meta charset="utf-8"><script src="/static/htmx.min.js"></script></head><body>
<div id="rescue" data-ws-path="/ws/dispatch/rescue/" data-version="1.{v}" data-t-live="Live" data-t-offline="Off">
<span id="live-state"></span>
<div id="rescue-live"><p id="status">version {v}</p>
<span id="call-resident"><form method="post" action="/reveal" hx-post="/reveal" hx-target="#call-resident">
<input type="hidden" name="target" value="resident"><button id="reveal">Show number to call</button></form></span>
</div></div>
<script src="/static/socket.js"></script><script src="/static/live.js"></script>
<script>window.LinliLive.follow(document.getElementById("rescue"), ["rescue-live"]);</script>
</body></html>"""

INCIDENT = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<div id="incident" data-ws-path="/ws/dispatch/incidents/1/" data-version="{v}" data-t-live="Live"
  data-t-offline="Off" data-t-changed="This incident was just updated.">
<span id="live-state"></span><span id="incident-status">{status}</span>
<div id="actions"><form method="post" action="/act/close" id="act-close">
<input type="hidden" name="version" value="{v}">
<select name="reason" id="c-reason"><option value="">-</option><option value="done">done</option></select>
<input name="outcome" id="c-outcome"><button id="c-submit">Close incident</button></form></div></div>
<script src="/static/socket.js"></script><script src="/static/live.js"></script>
<script>window.LinliLive.follow(document.getElementById("incident"), ["incident-status", "actions"]);</script>
</body></html>"""


def _open(browser, html, state, posted=None):
    page = browser.new_page()
    page.add_init_script(FAKE_WS)

    def handle(route, request):
        url = request.url
        if url.endswith("/static/htmx.min.js"):
            return route.fulfill(body=(STATIC / "vendor/htmx.min.js").read_text(), content_type="text/javascript")
        for name in ("socket.js", "live.js"):
            if url.endswith(f"/static/{name}"):
                return route.fulfill(body=(STATIC / "dispatch" / name).read_text(), content_type="text/javascript")
        if url.endswith("/reveal"):
            return route.fulfill(body='<a href="tel:13912345678">13912345678</a>', content_type="text/html")
        if request.method == "POST":
            if posted is not None:
                posted["body"] = request.post_data
            return route.fulfill(body="ok", content_type="text/plain")
        return route.fulfill(body=html.format(**state), content_type="text/html")

    page.route("http://linli.test/**", handle)
    return page


@pytest.mark.parametrize("reveal_first", [False, True])
def test_a_push_refreshes_the_page_even_after_a_phone_reveal(browser, reveal_first):
    state = {"v": 1}
    page = _open(browser, RESCUE, state)
    try:
        page.goto("http://linli.test/dispatch/rescue/")
        page.wait_for_function("document.getElementById('rescue').dataset.live === 'on'")
        if reveal_first:
            page.click("#reveal")
            page.wait_for_selector("a[href='tel:13912345678']")
        state["v"] = 2  # a dispatcher changes the incident; the server pushes "incident changed"
        page.evaluate("window.__push()")
        page.wait_for_function("document.getElementById('status').textContent === 'version 2'", timeout=5000)
    finally:
        page.close()


def test_a_half_made_decision_keeps_its_version_and_the_user_is_told(browser):
    state = {"v": 3, "status": "called back"}
    posted: dict = {}
    page = _open(browser, INCIDENT, state, posted)
    try:
        page.goto("http://linli.test/dispatch/incidents/1/")
        page.wait_for_function("document.getElementById('incident').dataset.live === 'on'")
        page.select_option("#c-reason", "done")
        page.fill("#c-outcome", "回访老人无事")
        state.update(v=4, status="rescuer dispatched")  # a colleague sends a rescuer meanwhile
        page.evaluate("window.__push()")
        page.wait_for_function("document.getElementById('incident').dataset.version === '4'")
        assert page.inner_text("#incident-status") == "rescuer dispatched"  # the untouched part follows
        assert page.inner_text("#live-notice") == "This incident was just updated."
        assert page.eval_on_selector("#c-reason", "e => e.value") == "done"  # nothing typed is lost
        page.click("#c-submit")
        page.wait_for_function("document.body.textContent.trim() === 'ok'")
        assert "version=3" in posted["body"], posted["body"]  # the server's lock sees the stale decision
    finally:
        page.close()


@pytest.mark.parametrize(("code", "reconnects"), [(1006, True), (4403, False)])
def test_a_dropped_socket_reconnects_and_refreshes_a_refused_one_only_polls(browser, code, reconnects):
    # socket.js: a dropped connection comes back (and the page fetches what it missed); a refusal (4403 not
    # allowed, 4404 no such incident) is final, and the page falls back to polling itself
    state = {"v": 1}
    page = _open(browser, RESCUE, state)
    try:
        page.goto("http://linli.test/dispatch/rescue/")
        page.wait_for_function("document.getElementById('rescue').dataset.live === 'on'")
        state["v"] = 2
        page.evaluate(f"window.__drop({code})")
        page.wait_for_function("document.getElementById('rescue').dataset.live === 'off'")
        page.wait_for_timeout(1500)  # the first retry comes after 1 s
        assert page.evaluate("window.__sockets.length") == (2 if reconnects else 1)
        if reconnects:  # back on, and what changed while away is on the page
            page.wait_for_function("document.getElementById('rescue').dataset.live === 'on'")
            page.wait_for_function("document.getElementById('status').textContent === 'version 2'")
    finally:
        page.close()
