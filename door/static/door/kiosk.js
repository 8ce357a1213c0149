/* The live-QR kiosk: a countdown to the next code, then a reload (the meta refresh does the same without script).
   Counts from the server's word (data-seconds-left), not the kiosk's clock, which may be wrong. */
(function () {
  "use strict";
  var body = document.body, period = +body.dataset.period, left = +body.dataset.secondsLeft;
  var end = Date.now() + left * 1000, el = document.getElementById("left"), bar = document.getElementById("bar");
  function tick() {
    var ms = end - Date.now();
    if (ms <= 0) { location.reload(); return; }
    el.textContent = Math.ceil(ms / 1000);
    bar.style.width = Math.min(100, ms / (period * 10)) + "%";
    setTimeout(tick, Math.min(250, ms));
  }
  tick();
})();
