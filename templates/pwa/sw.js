/* Denpasar Check-in service worker (served at /sw.js by denpasar_checkin/pwa.py, scope /c/): an honest offline page.
   It stores only the shell (the offline page, the stylesheet, this app's script and icons) and never a phone page:
   every page, above all a check-in's result, comes from the server or not at all. A navigation the network cannot
   carry, a GET or a form's POST, gets the stored offline page, which says a connection is needed; nothing is ever
   sent twice (the offline page loads the wanted page again with a GET, see sw-register.js). */
"use strict";

const CONFIG = {{ config|safe }};
const PREFIX = "dc-shell-";
const CACHE = PREFIX + CONFIG.version;
const SHELL = new Set(CONFIG.shell.map((path) => new URL(path, self.location.href).href));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // "reload": the server's copy, not one the HTTP cache kept from an older deployment.
      .then((cache) => cache.addAll(CONFIG.shell.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith(PREFIX) && key !== CACHE).map((key) => caches.delete(key))))
      // Controls the page that registered it, so the first page a visitor opens already has its offline page.
      .then(() => self.clients.claim()),
  );
});

function offlinePage() {
  return caches
    .open(CACHE)
    .then((cache) => cache.match(CONFIG.offline, { ignoreVary: true }))
    .then((response) => response || Response.error());
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.mode === "navigate") {
    // Network only, and nothing stored: the server's answer, or the offline page when there is none.
    event.respondWith(fetch(request).catch(offlinePage));
    return;
  }
  if (request.method === "GET" && SHELL.has(request.url)) {
    // The network first, so a stylesheet changed in development shows at once; the stored copy when offline.
    event.respondWith(
      fetch(request).catch(() => caches.match(request, { cacheName: CACHE, ignoreVary: true }).then((response) => response || Response.error())),
    );
  }
  // Anything else is left to the browser, as if there were no worker.
});

self.addEventListener("message", (event) => {
  // A phone page says its language: the offline page is stored in the language of the page that installed the
  // worker, and fetched again (with the visitor's language cookie) when the visitor has switched since.
  const lang = event.data && event.data.lang;
  if (typeof lang !== "string" || !lang) return;
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) =>
        cache.match(CONFIG.offline, { ignoreVary: true }).then((stored) => {
          if (stored && stored.headers.get("Content-Language") === lang) return undefined;
          return fetch(CONFIG.offline, { cache: "reload" }).then((response) =>
            response.ok && response.headers.get("Content-Language") === lang ? cache.put(CONFIG.offline, response) : undefined,
          );
        }),
      )
      .catch(() => undefined),
  );
});
