/* The dispatch pages' WebSocket (the console, the incident page, the rescuer's page):
   LinliSocket.open(path, on) connects to ws(s)://<this host><path>, pings every 25 s so that proxies keep it
   open, and reconnects with back-off (1 s doubling to 15 s) — unless the server refused it (4403: not allowed,
   4404: no such incident), when reconnecting cannot help. Callbacks: on.open(reconnecting) — reconnecting is
   true after a drop, when the page should fetch what it missed —, on.message(msg) with the parsed JSON, and
   on.close(event). */
(function () {
  "use strict";
  var PING_MS = 25000, RETRY_MAX_MS = 15000, REFUSED = { 4403: 1, 4404: 1 };

  function open(path, on) {
    var retry = 1000, pingTimer = null;
    function connect(reconnecting) {
      var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.onopen = function () {
        retry = 1000;
        pingTimer = setInterval(function () { ws.send(JSON.stringify({ type: "ping" })); }, PING_MS);
        if (on.open) on.open(reconnecting);
      };
      ws.onmessage = function (e) { if (on.message) on.message(JSON.parse(e.data)); };
      ws.onclose = function (e) {
        clearInterval(pingTimer);
        if (on.close) on.close(e);
        if (REFUSED[e.code]) return;
        setTimeout(function () { connect(true); }, retry);
        retry = Math.min(retry * 2, RETRY_MAX_MS);
      };
    }
    connect(false);
  }

  window.LinliSocket = { open: open };
})();
