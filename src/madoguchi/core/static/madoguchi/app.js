// Madoguchi: small progressive enhancements. No inline scripts (CSP); Alpine's CSP build is loaded too.
(function () {
  "use strict";
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy[data-copy]");
    if (!button) { return; }
    copyText(button.getAttribute("data-copy")).then(function () {
      var original = button.textContent;
      button.textContent = "コピーしました";
      button.classList.add("copy--done");
      setTimeout(function () { button.textContent = original; button.classList.remove("copy--done"); }, 1500);
    });
  });
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) { event.detail.headers["X-CSRFToken"] = token.value; }
  });
})();
