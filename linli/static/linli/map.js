/* Linli maps: our own GeoJSON on a plain background; online tiles only when configured. */
(function () {
  "use strict";
  if (typeof L === "undefined") return;

  var GRID_STYLE = { color: "#1c5fa8", weight: 2, fillColor: "#5b9bd5", fillOpacity: 0.15 };
  var BUILDING_STYLE = { radius: 6, color: "#b03a2e", weight: 2, fillColor: "#ffffff", fillOpacity: 1 };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function baseMap(el, options) {
    var tiles = el.dataset.tiles;
    var map = L.map(el, Object.assign({ attributionControl: !!tiles, zoomSnap: 0.25 }, options || {}));
    if (tiles) {
      L.tileLayer(tiles, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
    }
    return map;
  }

  function notice(el, text) {
    var p = document.createElement("p");
    p.className = "map-notice";
    p.textContent = text;
    el.appendChild(p);
  }

  function popupFor(feature, links, el) {
    var p = feature.properties, t = el.dataset;
    var url = links[p.kind].replace("/0/", "/" + p.id + "/");
    var html = "<strong>" + esc(p.name) + "</strong>";
    if (p.kind === "grid") {
      html += '<br><span class="mono">' + esc(p.code) + "</span>";
      html += "<br>" + esc(t.tHouses) + ": " + p.houses;
      if (p.households !== undefined) html += "<br>" + esc(t.tHouseholds) + ": " + p.households;
      html += '<br><a href="' + esc(t.zoomUrl + "?area=" + p.id) + '">' + esc(t.tZoom) + "</a> · ";
    } else {
      html += "<br>";
    }
    return html + '<a href="' + esc(url) + '">' + esc(t.tOpen) + " ›</a>";
  }

  var el = document.getElementById("map");
  if (el && el.dataset.url) {
    var map = baseMap(el);
    map.setView([39.12, 117.2], 12);
    fetch(el.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: function (f) { return f.geometry.type === "Point" ? BUILDING_STYLE : GRID_STYLE; },
          pointToLayer: function (f, latlng) { return L.circleMarker(latlng, BUILDING_STYLE); },
          onEachFeature: function (f, lyr) {
            lyr.bindPopup(popupFor(f, data.links, el));
            lyr.bindTooltip(esc(f.properties.name), { sticky: true });
          }
        }).addTo(map);
        if (layer.getLayers().length) {
          map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 18 });
        } else {
          notice(el, el.dataset.tEmpty);
        }
      })
      .catch(function () { notice(el, el.dataset.tError); });
  }

  document.querySelectorAll(".minimap[data-geometry]").forEach(function (box) {
    var source = document.getElementById(box.dataset.geometry);
    if (!source) return;
    var geometry = JSON.parse(source.textContent);
    var mini = baseMap(box, { zoomControl: false, dragging: false, scrollWheelZoom: false,
                              doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false });
    var layer = L.geoJSON(geometry, { style: function () { return GRID_STYLE; } }).addTo(mini);
    mini.fitBounds(layer.getBounds(), { padding: [12, 12] });
  });
})();
