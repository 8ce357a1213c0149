/* A referred visitor's result page follows the officer's decision: it asks the server every second while it waits
   and, once the answer changed, reloads so that what it shows is what the server rendered (never a guess made here).
   On a weak connection it backs off to a few seconds between tries and asks again as soon as the phone is online. */
(function () {
  "use strict";
  var main = document.querySelector("[data-status-url]");
  if (!main || !window.fetch) return;
  var url = main.getAttribute("data-status-url"), shown = main.getAttribute("data-outcome");
  var FAST = 1000, SLOW = 5000, delay = FAST, timer = null, busy = false;
  function later(ms) { clearTimeout(timer); timer = setTimeout(ask, ms); }
  function ask() {
    if (busy) return;
    busy = true;
    fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 404) return null; // expired: the page stays as it is, nothing more to follow
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (answer) {
        busy = false;
        delay = FAST;
        if (answer === null) return;
        if (answer.outcome !== shown || !answer.waiting) { window.location.replace(window.location.href); return; }
        later(document.hidden ? SLOW : FAST);
      })
      .catch(function () {
        busy = false;
        delay = Math.min(delay * 2, SLOW);
        later(delay);
      });
  }
  window.addEventListener("online", function () { delay = FAST; later(0); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) later(0); });
  later(FAST);
})();
