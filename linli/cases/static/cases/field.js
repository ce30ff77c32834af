/* The report page: show only the chosen "where" panel, list chosen photos (and refuse wrong ones before
   sending), and a pin map on our own grid boundaries (WGS-84, no online tiles unless configured).
   Without JavaScript the form still works: every panel shows and the server checks everything. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  document.documentElement.classList.add("js");

  function fmt(template, name) { return template.replace("%(name)s", name); }

  /* ---- where: home / grid / map */
  var radios = form.querySelectorAll('input[name="where"]');
  var panels = form.querySelectorAll(".where-panel");
  var mapStarted = false;
  function showWhere() {
    var chosen = form.querySelector('input[name="where"]:checked');
    var value = chosen ? chosen.value : (radios.length ? "" : "map");
    panels.forEach(function (p) { p.classList.toggle("active", p.dataset.where === value); });
    if (value === "map" && !mapStarted) { mapStarted = true; startMap(); }
  }
  radios.forEach(function (r) { r.addEventListener("change", showWhere); });

  /* ---- fixed on the spot */
  var self = document.getElementById("f-self");
  var selfPanel = document.getElementById("self-panel");
  function showSelf() { if (selfPanel) selfPanel.classList.toggle("active", !!(self && self.checked)); }
  if (self) self.addEventListener("change", showSelf);
  showSelf();

  /* ---- photos */
  var maxPhotos = parseInt(form.dataset.maxPhotos, 10) || 9;
  var maxBytes = parseInt(form.dataset.maxBytes, 10) || 8388608;
  var errorBox = document.getElementById("photo-error");
  var list = document.getElementById("photo-list");

  function say(text) {
    if (!errorBox) return;
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  function photoInputs() {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="photos"]'), function (i) {
      return i.files && i.files.length;
    });
  }

  function check(files) {
    for (var i = 0; i < files.length; i++) {
      var f = files[i];
      if (f.type && f.type.indexOf("image/") !== 0) return fmt(form.dataset.tNotImage, f.name);
      if (f.size > maxBytes) return fmt(form.dataset.tTooBig, f.name);
    }
    return "";
  }

  function thumb(file, onRemove) {
    var li = document.createElement("li");
    var img = document.createElement("img");
    img.alt = file.name;
    try { img.src = URL.createObjectURL(file); } catch (e) { /* old browsers: the name is enough */ }
    li.appendChild(img);
    if (onRemove) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "remove";
      b.textContent = form.dataset.tRemove;
      b.setAttribute("aria-label", form.dataset.tRemove + " " + file.name);
      b.addEventListener("click", onRemove);
      li.appendChild(b);
    }
    return li;
  }

  function render() {
    if (!list) return;
    list.innerHTML = "";
    var count = 0;
    photoInputs().forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (f) {
        count += 1;
        list.appendChild(thumb(f, function () {
          // a camera photo lives in its own input: drop that input; the album input is cleared whole
          if (input.classList.contains("taken")) input.parentNode.removeChild(input);
          else input.value = "";
          render();
        }));
      });
    });
    if (count > maxPhotos) say(form.dataset.tTooMany);
    return count;
  }

  form.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input.classList || !input.classList.contains("photo-input")) return;
    say("");
    var problem = check(input.files || []);
    if (problem) { input.value = ""; say(problem); }
    if (input.name === "photos" && !input.classList.contains("album") && input.files && input.files.length) {
      // keep the photo just taken in the form, and offer the camera again for the next one
      var slot = input.parentNode;
      var fresh = input.cloneNode();
      fresh.value = "";
      input.classList.add("taken");
      input.removeAttribute("id");
      form.appendChild(input);
      slot.appendChild(fresh);
    }
    if (input.name === "after_photos") {
      var after = document.getElementById("after-list");
      if (after) {
        after.innerHTML = "";
        Array.prototype.forEach.call(input.files || [], function (f) { after.appendChild(thumb(f)); });
      }
      return;
    }
    render();
  });

  form.addEventListener("submit", function (ev) {
    var count = render();
    if (count > maxPhotos) { ev.preventDefault(); say(form.dataset.tTooMany); errorBox.scrollIntoView(); }
  });

  /* ---- the pin map */
  function startMap() {
    var el = document.getElementById("pin-map");
    if (!el || typeof L === "undefined") return;
    var status = document.getElementById("pin-status");
    var lngInput = document.getElementById("f-lng"), latInput = document.getElementById("f-lat");
    var map = L.map(el, { attributionControl: !!el.dataset.tiles, zoomSnap: 0.25 });
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
    }
    var start = [parseFloat(el.dataset.lat) || 39.12, parseFloat(el.dataset.lng) || 117.2];
    map.setView(start, 16);
    var grids = L.geoJSON(null, {
      style: function () { return { color: "#1c5fa8", weight: 2, fillColor: "#5b9bd5", fillOpacity: 0.12 }; },
      onEachFeature: function (f, layer) { layer.bindTooltip(String(f.properties.name), { sticky: true }); }
    }).addTo(map);
    var marker = null;
    var drawnAround = null;

    function text(parts) {
      status.innerHTML = "";
      parts.forEach(function (p) {
        var span = document.createElement(p.strong ? "strong" : "span");
        if (p.cls) span.className = p.cls;
        span.textContent = p.text;
        status.appendChild(span);
        status.appendChild(document.createTextNode(" "));
      });
    }

    function load(lat, lng, pinned) {
      if (pinned) text([{ text: el.dataset.tChecking }]);
      var url = el.dataset.whereUrl + "?lng=" + encodeURIComponent(lng) + "&lat=" + encodeURIComponent(lat);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (!drawnAround || drawnAround.distanceTo([lat, lng]) > 1500) {
            grids.clearLayers();
            grids.addData(data.features || []);
            drawnAround = L.latLng(lat, lng);
          }
          if (!pinned) return;
          if (data.grid) {
            text([{ text: data.inside ? el.dataset.tIn : el.dataset.tNear },
                  { text: data.grid.community + " " + data.grid.name, strong: true }]);
          } else {
            text([{ text: data.error || el.dataset.tTap, cls: "error" }]);
          }
        })
        .catch(function () { if (pinned) text([{ text: el.dataset.tError, cls: "error" }]); });
    }

    function pin(latlng) {
      if (marker) marker.setLatLng(latlng);
      else {
        marker = L.marker(latlng, { draggable: true, keyboard: true }).addTo(map);
        marker.on("dragend", function () { pin(marker.getLatLng()); });
      }
      lngInput.value = latlng.lng.toFixed(6);
      latInput.value = latlng.lat.toFixed(6);
      load(latlng.lat, latlng.lng, true);
    }

    map.on("click", function (ev) { pin(ev.latlng); });
    if (el.dataset.pinned) pin(L.latLng(start[0], start[1]));
    else load(start[0], start[1], false);

    var me = document.getElementById("locate-me");
    if (me) {
      me.addEventListener("click", function () {
        if (!navigator.geolocation) { text([{ text: el.dataset.tNoGeo, cls: "error" }]); return; }
        navigator.geolocation.getCurrentPosition(
          function (pos) {
            // the browser gives WGS-84, the same datum as our boundaries
            var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
            map.setView(ll, 17);
            pin(ll);
          },
          function () { text([{ text: el.dataset.tNoGeo, cls: "error" }]); },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
        );
      });
    }
    setTimeout(function () { map.invalidateSize(); }, 0);
  }

  showWhere();
})();
