// StudyBuddy study tools: follow a running job and show its result as soon as it is ready.
// Elements with data-watch-job="<job id>" are watched through /api/v1/jobs/<id> (app.js).
//   data-on-done="reload"        reload the page (quiz grading)
//   data-fragment-url=".../RESULT" fetch the finished answer's HTML and put it in place (chat)
//   data-result-url=".../RESULT"   go to the result page (summary, flashcards, ...)
(function () {
  "use strict";
  var SB = window.StudyBuddy;
  if (!SB) { return; }

  function fill(box, role, text) {
    var el = box.querySelector('[data-role="' + role + '"]');
    if (el) { el.textContent = text; }
  }

  function showFragment(box, url) {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.statusText); } return r.text(); })
      .then(function (html) {
        // The server renders and sanitises the answer (Markdown, never raw model HTML).
        var doc = new DOMParser().parseFromString("<ol>" + html + "</ol>", "text/html");
        var item = doc.body.querySelector("li");
        if (item) { box.replaceWith(document.importNode(item, true)); } else { window.location.reload(); }
      })
      .catch(function () { window.location.reload(); });
  }

  // The result in place of the waiting card: the result page's content, without leaving the page.
  function showResult(url) {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.statusText); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var main = doc.querySelector("main");
        var here = document.querySelector("main");
        if (!main || !here) { throw new Error("no content"); }
        here.replaceChildren.apply(here, Array.prototype.map.call(main.childNodes, function (n) {
          return document.importNode(n, true);
        }));
        doc.querySelectorAll('link[rel="stylesheet"]').forEach(function (link) {
          if (!document.querySelector('link[href="' + link.getAttribute("href") + '"]')) {
            document.head.appendChild(document.importNode(link, true));
          }
        });
        document.title = doc.title;
        window.history.replaceState(null, "", url);
        here.focus();
      })
      .catch(function () { window.location.assign(url); });
  }

  document.querySelectorAll("[data-watch-job]").forEach(function (box) {
    var jobId = box.getAttribute("data-watch-job");
    var state = box.getAttribute("data-job-state");
    if (!jobId || (state !== "queued" && state !== "running")) { return; }
    SB.watchJob(jobId, function (job) {
      if (SB.updateJob) { SB.updateJob(box, job); }
      if (job.stage) { fill(box, "stage", job.stage); }
      if (job.state === "succeeded") {
        if (box.getAttribute("data-on-done") === "reload") { window.location.reload(); return; }
        var fragment = box.getAttribute("data-fragment-url");
        if (fragment) { showFragment(box, fragment.replace("RESULT", encodeURIComponent(job.result))); return; }
        var target = box.getAttribute("data-result-url");
        if (target) { showResult(target.replace("RESULT", encodeURIComponent(job.result))); }
      } else if (job.state === "failed" || job.state === "dead") {
        fill(box, "error", job.error || "");
        box.classList.add("failed");
      }
    }, 700);
  });

  // Chat: Enter sends, Shift+Enter makes a new line.
  var question = document.getElementById("chat-question");
  if (question && question.form) {
    question.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && question.value.trim()) {
        ev.preventDefault();
        question.form.requestSubmit ? question.form.requestSubmit() : question.form.submit();
      }
    });
    question.focus();
  }
  var messages = document.querySelector('[data-role="messages"]');
  if (messages && messages.lastElementChild) { messages.lastElementChild.scrollIntoView({ block: "end" }); }
})();
