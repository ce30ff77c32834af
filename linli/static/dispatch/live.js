/* Pages that follow incidents live: the dispatcher's incident page and the rescuer's phone page.

   LinliLive.follow(root, parts, hooks) opens the WebSocket at root.dataset.wsPath (socket.js: reconnecting with
   back-off, a ping every 25 s). The socket only says "incident <id> changed"; the page then fetches itself in the
   background and swaps its live parts (the ids in `parts`). While the socket is down the page polls itself
   every 20 s instead. root.dataset.version tells whether anything changed.
   A part holding a form the user has started filling in is not swapped: its forms keep the version the user
   decided on, so the server's optimistic lock refuses a decision taken on what has since changed, and a
   notice (root.dataset.tChanged) says the incident was updated. Submitting a form that leaves the page stops
   the background reloads (they would eat its message); an htmx form (a phone reveal) does not leave. */
(function () {
  "use strict";
  var POLL_MS = 20000;

  var SKIP = { hidden: 1, submit: 1, button: 1, reset: 1, image: 1 };

  function changed(el) {
    if (SKIP[el.type]) return false;
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") {
      var opts = Array.prototype.slice.call(el.options);
      var preset = opts.some(function (o) { return o.defaultSelected; });
      if (!preset) return el.selectedIndex > 0;  // the first option is the one shown by default
      return opts.some(function (o) { return o.selected !== o.defaultSelected; });
    }
    return el.value !== el.defaultValue;
  }

  function filledIn(part) {
    return Array.prototype.some.call(part.querySelectorAll("input, select, textarea"), changed);
  }

  function notice(root, text) {
    if (!text) return;
    var box = document.getElementById("live-notice");
    if (!box) {
      box = document.createElement("p");
      box.id = "live-notice";
      box.className = "live-notice";
      box.setAttribute("role", "status");
      root.insertBefore(box, root.firstChild);
    }
    box.textContent = text;
  }

  function follow(root, parts, hooks) {
    hooks = hooks || {};
    var t = root.dataset;
    var state = document.getElementById("live-state");
    var leaving = false, busy = false, again = false;
    var pollTimer = null;

    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (e.defaultPrevented) return;  // htmx (or a cancelled confirmation) keeps the page
      if (form && form.hasAttribute && (form.hasAttribute("hx-post") || form.hasAttribute("hx-get"))) return;
      leaving = true;
    });

    function show(on) {
      root.dataset.live = on ? "on" : "off";
      if (!state) return;
      state.textContent = on ? t.tLive : t.tOffline;
      state.className = "live-state " + (on ? "on" : "off");
    }

    function refresh() {
      if (leaving) return;
      if (busy) { again = true; return; }
      busy = true;
      fetch(location.pathname + location.search, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          if (leaving) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(root.id);
          if (!fresh || fresh.dataset.version === root.dataset.version) return;
          var before = root.dataset.version;
          var focused = document.activeElement && document.activeElement.id;
          var kept = false;
          parts.forEach(function (id) {
            var old = document.getElementById(id), neu = doc.getElementById(id);
            if (!old || !neu) return;
            if (filledIn(old)) { kept = true; return; }  // the user's half-made decision stays on its version
            var node = document.importNode(neu, true);
            old.replaceWith(node);
            if (window.htmx) window.htmx.process(node);
          });
          if (kept) notice(root, t.tChanged);
          root.dataset.version = fresh.dataset.version;
          root.dataset.updates = String(Number(root.dataset.updates || "0") + 1);
          if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
          if (hooks.changed) hooks.changed(before, fresh.dataset.version);
        })
        .catch(function () { /* the next push or poll tries again */ })
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }

    function poll(on) {
      clearInterval(pollTimer);
      pollTimer = on ? setInterval(refresh, POLL_MS) : null;
    }

    LinliSocket.open(t.wsPath, {
      open: function (reconnecting) {
        show(true);
        poll(false);
        if (reconnecting) refresh();  // nothing missed while away
      },
      message: function (msg) { if (msg.type === "incident") refresh(); },
      close: function () { show(false); poll(true); }  // refused (4403/4404): polling is all this page may do
    });
    return { refresh: refresh };
  }

  window.LinliLive = { follow: follow };
})();
