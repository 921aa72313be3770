// Course material panel: files upload as soon as they are chosen or dropped, and the list stays
// live. Rows come from the server (the same HTML as a reload), so a new row has its type, links and
// buttons at once. Runs on DOMContentLoaded: this script may come before app.js (StudyBuddy).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var panel = document.querySelector(".documents-panel");
  var SB = window.StudyBuddy;
  if (!panel || !SB || !window.fetch || !window.FormData) { return; }
  var form = panel.querySelector("form.upload-form");
  var input = form ? form.querySelector('input[type="file"]') : null;
  var zone = panel.querySelector('[data-role="drop-zone"]');
  var statusLine = panel.querySelector('[data-role="upload-status"]');
  var list = panel.querySelector('[data-role="document-list"]');
  var timer = null;
  panel.classList.add("js-upload");  // the Upload button is not needed: choosing uploads

  function say(parts) {
    // parts: plain strings, or {name: ...} for a file name (isolated: a name keeps its own order).
    if (!statusLine) { return; }
    statusLine.textContent = "";
    (parts || []).forEach(function (part) {
      if (part && typeof part === "object") {
        var bdi = document.createElement("bdi");
        bdi.textContent = part.name;
        statusLine.appendChild(bdi);
      } else {
        statusLine.appendChild(document.createTextNode(part || ""));
      }
    });
  }

  function report(result) {
    var parts = [];
    (result.errors || []).forEach(function (e, i) {
      if (i) { parts.push(" · "); }
      parts.push({ name: e.name }, ": " + e.error);
    });
    if (!parts.length && result.error) { parts.push(result.error); }
    say(parts);
  }

  function upload(files) {
    if (!files || !files.length || !form) { return; }
    var body = new FormData();
    body.append("csrf_token", SB.csrfToken);
    for (var i = 0; i < files.length; i++) { body.append("files", files[i], files[i].name); }
    say([form.getAttribute("data-uploading") || "…"]);
    panel.setAttribute("aria-busy", "true");
    SB.fetchJSON(form.getAttribute("data-upload-url"), { method: "POST", body: body })
      .then(function (result) { report(result); refresh(); })
      .catch(function (err) { if (err.body) { report(err.body); } else { say([err.message]); } refresh(); })
      .then(function () { panel.removeAttribute("aria-busy"); if (input) { input.value = ""; } });
  }

  function refresh() {
    if (!list) { return; }
    if (timer) { clearTimeout(timer); timer = null; }
    fetch(list.getAttribute("data-rows-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.statusText); } return r.text(); })
      .then(function (html) {
        // Rendered and escaped by the server (names are the student's own text, never markup).
        var doc = new DOMParser().parseFromString("<ul>" + html + "</ul>", "text/html");
        var fresh = Array.prototype.slice.call(doc.body.querySelectorAll("ul > li"));
        var keep = {};
        fresh.forEach(function (li) {
          var id = li.getAttribute("data-document-id");
          var node = document.importNode(li, true);
          var old = id ? list.querySelector('[data-document-id="' + id + '"]') : null;
          if (id) { keep[id] = true; }
          if (old) {
            if (old.outerHTML !== node.outerHTML) { old.replaceWith(node); }
          } else if (!id && list.querySelector('[data-role="no-documents"]')) {
            return;
          } else {
            list.appendChild(node);
          }
        });
        list.querySelectorAll("li").forEach(function (li) {
          var id = li.getAttribute("data-document-id");
          if ((id && !keep[id]) || (!id && Object.keys(keep).length)) { li.remove(); }
        });
        if (list.querySelector('[data-status="uploaded"], [data-status="processing"]')) {
          timer = setTimeout(refresh, 1500);
        }
      })
      .catch(function () { timer = setTimeout(refresh, 5000); });
  }

  if (input) {
    input.addEventListener("change", function () { upload(input.files); });
  }
  if (zone) {
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
  if (form && input) {
    form.addEventListener("submit", function (ev) { ev.preventDefault(); upload(input.files); });
  }
  if (list && list.querySelector('[data-status="uploaded"], [data-status="processing"]')) { refresh(); }
});
