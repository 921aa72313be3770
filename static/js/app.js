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
  // Following a job. Labels come from the page (an ancestor's data-state-<state>, data-elapsed-label,
  // data-ahead-one / data-ahead-many), so the texts are translated by the server.
  var SB = window.StudyBuddy;
  function label(el, name) {
    var holder = el.closest("[data-" + name + "]");
    return holder ? holder.getAttribute("data-" + name) : "";
  }
  SB.stateLabel = function (el, state) { return label(el, "state-" + state) || state; };
  function role(box, name) { return box.querySelector('[data-role="' + name + '"]'); }
  function clock(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function showElapsed(span) {
    var seconds = parseInt(span.getAttribute("data-elapsed"), 10) || 0;
    var text = label(span, "elapsed-label") || "%(time)s";
    span.textContent = text.replace("%(time)s", clock(seconds));
  }
  // Fill a job's box (a row or a card) from /api/v1/jobs/<id>.
  SB.updateJob = function (box, job) {
    var live = job.state === "queued" || job.state === "running";
    box.setAttribute("data-job-state", job.state);
    var s = role(box, "state"); if (s) { s.textContent = job.state_text || SB.stateLabel(box, job.state); }
    var p = role(box, "progress"); if (p) { p.value = job.progress; }
    var g = role(box, "stage"); if (g) { g.textContent = live ? (job.stage || "") : ""; }
    var a = role(box, "ahead");
    if (a) {
      var n = job.ahead || 0;
      a.textContent = n > 0 ? label(box, n === 1 ? "ahead-one" : "ahead-many").replace(/%\(num\)d/, String(n)) : "";
    }
    var e = role(box, "elapsed");
    if (e && typeof job.elapsed === "number") { e.setAttribute("data-elapsed", String(job.elapsed)); showElapsed(e); }
    var err = role(box, "error");
    if (err && (job.state === "failed" || job.state === "dead")) { err.textContent = job.error || ""; }
    if (!live) {
      box.querySelectorAll('[data-role="cancel"], [data-role="cancel-form"]').forEach(function (c) { c.remove(); });
    }
  };
  // The time so far, every second, for boxes still under way.
  document.querySelectorAll('[data-role="elapsed"]').forEach(showElapsed);
  setInterval(function () {
    document.querySelectorAll('[data-role="elapsed"]').forEach(function (span) {
      var box = span.closest("[data-job-state]");
      var state = box ? box.getAttribute("data-job-state") : "";
      if (state !== "queued" && state !== "running") { return; }
      span.setAttribute("data-elapsed", String((parseInt(span.getAttribute("data-elapsed"), 10) || 0) + 1));
      showElapsed(span);
    });
  }, 1000);
  // A row of the course's recent work: followed while under way, then replaced by the server's row
  // (the result's title, linked: the result appears in place).
  SB.followRow = function (row) {
    var state = row.getAttribute("data-job-state");
    if (state !== "queued" && state !== "running") { return; }
    SB.watchJob(row.getAttribute("data-job-id"), function (job) {
      SB.updateJob(row, job);
      if (job.state !== "queued" && job.state !== "running" && job.row_url) {
        fetch(job.row_url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) { if (!r.ok) { throw new Error(r.statusText); } return r.text(); })
          .then(function (html) {
            var doc = new DOMParser().parseFromString("<ul>" + html + "</ul>", "text/html");
            var fresh = doc.body.querySelector("li");
            if (fresh && row.parentNode) { row.replaceWith(document.importNode(fresh, true)); }
          }).catch(function () {});
      }
    }, 1000);
  };
  document.querySelectorAll("li[data-job-id]").forEach(SB.followRow);
  // Cancel: asks the server, which stops the job (a running one's work is discarded).
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest('[data-role="cancel"]') : null;
    if (!button) { return; }
    var url = button.getAttribute("formaction") || (button.form && button.form.getAttribute("action"));
    if (!url || !window.fetch) { return; }
    ev.preventDefault();
    button.disabled = true;
    var box = button.closest("[data-job-state]");
    SB.fetchJSON(url, { method: "POST" }).then(function (job) { if (box) { SB.updateJob(box, job); } })
      .catch(function (err) { if (err.body && err.body.state && box) { SB.updateJob(box, err.body); } else { button.disabled = false; } });
  });
  // One-tap tools on the course page: start the job here and follow it in the list of recent work.
  var workList = document.querySelector('[data-role="work-list"]');
  document.querySelectorAll("form[data-start-tool]").forEach(function (form) {
    if (!workList || !window.fetch) { return; }
    form.addEventListener("submit", function (ev) {
      var button = ev.submitter;
      var url = (button && button.getAttribute("formaction")) || form.getAttribute("action");
      ev.preventDefault();
      if (button) { button.disabled = true; }
      var body = new FormData(form);
      SB.fetchJSON(url, { method: "POST", body: body }).then(function (started) {
        return fetch("/jobs/" + encodeURIComponent(started.job_id) + "/row",
                     { credentials: "same-origin", headers: { "Accept": "text/html" } });
      }).then(function (r) { return r.text(); }).then(function (html) {
        var doc = new DOMParser().parseFromString("<ul>" + html + "</ul>", "text/html");
        var row = doc.body.querySelector("li");
        if (!row) { return; }
        var empty = workList.querySelector('[data-role="no-work"]');
        if (empty) { empty.remove(); }
        row = document.importNode(row, true);
        var firstUnpinned = workList.querySelector("li:not(.is-pinned)");
        workList.insertBefore(row, firstUnpinned);
        row.querySelectorAll('[data-role="elapsed"]').forEach(showElapsed);
        SB.followRow(row);
        row.scrollIntoView({ block: "nearest" });
      }).catch(function (err) {
        var line = document.querySelector('[data-role="tool-status"]');
        if (line) { line.textContent = err.message || ""; }
      }).then(function () { if (button) { button.disabled = false; } });
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
