/* StudyBuddy service worker, served from /sw.js with root scope.
 * - Precaches the public app shell (versioned cache; the version is a digest of the static files).
 * - Pages: network first; when the network fails, the offline page in the student's language.
 * - Never caches pages or API answers of a logged-in student. The offline review deck lives in
 *   IndexedDB (written by review.js), and is wiped with everything else on logout.
 */
"use strict";

var VERSION = "__SHELL_VERSION__";
var SHELL_URLS = __SHELL_URLS__;
var SHELL_CACHE = "studybuddy-shell-" + VERSION;
var STATIC_CACHE = "studybuddy-static-" + VERSION;
var PREFS_CACHE = "studybuddy-prefs";
var DB_NAME = "studybuddy";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) {
    // Shell pages are fetched without cookies, so no account data can end up in the cache.
    return cache.addAll(SHELL_URLS.map(function (url) {
      return new Request(url, { credentials: "omit", cache: "reload" });
    }));
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("studybuddy-") === 0 && name !== SHELL_CACHE && name !== STATIC_CACHE &&
        name !== PREFS_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function preferredLanguage() {
  return caches.open(PREFS_CACHE).then(function (cache) {
    return cache.match("/__prefs/lang");
  }).then(function (response) {
    return response ? response.text() : "he";
  }).catch(function () { return "he"; });
}

function offlinePage() {
  return preferredLanguage().then(function (lang) {
    return caches.match("/offline?lang=" + (lang === "en" ? "en" : "he"), { ignoreVary: true });
  }).then(function (response) {
    return response || caches.match("/offline?lang=he", { ignoreVary: true });
  }).then(function (response) {
    return response || new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }

  if (request.mode === "navigate") {
    // Network first, never stored: pages can hold a student's private material.
    event.respondWith(fetch(request).catch(offlinePage));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    // Public, versioned files: from the cache, else from the network (and kept for next time).
    event.respondWith(caches.match(request, { ignoreVary: true }).then(function (hit) {
      if (hit) { return hit; }
      return fetch(request).then(function (response) {
        if (response.ok && response.type === "basic") {
          var copy = response.clone();
          caches.open(STATIC_CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return response;
      });
    }));
    return;
  }
  if (url.pathname === "/offline") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(request, { ignoreVary: true }).then(function (hit) { return hit || offlinePage(); });
    }));
  }
  // Everything else (API answers, the deck, the manifest) goes to the network untouched.
});

function clearPrivateData() {
  return caches.keys().then(function (names) {
    // Only the versioned public shell stays; any other cache might hold something personal.
    return Promise.all(names.filter(function (name) {
      return name !== SHELL_CACHE && name !== STATIC_CACHE && name !== PREFS_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    return new Promise(function (resolve) {
      var req = indexedDB.deleteDatabase(DB_NAME);
      req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
    });
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "skip-waiting") {
    self.skipWaiting();
  } else if (data.type === "language" && (data.lang === "he" || data.lang === "en")) {
    event.waitUntil(caches.open(PREFS_CACHE).then(function (cache) {
      return cache.put("/__prefs/lang", new Response(data.lang));
    }));
  } else if (data.type === "logout") {
    event.waitUntil(clearPrivateData().then(function () {
      if (event.source) { event.source.postMessage({ type: "logged-out" }); }
    }));
  }
});
