/* Denpasar Check-in door screen: live feed over server-sent events (polling when SSE keeps failing), the
   occupancy gauge, the pending queue, black-status alerts with a beep, and the officer's forms. No framework.
   The server is the truth: every card is keyed by its ScanEvent id and the id is the resume cursor.
   Every action answers next to its control, in that control's live region ([data-said] in a [data-said-scope]). */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("door-config").textContent);
  var L = cfg.labels;
  var body = document.body;
  var feed = document.getElementById("feed");
  var queue = document.getElementById("queue");
  var alerts = document.getElementById("alerts");
  var queueSaid = document.getElementById("toast");
  var checkoutBox = document.getElementById("checkout");
  // The server's clock minus the tablet's: the clock and the alerts' ages follow the office's time.
  var skew = cfg.now_ms - Date.now();
  var csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = csrfInput ? csrfInput.value : "";
  var FEED_MAX = 60;
  var POLL_MS = 2000;
  var SSE_RETRY_FROM_POLLING_MS = 30000;
  var OFFLINE_AFTER_MS = 3000;

  var cursor = cfg.cursor || 0;
  var seen = Object.create(null);
  // Read by the browser tests: a duplicate here would mean the server resent an event.
  var stats = (window.doorStats = { received: 0, duplicates: 0, connects: 0 });

  Array.prototype.forEach.call(feed.querySelectorAll("[data-event-id]"), function (el) {
    seen[el.getAttribute("data-event-id")] = true;
  });

  // --- small DOM helpers ----------------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else if (attrs[key] !== null && attrs[key] !== undefined && attrs[key] !== false) node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  // The full name and the NIK's last four digits: what the officer checks against the KTP.
  function nik4(card) {
    return card.nik_last4 ? el("span", { className: "nik4", text: "NIK \u2026" + card.nik_last4 }) : null;
  }

  function chip(card) {
    return el("span", { className: "chip c-" + (card.colour || "none"), text: card.colour_label || "" });
  }

  function hidden(node, yes) {
    if (yes) node.setAttribute("hidden", "");
    else node.removeAttribute("hidden");
  }

  function actionForm(url, action, label, className, extra) {
    var form = el("form", { method: "post", action: url, "data-ajax": "" }, extra || []);
    form.appendChild(el("button", { className: "btn " + className, type: "submit", "data-action": action, text: label }));
    return form;
  }

  function urlFor(name, id) {
    // The server renders each action URL with a 0 placeholder for the event id.
    return cfg.urls[name].replace(/\/0\/(\w+\/?)$/, "/" + id + "/$1");
  }

  function decisionForm(card, decision, label, className, extra) {
    var form = el("form", { "data-decision": decision, "data-scan": card.id }, extra || []);
    form.appendChild(el("button", { className: "btn " + className, type: "submit", "data-action": decision, text: label }));
    return form;
  }

  // --- keeping the officer's place ------------------------------------------------------------------------------

  // In portrait the feed and the queue sit above the tools: every card that arrives would push the form the officer
  // is using, and the answer next to it, down and out of view. Whatever they work at stays where it is on screen.
  var placeNode = null;
  var placeUntil = 0;

  function placeKeep(node, ms) {
    placeNode = node;
    placeUntil = Date.now() + ms;
  }

  function place() {
    var active = document.activeElement;
    if (active && active !== body && active !== document.documentElement) return active;
    return placeNode && Date.now() < placeUntil ? placeNode : null;
  }

  function keepInPlace(change) {
    var node = place();
    var before = node ? node.getBoundingClientRect().top : 0;
    change();
    if (!node || !node.isConnected) return;
    var moved = node.getBoundingClientRect().top - before;
    if (moved) window.scrollBy(0, moved);
  }

  // --- cards, queue, alerts -------------------------------------------------------------------------------------

  function renderCard(card) {
    var who = el("span", { className: "who" }, [
      el("span", { className: "name", text: card.name }),
      nik4(card),
      el("span", { className: "kind k-" + card.kind, text: card.kind_label }),
      card.dependants ? el("span", { className: "kids", text: card.dependants_label }) : null,
      card.by_officer ? el("span", { className: "by", text: L.by_officer }) : null,
    ]);
    return el(
      "li",
      {
        className: "card o-" + card.outcome + " r-" + card.reason + (card.alert ? " is-alert" : ""),
        "data-event-id": card.id,
        "data-outcome": card.outcome,
        "data-reason": card.reason,
        "data-colour": card.colour,
        "data-kind": card.kind,
      },
      [
        chip(card),
        el("span", { className: "what" }, [
          el("b", { className: "headline", text: card.headline }),
          el("span", { className: "reason", text: card.reason_label }),
        ]),
        who,
        el("time", { datetime: card.at, text: card.time }),
      ]
    );
  }

  function addEvent(card) {
    stats.received += 1;
    if (seen[card.id]) {
      stats.duplicates += 1;
      return;
    }
    seen[card.id] = true;
    if (card.id > cursor) cursor = card.id;
    var node = renderCard(card);
    node.classList.add("new");
    keepInPlace(function () {
      feed.insertBefore(node, feed.firstChild);
      while (feed.children.length > FEED_MAX) feed.removeChild(feed.lastChild);
      hidden(document.getElementById("feed-empty"), true);
    });
    if (card.alert && !card.acknowledged) alarm();
  }

  function renderCase(card) {
    var reason = el("input", {
      type: "text",
      "data-field": "reason",
      required: "",
      maxlength: "200",
      list: "deny-reasons",
      placeholder: L.deny_reason,
      "aria-label": L.deny_reason,
    });
    return el("li", { className: "case", "data-case-id": card.id, "data-outcome": card.outcome, "data-reason": card.reason, "data-colour": card.colour }, [
      el("div", { className: "case-head" }, [
        chip(card),
        el("span", { className: "what" }, [
          el("b", { className: "name", text: card.name }),
          nik4(card),
          el("span", { className: "reason", text: card.reason_label }),
        ]),
        el("span", { className: "kind k-" + card.kind, text: card.kind_label }),
        el("time", { datetime: card.at, text: card.time }),
      ]),
      el("div", { className: "case-actions" }, [
        decisionForm(card, "approve", L.approve, "go"),
        (function () {
          var form = decisionForm(card, "deny", L.deny, "stop", [reason]);
          form.className = "deny";
          return form;
        })(),
      ]),
    ]);
  }

  function text(value) {
    return document.createTextNode(value);
  }

  function renderAlert(card) {
    var node = el("div", { className: "alert-item", role: "alert", "data-alert-id": card.id }, [
      el("span", { className: "siren", "aria-hidden": "true", text: "!" }),
      el("span", { className: "what" }, [
        el("b", { text: L.alert + ": " + card.reason_label }),
        el("span", {}, [
          el("span", { className: "name", text: card.name }),
          card.nik_last4 ? text(" · ") : null,
          nik4(card),
          text(" · " + card.kind_label + " · "),
          el("time", { datetime: card.at, text: card.time }),
          text(" · "),
          // The age changes every minute: announcing each change would drown the alert itself.
          el("span", { className: "age", "data-age": card.at, "aria-live": "off" }),
        ]),
        el("span", { className: "inside" }),
      ]),
      actionForm(urlFor("ack", card.id), "ack", L.acknowledge, "light"),
    ]);
    updateAlert(node, card);
    ageShow(node.querySelector("[data-age]"));
    return node;
  }

  // Whether the person is still inside changes while the alert waits; the rest of it does not.
  function updateAlert(node, card) {
    var inside = card.inside ? "true" : "false";
    if (node.getAttribute("data-inside") !== inside) node.setAttribute("data-inside", inside);
    var label = node.querySelector(".inside");
    var wanted = card.inside_label || "";
    if (label.textContent !== wanted) label.textContent = wanted;
  }

  // "3 min ago", by the office's clock (see tick below), for an alert that waits to be acknowledged.
  function ageText(at) {
    var minutes = Math.max(0, Math.floor((Date.now() + skew - Date.parse(at)) / 60000));
    if (minutes < 1) return L.just_now;
    if (minutes < 60) return L.minutes_ago.replace("{n}", minutes);
    return L.hours_ago.replace("{h}", Math.floor(minutes / 60)).replace("{m}", minutes % 60);
  }

  function ageShow(node) {
    var wanted = ageText(node.getAttribute("data-age"));
    if (node.textContent !== wanted) node.textContent = wanted;
  }

  // Keyed update: keep nodes that are still there, so an officer typing a deny reason keeps focus and text;
  // `update` refreshes what may change on a kept node.
  function sync(container, cards, key, render, update) {
    var wanted = Object.create(null);
    cards.forEach(function (card) {
      wanted[card.id] = card;
    });
    Array.prototype.slice.call(container.children).forEach(function (node) {
      if (!wanted[node.getAttribute(key)]) container.removeChild(node);
    });
    cards.forEach(function (card, index) {
      var node = container.querySelector("[" + key + '="' + card.id + '"]');
      if (node && update) update(node, card);
      node = node || render(card);
      if (container.children[index] !== node) container.insertBefore(node, container.children[index] || null);
    });
  }

  var knownAlerts = Object.create(null);
  Array.prototype.forEach.call(alerts.querySelectorAll("[data-alert-id]"), function (node) {
    knownAlerts[node.getAttribute("data-alert-id")] = true;
  });

  var insideBefore = null;

  function applyState(state) {
    keepInPlace(function () {
      stateShow(state);
    });
  }

  function stateShow(state) {
    var o = state.occupancy;
    // Someone came or left: a check-out search on screen would offer the wrong people.
    if (insideBefore !== null && insideBefore !== o.inside && checkoutBox.open) searchSoon();
    insideBefore = o.inside;
    var gauge = document.getElementById("gauge");
    gauge.setAttribute("data-occupancy", o.inside);
    gauge.setAttribute("data-capacity", o.effective_capacity);
    gauge.setAttribute("data-state", o.state);
    gauge.setAttribute("data-staff", o.staff_inside);
    gauge.setAttribute("data-visitors", o.visitors_inside);
    gauge.className = "gauge s-" + o.state;
    document.getElementById("g-inside").textContent = o.inside;
    document.getElementById("g-cap").textContent = o.effective_capacity;
    document.getElementById("g-staff").textContent = o.staff_inside;
    document.getElementById("g-visitors").textContent = o.visitors_inside;
    document.getElementById("g-status").textContent = o.state_text;
    document.getElementById("g-level").textContent = o.level_text;
    var pct = o.effective_capacity > 0 ? Math.min(100, Math.round((100 * o.inside) / o.effective_capacity)) : 100;
    document.getElementById("g-fill").style.width = pct + "%";

    sync(queue, state.pending, "data-case-id", renderCase);
    document.getElementById("queue-count").textContent = state.pending.length;
    hidden(document.getElementById("queue-empty"), state.pending.length > 0);

    var fresh = state.alerts.some(function (card) {
      return !knownAlerts[card.id];
    });
    knownAlerts = Object.create(null);
    state.alerts.forEach(function (card) {
      knownAlerts[card.id] = true;
    });
    sync(alerts, state.alerts, "data-alert-id", renderAlert, updateAlert);
    body.classList.toggle("has-alert", state.alerts.length > 0);
    if (fresh) alarm();
  }

  // --- sound: a short WebAudio beep; browsers allow audio only after the officer has touched the page -------------

  var audio = null;
  var soundOn = true;
  var soundButton = document.getElementById("sound");

  function unlockAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
  }
  document.addEventListener("pointerdown", unlockAudio, { passive: true });
  document.addEventListener("keydown", unlockAudio);

  function beep(at) {
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.4, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.2);
  }

  function alarm() {
    if (!soundOn || !audio || audio.state !== "running") return;
    var now = audio.currentTime;
    beep(now);
    beep(now + 0.3);
    beep(now + 0.6);
  }

  // An unacknowledged alert keeps reminding.
  setInterval(function () {
    if (alerts.children.length) alarm();
  }, 20000);

  soundButton.addEventListener("click", function () {
    soundOn = !soundOn;
    soundButton.setAttribute("aria-pressed", soundOn ? "true" : "false");
    soundButton.textContent = soundOn ? L.sound_on : L.sound_off;
    if (soundOn) alarm();
  });

  // --- connection: SSE first, polling when it keeps failing, and say so on screen ----------------------------------

  var source = null;
  var failures = 0;
  var pollTimer = null;
  var offlineTimer = null;
  var sseRetryTimer = null;
  var connText = document.getElementById("conn-text");
  var offline = document.getElementById("offline");

  function setConnection(state) {
    body.setAttribute("data-connection", state);
    connText.textContent = L[state] || state;
    clearTimeout(offlineTimer);
    if (state === "live" || state === "polling") {
      hidden(offline, true);
    } else if (state === "offline") {
      hidden(offline, false);
    } else if (state === "reconnecting") {
      // A routine reconnect (the server ends each stream after a few minutes) takes a second; say "offline" only
      // when it does not come back.
      offlineTimer = setTimeout(function () {
        if (body.getAttribute("data-connection") !== "live") setConnection("offline");
      }, OFFLINE_AFTER_MS);
    }
  }

  function openStream() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    if (source) source.close();
    // ?after= is only for this first request; the browser's own reconnects send Last-Event-ID, which wins.
    source = new EventSource(cfg.urls.stream + "?after=" + cursor);
    source.addEventListener("open", function () {
      failures = 0;
      stats.connects += 1;
      stopPolling();
      setConnection("live");
    });
    source.addEventListener("scan", function (event) {
      addEvent(JSON.parse(event.data));
    });
    source.addEventListener("state", function (event) {
      applyState(JSON.parse(event.data));
    });
    source.addEventListener("error", function () {
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        // Closed for good (an error status, a login redirect) or failing again and again: poll instead.
        source.close();
        source = null;
        startPolling();
      } else if (!pollTimer) {
        setConnection("reconnecting");
      }
    });
  }

  // Events after the cursor and the screen state, once; duplicates of what the stream brings are dropped by id.
  function catchUp() {
    return fetch(cfg.urls.poll + "?after=" + cursor, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected || !response.ok) throw response;
        return response.json();
      })
      .then(function (data) {
        data.events.forEach(addEvent);
        applyState(data.state);
      });
  }

  function poll() {
    catchUp()
      .then(function () {
        setConnection("polling");
      })
      .catch(function (problem) {
        if (problem && problem.redirected) {
          connText.textContent = L.session;
          window.location.href = cfg.urls.login;
          return;
        }
        setConnection("offline");
      });
  }

  function startPolling() {
    if (pollTimer) return;
    setConnection("reconnecting");
    poll();
    pollTimer = setInterval(poll, POLL_MS);
    clearTimeout(sseRetryTimer);
    sseRetryTimer = setTimeout(function retry() {
      if (!pollTimer) return;
      failures = 0;
      openStream();
      sseRetryTimer = setTimeout(retry, SSE_RETRY_FROM_POLLING_MS);
    }, SSE_RETRY_FROM_POLLING_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
    clearTimeout(sseRetryTimer);
  }

  // --- the officer's forms -------------------------------------------------------------------------------------

  var SAID_MS = 20000;

  // The live region of the control an action was taken at: the officer's eyes (and screen reader) are there.
  function saidFor(node) {
    var scope = node.closest("[data-said-scope]");
    return (scope && scope.querySelector("[data-said]")) || queueSaid;
  }

  // Who an action was about, read before the answer removes the case, alert or row from the screen.
  function whoOf(form) {
    var item = form.closest("[data-case-id],[data-alert-id],[data-visit-id]");
    if (!item) return "";
    var name = item.querySelector(".name");
    var digits = item.querySelector(".nik4");
    // A scan that names nobody shows a dash for a name: nothing to say about who.
    var named = name && name.textContent !== "\u2014" ? name.textContent : "";
    return [named, digits && digits.textContent].filter(Boolean).join(" · ");
  }

  function say(target, message, ok, outcome) {
    target.textContent = message;
    target.className = "said " + (ok ? "ok" : "err") + (outcome ? " o-" + outcome : "");
    // Nearest: no jump when it is already in view (the usual case, it sits next to the button just pressed).
    if (target.scrollIntoView) target.scrollIntoView({ block: "nearest" });
    placeKeep(target, SAID_MS);
    clearTimeout(target.saidTimer);
    target.saidTimer = setTimeout(function () {
      target.textContent = "";
      target.className = "said";
    }, SAID_MS);
  }

  function about(who, message) {
    return who ? who + " \u2014 " + message : message;
  }

  function busy(form, yes) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
      b.disabled = yes;
    });
  }

  function post(form) {
    var target = saidFor(form);
    var who = whoOf(form);
    busy(form, true);
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (response.redirected) {
          window.location.href = cfg.urls.login;
          throw new Error("login");
        }
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (result) {
        if (result.data.state) applyState(result.data.state);
        say(target, about(who, result.data.message || L.error), result.ok, result.data.outcome);
        if (result.ok && form.hasAttribute("data-reset")) form.reset();
        // The list of people inside is only ever the server's current one (after closing the day: nobody).
        if (result.ok && checkoutBox.open) search();
        return result;
      })
      .catch(function () {
        say(target, L.error, false);
      })
      .then(function () {
        busy(form, false);
      });
  }

  function answerText(data) {
    if (data.message || data.detail) return data.message || data.detail;
    // Field errors: {"reason": ["..."]}
    var field = Object.keys(data)[0];
    return field && Array.isArray(data[field]) ? String(data[field][0]) : L.error;
  }

  // A pending case is answered through the REST API (JSON, the session's CSRF token). The answer is the new scan's
  // outcome; the queue and the gauge then come from the server, so a full office or another officer's answer
  // shows exactly as the server has it.
  function decide(form) {
    var who = whoOf(form);
    var body = { decision: form.getAttribute("data-decision") };
    var reason = form.querySelector("[data-field=reason]");
    if (reason && reason.value.trim()) body.reason = reason.value.trim();
    busy(form, true);
    return fetch(urlFor("decision", form.getAttribute("data-scan")), {
      method: "POST",
      body: JSON.stringify(body),
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
      })
      .then(function (result) {
        if (result.status === 403 && result.data.code === "not_authenticated") {
          connText.textContent = L.session;
          window.location.href = cfg.urls.login;
          return;
        }
        say(queueSaid, about(who, answerText(result.data)), result.ok, result.data.outcome);
        // A failed catch-up is only a delay: the stream brings the same events and state.
        return catchUp()
          .catch(function () {})
          .then(function () {
            // The answered case leaves the queue: keep the keyboard there instead of dropping focus to the page.
            if (result.ok) (queue.querySelector("[data-action=approve]") || document.getElementById("queue-title")).focus();
          });
      })
      .catch(function () {
        say(queueSaid, L.error, false);
      })
      .then(function () {
        busy(form, false);
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-decision")) {
      event.preventDefault();
      decide(form);
    } else if (form.hasAttribute("data-ajax")) {
      event.preventDefault();
      post(form);
    }
  });

  // Manual check-out: search a name among the people inside (open visits only: the server's list, never a stale
  // one), each with the full name and the NIK's last four digits to check against the KTP.
  var people = document.getElementById("people");
  var query = document.getElementById("co-q");
  var searchTimer = null;
  var searchSeq = 0;

  function search() {
    var seq = ++searchSeq;
    fetch(cfg.urls.inside + "?q=" + encodeURIComponent(query.value), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok || response.redirected) throw response;
        return response.json();
      })
      .then(function (data) {
        // An older answer arriving late must not bring back someone a newer one no longer lists.
        if (seq !== searchSeq) return;
        people.textContent = "";
        if (!data.people.length) {
          people.appendChild(el("li", { className: "empty", text: query.value.trim() ? L.no_one : L.nobody_inside }));
        }
        data.people.forEach(function (p) {
          var visit = el("input", { type: "hidden", name: "visit", value: p.visit_id });
          people.appendChild(
            el("li", { "data-visit-id": p.visit_id }, [
              el("span", { className: "what" }, [
                el("b", { className: "name", text: p.name }),
                el("span", {}, [
                  nik4(p),
                  text(
                    (p.nik_last4 ? " · " : "") +
                      [p.kind_label, L.since + " " + p.since, p.dependants_label].filter(Boolean).join(" · ")
                  ),
                ]),
              ]),
              actionForm(cfg.urls.checkout, "checkout", L.check_out, "light", [visit]),
            ])
          );
        });
      })
      .catch(function () {
        if (seq === searchSeq) say(saidFor(people), L.error, false);
      });
  }

  function searchSoon() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 250);
  }

  query.addEventListener("input", searchSoon);
  checkoutBox.addEventListener("toggle", function (event) {
    if (event.target.open) search();
  });

  // --- clock and start -------------------------------------------------------------------------------------------

  // The office's time (the server's clock and time zone), whatever the tablet's own clock or zone says, so the
  // clock and the card times always agree.
  var clock = document.getElementById("clock");
  function tick() {
    var d = new Date(Date.now() + skew + cfg.utc_offset_minutes * 60000);
    var pad = function (n) {
      return (n < 10 ? "0" : "") + n;
    };
    clock.textContent = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
    Array.prototype.forEach.call(alerts.querySelectorAll("[data-age]"), ageShow);
  }
  tick();
  setInterval(tick, 1000);

  applyState(cfg.state);
  openStream();
})();
