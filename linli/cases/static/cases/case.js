/* The case page's small map: the case's point on its grid boundary. Tiles only when the site configures them. */
(function () {
  "use strict";
  if (typeof L === "undefined") return;
  var GRID_STYLE = { color: "#1c5fa8", weight: 2, fillColor: "#5b9bd5", fillOpacity: 0.12 };
  var POINT_STYLE = { radius: 8, color: "#b03a2e", weight: 3, fillColor: "#b03a2e", fillOpacity: 0.85 };
  document.querySelectorAll(".case-map[data-point]").forEach(function (box) {
    var source = document.getElementById(box.dataset.point);
    if (!source) return;
    var p = JSON.parse(source.textContent);
    var tiles = box.dataset.tiles;
    var map = L.map(box, { attributionControl: !!tiles, zoomControl: true, scrollWheelZoom: false, zoomSnap: 0.25 });
    if (tiles) L.tileLayer(tiles, { attribution: box.dataset.attribution || "", maxZoom: 19 }).addTo(map);
    var point = L.latLng(p.lat, p.lng);
    map.setView(point, 17);  // a view first: vector layers need one to draw
    var bounds = L.latLngBounds([point, point]);
    if (p.boundary) {
      try {
        var grid = L.geoJSON(p.boundary, { style: function () { return GRID_STYLE; } }).addTo(map);
        if (grid.getLayers().length) bounds.extend(grid.getBounds());
      } catch (e) { /* a malformed boundary must not hide the point */ }
    }
    L.circleMarker(point, POINT_STYLE).addTo(map);
    if (!bounds.getNorthEast().equals(bounds.getSouthWest())) map.fitBounds(bounds, { padding: [16, 16], maxZoom: 18 });
  });
})();
