/* Small page behaviours shared by every page. */
(function () {
  "use strict";
  var toggle = document.querySelector(".menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // the menu's "More" drop-down closes when one clicks elsewhere, as menus do
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.nav-more[open]").forEach(function (d) {
      if (!d.contains(e.target) && !document.documentElement.classList.contains("elder")) d.removeAttribute("open");
    });
  });
})();
