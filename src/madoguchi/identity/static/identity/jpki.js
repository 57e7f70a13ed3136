/* マイナンバーカード via the local card-reader bridge (docs/formats/jpki-bridge.md).
 *
 * - form[data-jpki-auth]: on submit, POST {bridge}/auth {challenge} -> {certificate, chain, signature},
 *   fill the hidden inputs and submit the form to the server.
 * - form[data-jpki-sign] holding a [data-jpki-sign-widget data-method="jpki"]: on submit, POST
 *   {bridge}/sign {xml} -> {signed_xml}, fill the hidden input "signed_xml" and submit.
 *
 * No inline script anywhere (CSP): everything comes from data-attributes. Failures are shown in the
 * page's role=alert box, which gets the focus.
 */
(function () {
  "use strict";

  var NO_BRIDGE =
    "【identity.bridge_missing】カードリーダーのアプリが見つかりません。アプリを起動し、カードリーダーにマイナンバーカードを置いてから、もう一度ボタンを押してください。";
  var MESSAGES = {
    cancelled: "【identity.bridge_cancelled】カードの読み取りが取り消されました。もう一度ボタンを押してください。",
    pin_locked: "【identity.pin_locked】暗証番号がロックされています。市区町村の窓口で再設定してください。",
    no_card: "【identity.no_card】カードが見つかりません。カードリーダーにマイナンバーカードを置いてください。",
    bad_response: "【identity.bridge_error】カードリーダーのアプリから正しい応答がありませんでした。アプリを再起動してください。"
  };
  var TIMEOUT_MS = 120000; // the resident types the PIN in the bridge: allow time

  function BridgeError(kind) {
    this.kind = kind;
  }

  function callBridge(base, path, body) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(base + path, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined
    }).then(
      function (response) {
        if (timer) { clearTimeout(timer); }
        return response.json().then(
          function (data) {
            if (!response.ok) {
              throw new BridgeError((data && data.error) || "bad_response");
            }
            return data;
          },
          function () { throw new BridgeError("bad_response"); }
        );
      },
      function () {
        if (timer) { clearTimeout(timer); }
        throw new BridgeError("no_bridge");
      }
    );
  }

  function messageFor(error) {
    if (error instanceof BridgeError) {
      if (error.kind === "no_bridge") { return NO_BRIDGE; }
      return MESSAGES[error.kind] || MESSAGES.bad_response;
    }
    return MESSAGES.bad_response;
  }

  function showAlert(box, text) {
    if (!box) { window.alert(text); return; }
    box.textContent = "";
    var p = document.createElement("p");
    p.textContent = text;
    box.appendChild(p);
    box.hidden = false;
    box.focus();
  }

  function setProgress(el, text) {
    if (el) { el.textContent = text; }
  }

  function isBase64(value) {
    return typeof value === "string" && value.length > 0 && /^[A-Za-z0-9+/=\s]+$/.test(value);
  }

  function wire(form, box, progress, run) {
    var busy = false;
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-jpki-ready") === "1") { return; }
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      var buttons = form.querySelectorAll("button[type=submit]");
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      if (box) { box.hidden = true; }
      setProgress(progress, "カードリーダーのアプリで暗証番号を入力してください…");
      run().then(
        function () {
          setProgress(progress, "確認しています…");
          form.setAttribute("data-jpki-ready", "1");
          form.submit();
        },
        function (error) {
          busy = false;
          Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
          setProgress(progress, "");
          showAlert(box, messageFor(error));
        }
      );
    });
  }

  function setupAuth(form) {
    var box = document.querySelector("[data-jpki-alert]");
    var progress = form.querySelector("[data-jpki-progress]");
    wire(form, box, progress, function () {
      return callBridge(form.getAttribute("data-bridge"), "/auth", {
        challenge: form.getAttribute("data-challenge")
      }).then(function (answer) {
        var chain = Array.isArray(answer.chain) ? answer.chain : [];
        if (!isBase64(answer.certificate) || !isBase64(answer.signature) || !chain.every(isBase64)) {
          throw new BridgeError("bad_response");
        }
        form.elements.certificate.value = answer.certificate;
        form.elements.chain.value = chain.join(",");
        form.elements.signature.value = answer.signature;
      });
    });
  }

  function setupSign(form) {
    var widget = form.querySelector("[data-jpki-sign-widget]");
    if (!widget || widget.getAttribute("data-method") !== "jpki") { return; }
    var box = widget.querySelector("[data-jpki-alert]");
    var progress = widget.querySelector("[data-jpki-progress]");
    wire(form, box, progress, function () {
      return callBridge(widget.getAttribute("data-bridge"), "/sign", {
        xml: widget.getAttribute("data-xml")
      }).then(function (answer) {
        if (!isBase64(answer.signed_xml)) { throw new BridgeError("bad_response"); }
        var input = form.elements.signed_xml;
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = "signed_xml";
          form.appendChild(input);
        }
        input.value = answer.signed_xml;
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-jpki-auth]"), setupAuth);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-jpki-sign]"), setupSign);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
