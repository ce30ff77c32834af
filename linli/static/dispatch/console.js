/* The dispatch console: a live list of open life-safety alarms pushed over a WebSocket, with a sound,
   a flash, counters, how long each alarm has waited (ticking) and a map. Every action is an ordinary form
   POST (claim). /dispatch/#alarm-<id> (the shift lead's escalation link) scrolls to that alarm. */
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) return;
  var t = root.dataset;
  var list = document.getElementById("alarm-list");
  var state = document.getElementById("live-state");
  var soundBtn = document.getElementById("sound-toggle");
  var audio = new Audio(t.sound);
  var alarms = {};
  var markers = {};
  var map = null;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function time(iso) { return iso ? iso.substr(11, 8) : ""; }
  // the server's clock: the page says what time it was rendered, so a wrong PC clock does not skew "waiting"
  var skew = t.now ? Number(t.now) * 1000 - Date.now() : 0;
  function waitedText(iso) {
    var secs = Math.max(0, Math.floor((Date.now() + skew - Date.parse(iso)) / 1000));
    var m = Math.floor(secs / 60), s = secs % 60;
    return (m ? t.tWaitedMs.replace("{m}", m) : t.tWaitedS).replace("{s}", s);
  }
  function tick() {
    list.querySelectorAll(".waited[data-since]").forEach(function (el) { el.textContent = waitedText(el.dataset.since); });
  }
  setInterval(tick, 1000);
  function isOpen(a) { return a.status === "active" || a.status === "acknowledged"; }

  // ---- sound: browsers allow it only after a click, so it is a toggle the call-taker turns on
  var soundOn = localStorage.getItem("linli.console.sound") === "on";
  function showSound() {
    soundBtn.setAttribute("aria-pressed", soundOn ? "true" : "false");
    soundBtn.textContent = soundOn ? t.tSoundOn : t.tSoundOff;
  }
  soundBtn.addEventListener("click", function () {
    soundOn = !soundOn;
    localStorage.setItem("linli.console.sound", soundOn ? "on" : "off");
    showSound();
    if (soundOn) ring();
  });
  function ring() {
    if (!soundOn) return;
    try { audio.currentTime = 0; var p = audio.play(); if (p && p.catch) p.catch(function () {}); } catch (e) { /* no sound */ }
  }
  showSound();

  // ---- the list
  var mobilityLabels = JSON.parse(document.getElementById("mobility-labels").textContent);
  // the care profile travels as flags only (mobility code, spare key); its text is on the incident page
  function careTags(c) {
    if (!c) return "";
    var moving = c.mobility && c.mobility !== "independent" ? mobilityLabels[c.mobility] || c.mobility : t.tCare;
    return ' <span class="tag care care-flag" data-mobility="' + esc(c.mobility) + '">' + esc(moving) + "</span>" +
      (c.key ? ' <span class="tag care-key">' + esc(t.tCareKey) + "</span>" : "");
  }
  function row(a) {
    var li = document.createElement("li");
    li.id = "alarm-" + a.id;
    li.className = "alarm sev-" + a.severity + (a.claimed_by ? " claimed" : "");
    // no person (a home smoke detector, say): the device code is on the line below, not twice
    var who = a.resident ? " · " + esc(a.resident) + (a.age != null ? " · " + esc(a.age) + " " + esc(t.tYears) : "") : "";
    var html = '<div class="what"><span class="sev sev-' + esc(a.severity) + '">' + esc(a.severity_label) + "</span> " +
      "<strong>" + esc(a.type_label) + "</strong>" + who +
      (a.alone ? ' <span class="tag care alone">' + esc(t.tAlone) + "</span>" : "") + careTags(a.care) +
      '<div class="meta"><span class="place">' + esc(a.place || a.house || a.grid) + "</span><span>" + esc(a.street) + "</span>" +
      '<span class="mono">' + esc(a.device) + "</span>" +
      '<time datetime="' + esc(a.raised_at) + '">' + esc(t.tReceived) + " " + esc(time(a.raised_at)) + "</time>" +
      (a.count > 1 ? "<span>×" + esc(a.count) + "</span>" : "") +
      (!a.claimed_by && a.status === "active" ? '<span class="waited" data-since="' + esc(a.raised_at) + '">' + esc(waitedText(a.raised_at)) + "</span>" : "") +
      (a.escalated && !a.claimed_by ? '<span class="tag care escalated">' +
        esc(a.escalated_to && a.escalated_to.length ? t.tEscalatedTo + " " + a.escalated_to.join("、") : t.tEscalated) + "</span>" : "") +
      (a.message ? "<span>" + esc(a.message) + "</span>" : "") + "</div></div>";
    if (a.claimed_by) {
      html += '<span class="taken">' + esc(t.tTakenBy) + " " + esc(a.claimed_by) + "</span>";
      if (a.incident && a.claimed_by_me) html += '<a class="button" href="' + esc(t.incidentUrl.replace("/0/", "/" + a.incident + "/")) + '">' + esc(t.tOpen) + "</a>";
    } else if (a.status === "active") {
      html += '<form method="post" action="' + esc(t.claimUrl.replace("/0/", "/" + a.id + "/")) + '">' +
        '<input type="hidden" name="csrfmiddlewaretoken" value="' + esc(t.csrf) + '">' +
        '<button class="primary claim">' + esc(t.tClaim) + "</button></form>";
    }
    li.innerHTML = html;
    return li;
  }

  function order(a, b) {
    var wa = a.claimed_by ? 1 : 0, wb = b.claimed_by ? 1 : 0;
    if (wa !== wb) return wa - wb;  // waiting alarms first
    if (a.rank !== b.rank) return a.rank - b.rank;
    return a.raised_at < b.raised_at ? -1 : a.raised_at > b.raised_at ? 1 : a.id - b.id;
  }

  var wanted = /^#alarm-\d+$/.test(location.hash) ? location.hash.substr(1) : null;
  function render(flashId) {
    var items = Object.keys(alarms).map(function (k) { return alarms[k]; }).sort(order);
    list.textContent = "";
    items.forEach(function (a) {
      var li = row(a);
      if (a.id === flashId) li.classList.add("flash");
      list.appendChild(li);
    });
    document.getElementById("empty").hidden = items.length > 0;
    var waiting = items.filter(function (a) { return !a.claimed_by && a.status === "active"; }).length;
    document.getElementById("n-waiting").textContent = waiting;
    document.getElementById("n-handling").textContent = items.length - waiting;
    document.getElementById("n-escalated").textContent = items.filter(function (a) { return a.escalated && !a.claimed_by; }).length;
    document.title = (waiting ? "(" + waiting + ") " : "") + t.title;
    if (wanted && document.getElementById(wanted)) {
      var target = document.getElementById(wanted);
      target.classList.add("wanted", "flash");
      target.scrollIntoView({ block: "center" });
      wanted = null;
    }
    drawMap(items);
  }

  function upsert(a, event) {
    a.claimed_by_me = a.claimed_by_id === Number(t.me);
    var isNew = !alarms[a.id];
    if (!isOpen(a)) { delete alarms[a.id]; render(); return; }
    alarms[a.id] = a;
    var loud = (isNew && !a.claimed_by) || event === "escalated";
    render(loud || isNew ? a.id : null);
    if (loud) ring();
    root.dataset.received = String(Number(root.dataset.received || "0") + 1);
  }

  // ---- map (our own points on a plain background; tiles only when configured)
  function drawMap(items) {
    if (typeof L === "undefined") return;
    var el = document.getElementById("console-map");
    if (!map) {
      map = L.map(el, { attributionControl: !!el.dataset.tiles, zoomSnap: 0.25, zoomControl: false });
      L.control.zoom({ zoomInTitle: t.tZoomIn, zoomOutTitle: t.tZoomOut }).addTo(map);
      if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
      map.setView([Number(el.dataset.lat) || 39.12, Number(el.dataset.lng) || 117.2], 13);
      if (!el.dataset.tiles && el.dataset.outline) drawOutline(el.dataset.outline);
    }
    var seen = {};
    var points = [];
    items.forEach(function (a) {
      if (a.lat == null || a.lng == null) return;
      seen[a.id] = true;
      var color = a.severity === "critical" ? "#c81e1e" : a.severity === "major" ? "#e8590c" : "#1c5fa8";
      // a fixed device (call button) is drawn at its building or grid: dashed, as the place is approximate
      var style = { className: "alarm-marker", radius: 9, color: color, weight: 3, fillColor: a.claimed_by ? "#ffffff" : color, fillOpacity: 0.85,
                    dashArray: a.located ? null : "4 3" };
      if (markers[a.id]) markers[a.id].setStyle(style);
      else markers[a.id] = L.circleMarker([a.lat, a.lng], style).addTo(map);
      markers[a.id].bindTooltip(esc(a.type_label) + " · " + esc(a.resident || a.device) + "<br>" + esc(a.place) +
        (a.located ? "" : " (" + esc(t.tApproxPlace) + ")"));
      points.push([a.lat, a.lng]);
    });
    Object.keys(markers).forEach(function (k) { if (!seen[k]) { map.removeLayer(markers[k]); delete markers[k]; } });
    if (points.length) map.fitBounds(points, { maxZoom: 16, padding: [30, 30] });
  }

  // without tiles: the grids of the user's area (and, close up, its buildings) from the places map's data, drawn
  // faintly under the alarms and named on hover, so that a dot on a grey box has a place
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }
  function drawOutline(url) {
    getJSON(url)
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: function () { return { className: "grid-outline", color: "#7b8794", weight: 1, fillColor: "#cbd2d9", fillOpacity: 0.15 }; },
          pointToLayer: function (f, at) {
            return L.circleMarker(at, { className: "building-outline", radius: 3, color: "#9aa5b1", weight: 1, fillOpacity: 0.4 });
          },
          onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.name)); }
        }).addTo(map);
        layer.bringToBack();
        if (!Object.keys(markers).length && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
      })
      .catch(function () { /* the alarms show without it */ });
  }

  // ---- the socket (socket.js), reconnecting; after a reconnect the list is reloaded (nothing missed while away)
  function reload() {
    return getJSON(t.alarmsUrl)
      .then(function (data) {
        alarms = {};
        data.alarms.forEach(function (a) { a.claimed_by_me = a.claimed_by_id === Number(t.me); alarms[a.id] = a; });
        render();
      })
      .catch(function () { /* the next reconnect tries again */ });
  }
  function connect() {
    LinliSocket.open(t.wsPath, {
      open: function (again) {
        state.textContent = t.tLive;
        state.className = "live-state on";
        root.dataset.live = "on";
        if (again) reload();
      },
      message: function (msg) { if (msg.type === "alarm") upsert(msg.alarm, msg.event); },
      close: function () {
        state.textContent = t.tOffline;
        state.className = "live-state off";
        root.dataset.live = "off";
      }
    });
  }

  JSON.parse(document.getElementById("console-alarms").textContent).forEach(function (a) {
    a.claimed_by_me = a.claimed_by_id === Number(t.me);
    alarms[a.id] = a;
  });
  render();
  connect();
})();
