/* Counter: the demo card picker fills the payload; the signature pad draws with a finger, pen or mouse
   and puts a PNG in the form. No inline script (CSP). */
(function () {
  "use strict";
  function pad(canvas) {
    var ctx = canvas.getContext("2d");
    var form = canvas.closest("form");
    var field = form.querySelector('input[name="signature"]');
    var drawing = false, drawn = false;
    ctx.lineWidth = 4; ctx.lineCap = "round"; ctx.strokeStyle = "#1a1a1a";
    function point(e) {
      var r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
    }
    canvas.addEventListener("pointerdown", function (e) { drawing = true; var p = point(e); ctx.beginPath(); ctx.moveTo(p.x, p.y); canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener("pointermove", function (e) { if (!drawing) return; var p = point(e); ctx.lineTo(p.x, p.y); ctx.stroke(); drawn = true; });
    canvas.addEventListener("pointerup", function () { drawing = false; if (drawn) field.value = canvas.toDataURL("image/png"); });
    var clear = form.querySelector("[data-signature-clear]");
    if (clear) clear.addEventListener("click", function () { ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; field.value = ""; });
  }
  function init(root) {
    root.querySelectorAll("[data-signature-pad]").forEach(function (c) { if (!c.dataset.ready) { c.dataset.ready = "1"; pad(c); } });
    root.querySelectorAll("[data-demo-cards]").forEach(function (select) {
      select.addEventListener("change", function () {
        var payload = document.getElementById("payload");
        if (payload) payload.value = select.value;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target.parentNode || document); });
})();
