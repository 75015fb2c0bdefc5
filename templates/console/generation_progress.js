// The generation page's live figures (served in a nonce'd block under the console's CSP).
// Without this script the page shows the figures as of its load; with it, the page asks the
// status endpoint every few seconds while a job runs and fills the same elements in.
// Model and error text arrive as JSON and are set with textContent, never as markup.
// (This file is included by a Django template: it must never hold a brace followed by % or #.)
(function () {
  "use strict";
  var root = document.getElementById("generation");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-status-url");
  var ACTIVE_MS = 2000, IDLE_MS = 15000;
  var timer = null;

  function byId(id) { return document.getElementById(id); }
  function set(id, text) { byId(id).textContent = text; }
  function rate(value, digits) { return value === null ? "–" : value.toFixed(digits); }

  function showFailures(groups) {
    var rows = byId("g-failure-rows");
    while (rows.firstChild) { rows.removeChild(rows.firstChild); }
    groups.forEach(function (group) {
      var tr = document.createElement("tr");
      var error = document.createElement("td");
      error.className = "error";
      error.textContent = group.error;
      var count = document.createElement("td");
      count.className = "count";
      count.textContent = String(group.count);
      tr.appendChild(error);
      tr.appendChild(count);
      rows.appendChild(tr);
    });
    byId("g-failures").hidden = groups.length === 0;
    byId("g-no-failures").hidden = groups.length !== 0;
  }

  function show(data) {
    var job = data.job;
    set("g-status", data.status_label);
    set("g-done", String(data.done));
    set("g-total", String(data.total));
    set("g-failed", String(data.failed));
    set("g-open", String(data.open));
    set("g-excluded", String(data.excluded));
    var bar = byId("g-bar");
    bar.max = data.total || 1;
    bar.value = data.done;
    set("g-aps", job ? rate(job.answers_per_second, 1) : "–");
    set("g-tps", job ? rate(job.tokens_per_second, 0) : "–");
    set("g-job", job ? "#" + job.id : "none yet");
    var state = byId("g-job-state");
    state.hidden = !job;
    state.textContent = job ? job.state_label.toLowerCase() : "";
    state.className = "badge" + (job && job.state === "failed" ? " bad" : job && job.state === "done" ? " ok" : "");
    set("g-job-detail", job ? "via " + job.backend + ": " + job.done + "/" + job.total + " done" +
        (job.failed ? ", " + job.failed + " failed" : "") : "");
    byId("g-cancel").hidden = !(job && job.active);
    byId("g-retry").hidden = Boolean(job && job.active);
    showFailures(data.failures);
    set("g-live", "Updated " + new Date().toLocaleTimeString() + (job && job.active ? "; updating every 2 s." : "."));
    return Boolean(job && job.active);
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (data) { schedule(show(data) ? ACTIVE_MS : IDLE_MS); })
      .catch(function (error) {
        set("g-live", "Could not update the figures (" + error.message + "); trying again.");
        schedule(IDLE_MS);
      });
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, document.hidden ? IDLE_MS : ms);
  }

  // A job started in another tab or from the shell shows up within the idle interval too.
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { schedule(0); } });
  schedule(byId("g-cancel").hidden ? IDLE_MS : ACTIVE_MS);
}());
