// Signet web UI: optional enhancements only; every page works without it.
(function () {
  "use strict";
  // Ask again before irreversible actions (the server still requires the
  // confirmation box).
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
  // On the request form, show only the fields of the chosen key mode.
  var form = document.getElementById("request-form");
  if (form) {
    var sync = function () {
      var m = form.querySelector("input[name=mode]:checked");
      var mode = m ? m.value : "csr";
      form.querySelectorAll(".mode-csr").forEach(function (el) { el.hidden = mode !== "csr"; });
      form.querySelectorAll(".mode-keygen").forEach(function (el) { el.hidden = mode !== "keygen"; });
    };
    form.querySelectorAll("input[name=mode]").forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }
  // On the profile form, show only the issuer settings of the chosen type.
  var issuer = document.getElementById("p-issuer");
  if (issuer) {
    var show = function () {
      document.querySelectorAll(".issuer-internal").forEach(function (el) { el.hidden = issuer.value !== "internal"; });
      document.querySelectorAll(".issuer-external").forEach(function (el) { el.hidden = issuer.value !== "external"; });
    };
    issuer.addEventListener("change", show);
    show();
  }
})();
