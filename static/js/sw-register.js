// StudyBuddy: register the service worker, offer "update now" when a new version waits,
// tell the worker the page language (for the offline page), and wipe the device on logout.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  var sw = navigator.serviceWorker;
  var banner = document.getElementById("sw-update");
  var updateAsked = false;

  function offerUpdate(worker) {
    if (!banner) { return; }
    banner.hidden = false;
    var button = banner.querySelector('[data-action="sw-update"]');
    button.addEventListener("click", function () {
      updateAsked = true;
      button.disabled = true;
      worker.postMessage({ type: "skip-waiting" });
    }, { once: true });
  }

  sw.register("/sw.js", { scope: "/" }).then(function (reg) {
    if (reg.waiting && sw.controller) { offerUpdate(reg.waiting); }
    reg.addEventListener("updatefound", function () {
      var worker = reg.installing;
      if (!worker) { return; }
      worker.addEventListener("statechange", function () {
        if (worker.state === "installed" && sw.controller) { offerUpdate(worker); }
      });
    });
  }).catch(function (err) {
    document.documentElement.setAttribute("data-sw-error", String(err && err.message || err));
  });

  // "Install the app" in the menu (the header's and the phone menu's), offered when Chromium says
  // the app can be installed.
  var installButtons = document.querySelectorAll("[data-install-app]");
  var installPrompt = null;
  function showInstall(shown) { installButtons.forEach(function (b) { b.hidden = !shown; }); }
  window.addEventListener("beforeinstallprompt", function (ev) {
    ev.preventDefault();
    installPrompt = ev;
    showInstall(true);
  });
  installButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      if (!installPrompt) { return; }
      installPrompt.prompt();
      installPrompt.userChoice.then(function () { installPrompt = null; showInstall(false); });
    });
  });
  window.addEventListener("appinstalled", function () { showInstall(false); });

  sw.addEventListener("controllerchange", function () {
    if (updateAsked) { updateAsked = false; window.location.reload(); }
  });

  sw.ready.then(function (reg) {
    var lang = document.documentElement.getAttribute("lang");
    if (reg.active && (lang === "he" || lang === "en") && !document.body.hasAttribute("data-public-shell")) {
      reg.active.postMessage({ type: "language", lang: lang });
    }
  });

  // Logout: send what was marked offline if we can, then drop every private copy on the device.
  document.querySelectorAll("form[data-logout]").forEach(function (form) {
    var leaving = false;
    form.addEventListener("submit", function (ev) {
      if (leaving) { return; }
      ev.preventDefault();
      leaving = true;
      var review = window.StudyBuddy && window.StudyBuddy.review;
      var flush = review && navigator.onLine
        ? review.sendMarks(window.StudyBuddy.csrfToken).catch(function () {}) : Promise.resolve();
      var timeout = new Promise(function (resolve) { setTimeout(resolve, 3000); });
      Promise.race([flush, timeout]).then(function () {
        var wipe = review ? review.wipe() : Promise.resolve();
        var tellWorker = new Promise(function (resolve) {
          if (!sw.controller) { resolve(); return; }
          sw.addEventListener("message", function (msg) {
            if (msg.data && msg.data.type === "logged-out") { resolve(); }
          });
          sw.controller.postMessage({ type: "logout" });
          setTimeout(resolve, 2000);
        });
        return Promise.all([wipe, tellWorker]);
      }).then(function () { form.submit(); }, function () { form.submit(); });
    });
  });
})();
