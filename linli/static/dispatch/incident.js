/* The incident page: the place on a small map (tiles only when configured), live updates when the rescuer or
   another dispatcher acts (live.js), and the false-alarm confirmation of the call-back form. */
(function () {
  "use strict";
  var el = document.getElementById("incident-map");
  if (el && typeof L !== "undefined") {
    var map = L.map(el, { attributionControl: !!el.dataset.tiles, zoomControl: false });
    L.control.zoom({ zoomInTitle: el.dataset.tZoomIn, zoomOutTitle: el.dataset.tZoomOut }).addTo(map);
    if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
    var at = [Number(el.dataset.lat), Number(el.dataset.lng)];
    map.setView(at, 16);
    L.circleMarker(at, { radius: 10, color: "#c81e1e", weight: 3, fillColor: "#c81e1e", fillOpacity: 0.8 }).addTo(map);
  }

  // a false alarm closes the incident: the note and the confirmation box become required (the server checks too)
  function falseAlarm() {
    var outcome = document.getElementById("cb-outcome");
    var box = document.getElementById("cb-confirm-box");
    if (!outcome || !box) return;
    var on = outcome.value === "false_alarm";
    box.hidden = !on;
    document.getElementById("cb-confirm").required = on;
    document.getElementById("cb-note").required = on;
    document.getElementById("cb-note").minLength = on ? 4 : 0;
  }
  document.addEventListener("change", function (e) { if (e.target && e.target.id === "cb-outcome") falseAlarm(); });
  falseAlarm();

  var root = document.getElementById("incident");
  if (root && window.LinliLive) {
    window.LinliLive.follow(root, ["incident-status", "chain", "place-facts", "actions", "events"], {
      changed: function () {
        falseAlarm();
        // a flash message ("Rescuer dispatched…") speaks of the page as it was: once the incident moved on, it goes
        Array.prototype.forEach.call(document.querySelectorAll(".messages"), function (m) { m.remove(); });
        var status = document.getElementById("incident-status");
        if (status) { status.classList.remove("flash"); void status.offsetWidth; status.classList.add("flash"); }
      }
    });
  }
})();
