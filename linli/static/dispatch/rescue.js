/* The rescuer's phone page: share my position (browser geolocation → POST), and live updates (live.js): a new
   incident appears without a reload, with a sound and a vibration where the browser allows them. */
(function () {
  "use strict";
  var btn = document.getElementById("share-position");
  if (btn) {
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
  }

  var root = document.getElementById("rescue");
  if (!root || !root.dataset.wsPath || !window.LinliLive) return;
  var title = document.title;
  var audio = new Audio(root.dataset.sound);

  function alert() {
    try { var p = audio.play(); if (p && p.catch) p.catch(function () {}); } catch (e) { /* no sound */ }
    if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
    document.title = "(!) " + title;
    var card = document.getElementById("my-incident");
    if (card) { card.classList.add("flash"); card.scrollIntoView({ block: "start" }); }
  }

  window.LinliLive.follow(root, ["duty", "rescue-live"], {
    changed: function (before, after) {
      Array.prototype.forEach.call(document.querySelectorAll(".messages"), function (m) { m.remove(); });  // stale now
      var was = (before || "").split(".")[0], now = (after || "").split(".")[0];
      if (now && now !== was) alert();  // a new incident for me
      else if (!now) document.title = title;
    }
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) document.title = title; });
})();
