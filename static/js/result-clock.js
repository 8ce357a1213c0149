/* The running clock on the phone's result page: the officer at the door sees a live page, not a screenshot.
   Counts from the server's time (data-t, ms) in the office's UTC offset (data-o, minutes), not the phone's clock. */
(function () {
  "use strict";
  var el = document.getElementById("clock");
  if (!el) return;
  var serverMs = +el.getAttribute("data-t"), offsetMin = +el.getAttribute("data-o"), started = Date.now();
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var d = new Date(serverMs + Date.now() - started + offsetMin * 6e4);
    el.textContent = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }
  tick();
  setInterval(tick, 1000);
})();
