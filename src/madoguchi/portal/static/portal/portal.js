/* Resident portal behaviour: progressive only (every form works without it). No inline script (CSP). */
(function () {
  "use strict";

  function currentValue(form, name) {
    var inputs = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
    if (!inputs.length) return null;
    var values = [];
    inputs.forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.type === "checkbox" && inputs.length === 1) values.push(el.checked ? "true" : "false");
        else if (el.checked) values.push(el.value);
      } else if (el.value !== "") values.push(el.value);
    });
    return values;
  }

  function applyShowIf(form) {
    form.querySelectorAll("[data-show-if-name]").forEach(function (block) {
      var values = currentValue(form, block.dataset.showIfName);
      if (values === null) return; // the condition's field is on another step: the server decided
      block.hidden = values.indexOf(block.dataset.showIfEquals) === -1;
    });
  }

  function postalLookup(button) {
    var input = document.getElementById(button.dataset.postalLookup);
    var target = document.getElementById(button.dataset.addressTarget);
    var status = document.getElementById(button.dataset.postalLookup + "-status");
    var code = (input.value || "").replace(/[^0-9０-９]/g, "");
    code = code.replace(/[０-９]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xfee0); });
    if (code.length !== 7) { status.textContent = "郵便番号を7桁で入力してください。"; return; }
    status.textContent = "検索しています…";
    fetch("/api/v1/postal/" + code, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok || !res.body.length) { status.textContent = (res.body && res.body.message) || "住所が見つかりませんでした。"; return; }
        if (target && !target.value) target.value = res.body[0].full;
        else if (target) target.value = res.body[0].full + target.value.replace(res.body[0].full, "");
        status.textContent = "住所を入力しました: " + res.body[0].full + "（番地・部屋番号を続けて入力してください）";
        if (target) target.focus();
      })
      .catch(function () { status.textContent = "住所を検索できませんでした。手で入力してください。"; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.portal-form").forEach(function (form) {
      applyShowIf(form);
      form.addEventListener("change", function () { applyShowIf(form); });
    });
    document.querySelectorAll("[data-postal-lookup]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { postalLookup(button); });
    });
    document.querySelectorAll("[data-reveal]").forEach(function (box) {
      box.addEventListener("change", function () {
        var input = document.getElementById(box.dataset.reveal);
        if (input) input.type = box.checked ? "text" : "password";
      });
    });
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
