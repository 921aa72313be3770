// Course material panel: drag and drop uploads, and a live document list (status and progress).
// Runs on DOMContentLoaded: this script may come before app.js (which defines StudyBuddy).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var panel = document.querySelector(".documents-panel");
  if (!panel) { return; }
  var SB = window.StudyBuddy;
  if (!SB) { return; }
  var form = panel.querySelector("form.upload-form");
  var input = form ? form.querySelector('input[type="file"]') : null;
  var zone = panel.querySelector('[data-role="drop-zone"]');
  var statusLine = panel.querySelector('[data-role="upload-status"]');
  var list = panel.querySelector('[data-role="document-list"]');
  var busy = { uploaded: true, processing: true };
  var timer = null;

  function say(text) { if (statusLine) { statusLine.textContent = text || ""; } }

  function upload(files) {
    if (!files || !files.length || !form) { return; }
    var body = new FormData();
    body.append("csrf_token", SB.csrfToken);
    for (var i = 0; i < files.length; i++) { body.append("files", files[i], files[i].name); }
    say(form.getAttribute("data-uploading") || "…");
    SB.fetchJSON(form.getAttribute("data-upload-url"), { method: "POST", body: body })
      .then(function (result) { report(result); refresh(); })
      .catch(function (err) { report(err.body || {}); if (!err.body) { say(err.message); } refresh(); });
  }

  function report(result) {
    var lines = [];
    (result.errors || []).forEach(function (e) { lines.push(e.name + ": " + e.error); });
    if (!lines.length && result.error) { lines.push(result.error); }
    say(lines.join(" · "));
  }

  function row(doc) {
    var li = list.querySelector('[data-document-id="' + doc.id + '"]');
    if (!li) {
      var empty = list.querySelector('[data-role="no-documents"]');
      if (empty) { empty.remove(); }
      li = document.createElement("li");
      li.setAttribute("data-document-id", doc.id);
      var name = document.createElement("span");
      name.setAttribute("data-role", "name");
      name.setAttribute("dir", "auto");
      name.textContent = doc.name;
      var state = document.createElement("span");
      state.className = "job-state";
      state.setAttribute("data-role", "status");
      var error = document.createElement("span");
      error.className = "error";
      error.setAttribute("dir", "auto");
      error.setAttribute("data-role", "error");
      li.appendChild(name); li.appendChild(state); li.appendChild(error);
      list.appendChild(li);
    }
    return li;
  }

  function update(doc) {
    var li = row(doc);
    li.setAttribute("data-status", doc.status);
    var state = li.querySelector('[data-role="status"]');
    if (state) { state.textContent = doc.status_text + (doc.stage && busy[doc.status] ? " · " + doc.stage : ""); }
    var progress = li.querySelector('[data-role="progress"]');
    if (busy[doc.status]) {
      if (!progress) {
        progress = document.createElement("progress");
        progress.max = 100;
        progress.setAttribute("data-role", "progress");
        state.after(progress);
      }
      progress.value = doc.progress || 0;
    } else if (progress) {
      progress.remove();
    }
    var error = li.querySelector('[data-role="error"]');
    if (error) { error.textContent = doc.error || ""; }
    if (doc.status === "failed" && doc.urls.retry && !li.querySelector('[data-role="retry"], form[action="' + doc.urls.retry + '"]')) {
      var again = document.createElement("button");
      again.type = "button";
      again.className = "link";
      again.setAttribute("data-role", "retry");
      again.textContent = list.getAttribute("data-retry-label") || "↻";
      again.addEventListener("click", function () {
        again.disabled = true;
        SB.fetchJSON(doc.urls.status + "/retry", { method: "POST" })
          .then(function () { again.remove(); refresh(); })
          .catch(function (err) { say(err.message); again.disabled = false; });
      });
      li.appendChild(again);
    }
    var name = li.querySelector('[data-role="name"]');
    if (name && doc.status === "ready" && doc.urls.pages && name.tagName !== "A") {
      var link = document.createElement("a");
      link.href = doc.urls.pages;
      link.setAttribute("dir", "auto");
      link.setAttribute("data-role", "name");
      link.textContent = doc.name;
      name.replaceWith(link);
    }
  }

  function refresh() {
    if (!list) { return; }
    if (timer) { clearTimeout(timer); timer = null; }
    SB.fetchJSON(list.getAttribute("data-list-url")).then(function (result) {
      var pending = false;
      (result.documents || []).forEach(function (doc) {
        update(doc);
        if (busy[doc.status]) { pending = true; }
      });
      if (pending) { timer = setTimeout(refresh, 1500); }
    }).catch(function () { timer = setTimeout(refresh, 5000); });
  }

  if (zone && input) {
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (ev) { ev.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (ev) { ev.preventDefault(); zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (ev) {
      if (ev.dataTransfer && ev.dataTransfer.files.length) { upload(ev.dataTransfer.files); }
    });
  }
  if (form && input && window.FormData && window.fetch) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      upload(input.files);
      form.reset();
    });
  }
  if (list && list.querySelector('[data-status="uploaded"], [data-status="processing"]')) { refresh(); }
});
