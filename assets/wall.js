/* The wall's client side: scaling the design canvas, the clock, data freshness, the poll schedule,
   the watchdog for a lost server, and the rotation between the town and station views.
   Polls are chained: the next one is asked for only after the last answer arrived, so they never
   overlap; the watchdog re-asks when no answer came for a while. The page never reloads itself. */
(function () {
  "use strict";
  var WATCHDOG_GRACE_MS = 8000;
  var RETRY_MS = 5000;
  var ALERT_COOLDOWN_MS = 10 * 60 * 1000;
  var state = {
    frameTimer: null, feedTimer: null,
    lastFrame: Date.now(), lastFeed: Date.now(), lastRetry: 0, lastFeedRetry: 0,
    rotation: { index: 0, since: Date.now(), jump: null, lastJump: {} },
    stale: false
  };

  function bump(id) {
    window.dash_clientside.set_props(id, { data: Date.now() });
  }

  // Scales the design canvas to the window; returns which canvas it is ("wide" on a 32:9 wall, else
  // "standard"), the name figures/wall_map.py PANEL_SIZES fits the map to.
  function fitCanvas() {
    var canvas = document.getElementById("wall-canvas");
    if (!canvas) { return null; }
    var wide = window.innerWidth / Math.max(1, window.innerHeight) >= 3.0;
    canvas.classList.toggle("wall-wide", wide);
    var width = wide ? 3840 : 1920;
    var scale = Math.min(window.innerWidth / width, window.innerHeight / 1080);
    canvas.style.transform = "scale(" + scale + ")";
    canvas.style.left = Math.max(0, (window.innerWidth - width * scale) / 2) + "px";
    canvas.style.top = Math.max(0, (window.innerHeight - 1080 * scale) / 2) + "px";
    return wide ? "wide" : "standard";
  }
  window.addEventListener("resize", fitCanvas);

  function clockText(lang) {
    var now = new Date();
    var options = { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
                    weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
    return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", options).format(now);
  }

  function currentView(playlist, alerts, now) {
    var rot = state.rotation;
    if (!playlist || playlist.length === 0) { return { kind: "town", id: null }; }
    if (rot.jump) {
      if (now - rot.jump.since >= rot.jump.seconds * 1000) {
        rot.jump = null;
        rot.since = now;
      } else {
        return { kind: "station", id: rot.jump.id };
      }
    }
    var showing = playlist[rot.index % playlist.length];
    for (var i = 0; alerts && i < alerts.length; i++) {
      var id = alerts[i];
      var showingIt = showing.kind === "station" && showing.id === id;
      if (!showingIt && now - (rot.lastJump[id] || 0) > ALERT_COOLDOWN_MS) {
        rot.lastJump[id] = now;
        var entry = playlist.filter(function (p) { return p.kind === "station" && p.id === id; })[0];
        rot.jump = { id: id, since: now, seconds: entry ? entry.seconds : 30 };
        return { kind: "station", id: id };
      }
    }
    if (now - rot.since >= (showing.seconds || 60) * 1000) {
      rot.index = (rot.index + 1) % playlist.length;
      rot.since = now;
      showing = playlist[rot.index];
    }
    return { kind: showing.kind, id: showing.id === undefined ? null : showing.id };
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    wall: {
      scheduleFrame: function (frame, poll, settings) {
        state.lastFrame = Date.now();
        clearTimeout(state.frameTimer);
        state.frameTimer = setTimeout(function () { bump("wall-poll"); }, (settings && settings.poll_ms) || 2000);
        return window.dash_clientside.no_update;
      },
      scheduleFeed: function (feed, poll, settings) {
        state.lastFeed = Date.now();
        clearTimeout(state.feedTimer);
        state.feedTimer = setTimeout(function () { bump("wall-feed-poll"); }, (settings && settings.feed_ms) || 1000);
        return window.dash_clientside.no_update;
      },
      tick: function (n, frame, feed, playlist, view, settings) {
        var nu = window.dash_clientside.no_update;
        settings = settings || {};
        var now = Date.now();
        var kind = fitCanvas();
        if (kind && settings.canvas !== kind) {  // the next frame fits the map to this canvas's panel
          window.dash_clientside.set_props("wall-settings", { data: Object.assign({}, settings, { canvas: kind }) });
        }
        var clock = clockText(settings.lang);
        var age = nu;
        if (frame && frame.ok && frame.at) {
          var seconds = Math.max(0, Math.round((now - Date.parse(frame.at)) / 1000));
          age = (settings.age_text || "{n}s").replace("{n}", seconds);
        }
        var statusText = nu, statusClass = nu;
        var frameLate = now - state.lastFrame > (settings.poll_ms || 2000) + WATCHDOG_GRACE_MS;
        if (frameLate) {
          var stamp = (frame && frame.stamp) || "--:--:--";
          statusText = (settings.stale_text || "{time}").replace("{time}", stamp);
          statusClass = "wall-status status-stale";
          if (now - state.lastRetry > RETRY_MS) { state.lastRetry = now; bump("wall-poll"); }
        }
        if (now - state.lastFeed > (settings.feed_ms || 1000) + WATCHDOG_GRACE_MS &&
            now - state.lastFeedRetry > RETRY_MS) {
          state.lastFeedRetry = now;
          bump("wall-feed-poll");
        }
        var next = currentView(playlist, frame && frame.alerts, now);
        var newView = nu;
        if (!view || next.kind !== view.kind || next.id !== view.id) { newView = next; }
        return [clock, age, newView, statusText, statusClass];
      }
    }
  });
})();
