/* The rescuer's phone page: share my position (browser geolocation → POST). */
(function () {
  "use strict";
  var btn = document.getElementById("share-position");
  if (!btn) return;
  var out = document.getElementById("position-state");
  btn.addEventListener("click", function (e) {
    e.preventDefault();
    if (!navigator.geolocation) { out.textContent = btn.dataset.tUnsupported; return; }
    out.textContent = btn.dataset.tLocating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var form = btn.form;
      var body = new FormData(form);
      body.set("lat", pos.coords.latitude);
      body.set("lng", pos.coords.longitude);
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
        .then(function (res) { out.textContent = res[0] ? btn.dataset.tShared : res[1].error; })
        .catch(function () { out.textContent = btn.dataset.tFailed; });
    }, function () { out.textContent = btn.dataset.tDenied; }, { enableHighAccuracy: true, timeout: 15000 });
  });
})();
