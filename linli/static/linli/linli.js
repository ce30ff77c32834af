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
  // the menu's "More" closes as menus do: a click elsewhere, Escape (focus back on "More"), or the keyboard's
  // focus leaving it; opened near the left edge, the drop-down opens to the right
  function dropDowns() {
    return Array.prototype.slice.call(document.querySelectorAll("details.nav-more[open]"));
  }
  function closeOutside(e) {
    dropDowns().forEach(function (d) { if (!d.contains(e.target)) d.removeAttribute("open"); });
  }
  document.addEventListener("click", closeOutside);
  document.addEventListener("focusin", closeOutside);
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    dropDowns().forEach(function (d) { d.removeAttribute("open"); d.querySelector("summary").focus(); });
  });
  document.querySelectorAll("details.nav-more").forEach(function (d) {
    d.addEventListener("toggle", function () {
      var list = d.querySelector(".nav-more-list");
      list.style.left = list.style.right = "";
      if (d.open && list.getBoundingClientRect().left < 0) { list.style.left = "0"; list.style.right = "auto"; }
    });
  });
})();
