/* Linli case insight: the hot-spot map (our grid boundaries coloured by cases, offline) and ECharts charts. */
(function () {
  "use strict";

  var SCALE = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function notice(el, text) {
    var p = document.createElement("p");
    p.className = "map-notice";
    p.textContent = text;
    el.appendChild(p);
  }

  function colour(n, max) {
    if (!n || !max) return "#f4f4f4";
    var i = Math.min(SCALE.length - 1, Math.floor((Math.sqrt(n) / Math.sqrt(max)) * SCALE.length));
    return SCALE[Math.max(i, 0)];
  }

  function hotMap(el) {
    if (typeof L === "undefined") return;
    var t = el.dataset;
    var map = L.map(el, { attributionControl: !!t.tiles, zoomSnap: 0.25 });
    if (t.tiles) L.tileLayer(t.tiles, { attribution: t.attribution || "", maxZoom: 19 }).addTo(map);
    map.setView([39.12, 117.2], 12);
    fetch(t.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: function (f) {
            return { color: "#8a5a2b", weight: 1, fillColor: colour(f.properties.count, data.max), fillOpacity: 0.8 };
          },
          onEachFeature: function (f, lyr) {
            var p = f.properties;
            var url = data.links.grid.replace("area=0", "area=" + p.id);
            lyr.bindTooltip(esc(p.name) + ": " + p.count, { sticky: true });
            lyr.bindPopup("<strong>" + esc(p.name) + "</strong><br>" + esc(t.tCases) + ": " + p.count +
                          '<br><a href="' + esc(url) + '">' + esc(t.tOpen) + " ›</a>");
          }
        }).addTo(map);
        if (layer.getLayers().length) {
          map.fitBounds(layer.getBounds(), { padding: [16, 16], maxZoom: 17 });
          if (data.truncated) notice(el, t.tTruncated);
        } else {
          notice(el, t.tEmpty);
        }
      })
      .catch(function () { notice(el, t.tError); });
  }

  var mapEl = document.getElementById("hotmap");
  if (mapEl && mapEl.dataset.url) hotMap(mapEl);

  var source = document.getElementById("chart-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var words = document.getElementById("chart-words").dataset;
  var charts = [];

  function chart(id, option, empty) {
    var el = document.getElementById(id);
    if (!el) return;
    if (empty) { el.style.height = "auto"; el.textContent = words.none; el.className += " empty"; return; }
    var c = echarts.init(el, null, { renderer: "svg" });
    c.setOption(Object.assign({ grid: { left: 48, right: 16, top: 16, bottom: 40, containLabel: true },
                                tooltip: { trigger: "axis" }, animation: false }, option));
    charts.push(c);
  }

  var total = data.weekly.reduce(function (s, w) { return s + w.count; }, 0);
  chart("chart-weekly", {
    xAxis: { type: "category", data: data.weekly.map(function (w) { return w.week.slice(5); }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: words.cases, type: "line", data: data.weekly.map(function (w) { return w.count; }),
               areaStyle: { opacity: 0.15 }, itemStyle: { color: "#1c5fa8" } }]
  }, total === 0);

  chart("chart-categories", {
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: data.categories.map(function (c) { return c.name; }) },
    series: [{ name: words.cases, type: "bar", data: data.categories.map(function (c) { return c.count; }),
               itemStyle: { color: "#d94801" } }]
  }, data.categories.length === 0);

  chart("chart-grids", {
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: data.grids.map(function (g) { return g.name; }) },
    series: [{ name: words.cases, type: "bar", data: data.grids.map(function (g) { return g.count; }),
               itemStyle: { color: "#8a5a2b" } }]
  }, data.grids.length === 0);

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
