/* Phone pages: registers the service worker (denpasar_checkin/pwa.py) that shows the offline page when a page cannot
   be reached; on that offline page, loads the page the visitor wanted again once the connection is back. */
(function () {
  "use strict";
  var script = document.currentScript;

  if ("serviceWorker" in navigator && script) {
    navigator.serviceWorker
      .register(script.getAttribute("data-sw"), { scope: script.getAttribute("data-scope") })
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (registration) {
        // The worker keeps the offline page in one language: tell it which one this visitor reads.
        if (registration.active) registration.active.postMessage({ lang: document.documentElement.lang });
      })
      .catch(function () {
        // No worker (private mode, an old browser, offline): the pages work as before, without an offline page.
      });
  }

  var offline = document.querySelector("[data-offline]");
  if (!offline) return;
  // The worker answers the wanted URL with this page, so the address bar still holds it; opened directly at its own
  // address, the page leads to the code entry instead.
  var target = location.pathname === offline.getAttribute("data-self") ? offline.getAttribute("data-home") : location.href.split("#")[0];
  var seconds = +offline.getAttribute("data-retry-seconds") || 5;
  var leaving = false;

  function load() {
    if (leaving) return;
    leaving = true;
    // A GET of the wanted page, never reload(): after a check-in form failed to go out, reload() would offer to
    // send it again. The visitor sees the real page and decides.
    location.replace(target);
  }

  // The first tries come quickly (a phone that just got its signal back often needs a moment before requests go
  // through), then every `seconds`.
  var FIRST = 0.5, delay = FIRST;

  function probe() {
    // Only leave this page when the server answers, so a dead connection does not flash a reload every few seconds.
    fetch(offline.getAttribute("data-probe"), { cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (response.ok) load();
        else later();
      })
      .catch(later);
  }

  var timer = null;
  function later() {
    clearTimeout(timer);
    timer = setTimeout(probe, delay * 1000);
    delay = Math.min(delay * 2, seconds);
  }

  window.addEventListener("online", function () {
    delay = FIRST;
    clearTimeout(timer);
    probe();
  });
  if (navigator.onLine === false) delay = seconds;
  later();
})();
