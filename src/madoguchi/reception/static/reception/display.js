/* 呼出表示: a two-tone chime when a new number is called (the board fragment then fills the aria-live
   region out of band). Browsers let a page play sound only after someone has pressed something on it,
   so the chime is off until 「呼出音を鳴らす」 is pressed once when the screen is set up. The tones are
   synthesised (Web Audio): no sound file, nothing fetched. */
(function () {
  "use strict";
  var audio = null;
  var enabled = false;

  function tone(at, frequency) {
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.35, at + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.9);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(at);
    osc.stop(at + 1);
  }

  function chime() {
    if (!enabled || !audio) { return; }
    var now = audio.currentTime;
    tone(now, 880);       // ピン
    tone(now + 0.45, 660); // ポーン
    var count = document.querySelector("[data-chime-count]");
    if (count) { count.setAttribute("data-chime-count", String(Number(count.getAttribute("data-chime-count")) + 1)); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-chime-toggle]") : null;
    if (!button) { return; }
    enabled = !enabled;
    if (enabled && !audio) {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context) { audio = new Context(); }
    }
    if (audio && audio.state === "suspended") { audio.resume(); }
    button.setAttribute("aria-pressed", enabled ? "true" : "false");
    button.textContent = button.getAttribute(enabled ? "data-label-on" : "data-label-off");
    if (enabled) { chime(); }
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "display-announce" && target.textContent.trim()) { chime(); }
  });
})();
