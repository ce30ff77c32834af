/* The incident page's small map: the place of the alarm on a plain background (tiles only when configured). */
(function () {
  "use strict";
  var el = document.getElementById("incident-map");
  if (!el || typeof L === "undefined") return;
  var map = L.map(el, { attributionControl: !!el.dataset.tiles });
  if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
  var at = [Number(el.dataset.lat), Number(el.dataset.lng)];
  map.setView(at, 16);
  L.circleMarker(at, { radius: 10, color: "#c81e1e", weight: 3, fillColor: "#c81e1e", fillOpacity: 0.8 }).addTo(map);
})();
