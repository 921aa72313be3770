// StudyBuddy: small helpers shared by every page (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.StudyBuddy = {
    csrfToken: meta ? meta.content : "",
    fetchJSON: function (url, options) {
      options = options || {};
      options.headers = Object.assign({ "Accept": "application/json", "X-CSRF-Token": this.csrfToken }, options.headers || {});
      options.credentials = "same-origin";
      return fetch(url, options).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) { var e = new Error(body.error || r.statusText); e.status = r.status; e.body = body; throw e; }
          return body;
        });
      });
    },
    // Poll a job until it finishes; calls onUpdate(job) each time.
    watchJob: function (jobId, onUpdate, intervalMs) {
      var self = this;
      function tick() {
        self.fetchJSON("/api/v1/jobs/" + encodeURIComponent(jobId)).then(function (job) {
          onUpdate(job);
          if (job.state === "queued" || job.state === "running") { setTimeout(tick, intervalMs || 1000); }
        }).catch(function () { setTimeout(tick, 3000); });
      }
      tick();
    }
  };
  // Translated job state names come from the page: data-state-<state> on an ancestor.
  window.StudyBuddy.stateLabel = function (el, state) {
    var holder = el.closest("[data-state-" + state + "]");
    return holder ? holder.getAttribute("data-state-" + state) : state;
  };
  // Live job rows: <li data-job-id=...> with data-role=state/progress/stage children.
  document.querySelectorAll("[data-job-id]").forEach(function (row) {
    var state = row.getAttribute("data-job-state");
    if (state !== "queued" && state !== "running") { return; }
    window.StudyBuddy.watchJob(row.getAttribute("data-job-id"), function (job) {
      var s = row.querySelector('[data-role="state"]');
      if (s) { s.textContent = window.StudyBuddy.stateLabel(row, job.state); }
      var p = row.querySelector('[data-role="progress"]'); if (p) { p.value = job.progress; }
      var g = row.querySelector('[data-role="stage"]');
      if (g) { g.textContent = job.error || (job.state === "succeeded" ? "" : job.stage); }
      row.setAttribute("data-job-state", job.state);
    });
  });
  // A banner while the browser is offline.
  var offline = document.getElementById("offline-banner");
  function showConnection() { if (offline) { offline.hidden = navigator.onLine; } }
  window.addEventListener("online", showConnection);
  window.addEventListener("offline", showConnection);
  showConnection();
  // Confirmation for dangerous forms and buttons (delegated: rows added later are covered too).
  document.addEventListener("submit", function (ev) {
    var button = ev.submitter;
    var text = (button && button.getAttribute("data-confirm")) || ev.target.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);
})();
