// seuil: the only script of the site (no inline script: the CSP forbids it).
// Progressive enhancement: every page works without it; with it, live pages follow
// the server-sent events of their stream and timers tick.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) {
    window.print();
  }
});

const LIVE_WORDS = {
  fr: { on: "en direct", off: "reconnexion…" },
  en: { on: "live", off: "reconnecting…" },
};

function liveWords() {
  return LIVE_WORDS[document.documentElement.lang] || LIVE_WORDS.fr;
}

// Replace the live region with the same region of a fresh copy of the page. Deferred
// while someone is typing in it (a note, a reason), so nothing they typed is lost.
function refresher(region) {
  let pending = false;
  let running = false;
  const typing = () => {
    const active = document.activeElement;
    return active && region.contains(active) && active.matches("input, select, textarea");
  };
  const run = async () => {
    if (running) {
      pending = true;
      return;
    }
    if (typing()) {
      pending = true;
      return;
    }
    running = true;
    pending = false;
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      if (response.redirected || !response.ok) {
        window.location.reload();
        return;
      }
      const html = await response.text();
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(region.id);
      if (fresh) {
        region.innerHTML = fresh.innerHTML;
        region.dispatchEvent(new CustomEvent("seuil:refreshed", { bubbles: true }));
        tickTimers();
      }
    } finally {
      running = false;
      if (pending) {
        setTimeout(run, 50);
      }
    }
  };
  region.addEventListener("focusout", () => {
    if (pending) {
      setTimeout(run, 0);
    }
  });
  return run;
}

function connect(region) {
  const status = document.querySelector("[data-live-status]");
  const refresh = refresher(region);
  const source = new EventSource(region.dataset.live);
  const words = liveWords();
  source.addEventListener("open", () => {
    if (status) {
      status.textContent = words.on;
      status.dataset.state = "on";
    }
  });
  source.addEventListener("error", () => {
    if (status) {
      status.textContent = words.off;
      status.dataset.state = "off";
    }
  });
  for (const topic of ["gate.decision", "incident", "ppms", "notification", "board", "hub.message", "dropped", "resync"]) {
    source.addEventListener(topic, () => refresh());
  }
  window.addEventListener("pagehide", () => source.close());
}

function elapsed(since) {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h} h ${two(m)} min` : `${two(m)}:${two(s)}`;
}

function tickTimers() {
  for (const timer of document.querySelectorAll(".timer[data-since]")) {
    timer.textContent = elapsed(timer.dataset.since);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const region of document.querySelectorAll("[data-live]")) {
    connect(region);
  }
  if (document.querySelector(".timer[data-since]")) {
    tickTimers();
    setInterval(tickTimers, 1000);
  }
});
