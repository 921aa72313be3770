// StudyBuddy offline review: the flashcard deck kept on the device (IndexedDB), review marks
// queued there while offline and sent when the connection returns. The server applies each
// mark once (the mark id is its key), so sending the same queue twice is harmless.
(function () {
  "use strict";
  var DB_NAME = "studybuddy";
  var DECK_URL = "/review/deck.json";
  var MARKS_URL = "/review/marks";

  function openDB() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains("deck")) { db.createObjectStore("deck", { keyPath: "key" }); }
        if (!db.objectStoreNames.contains("marks")) { db.createObjectStore("marks", { keyPath: "id" }); }
      };
      req.onsuccess = function () {
        var db = req.result;
        // Another tab (or the logout) wants the database gone: let it.
        db.onversionchange = function () { db.close(); };
        resolve(db);
      };
      req.onerror = function () { reject(req.error); };
      req.onblocked = function () { reject(new Error("IndexedDB blocked")); };
    });
  }

  function tx(storeName, mode, work) {
    return openDB().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(storeName, mode);
        var result;
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = t.onabort = function () { db.close(); reject(t.error); };
        var r = work(t.objectStore(storeName));
        if (r) { r.onsuccess = function () { result = r.result; }; }
      });
    });
  }

  var Review = {
    getDeck: function () { return tx("deck", "readonly", function (s) { return s.get("deck"); }); },
    saveDeck: function (deck) {
      deck.key = "deck";
      return tx("deck", "readwrite", function (s) { return s.put(deck); });
    },
    pendingMarks: function () { return tx("marks", "readonly", function (s) { return s.getAll(); }); },
    queueMark: function (mark) { return tx("marks", "readwrite", function (s) { return s.put(mark); }); },
    dropMarks: function (ids) {
      return tx("marks", "readwrite", function (s) { ids.forEach(function (id) { s.delete(id); }); });
    },
    wipe: function () {
      return new Promise(function (resolve) {
        if (!window.indexedDB) { resolve(); return; }
        var req = indexedDB.deleteDatabase(DB_NAME);
        req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
      });
    },
    // Fetch the deck (also gives a fresh CSRF token), keep it, and send the queued marks.
    sync: function () {
      if (Review._syncing) { return Review._syncing; }
      Review._syncing = fetch(DECK_URL, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) {
          if (!r.ok) { var e = new Error("deck " + r.status); e.status = r.status; throw e; }
          return r.json();
        })
        .then(function (deck) {
          return Review.getDeck().catch(function () { return null; }).then(function (old) {
            if (old && old.user_id && old.user_id !== deck.user_id) {
              // Another student used this device before: their queue is not ours to send.
              return tx("marks", "readwrite", function (s) { return s.clear(); });
            }
          }).then(function () {
            return Review.saveDeck({ user_id: deck.user_id, cards: deck.cards, saved_at: Date.now() });
          }).then(function () { return Review.sendMarks(deck.csrf_token); })
            .then(function () { return deck; });
        })
        .finally(function () { Review._syncing = null; });
      return Review._syncing;
    },
    sendMarks: function (token) {
      return Review.pendingMarks().then(function (marks) {
        if (!marks.length) { return { accepted: [], duplicate: [], rejected: [] }; }
        return fetch(MARKS_URL, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": token },
          body: JSON.stringify({ marks: marks.slice(0, 500) })
        }).then(function (r) {
          if (!r.ok) { throw new Error("marks " + r.status); }
          return r.json();
        }).then(function (answer) {
          var done = answer.accepted.concat(answer.duplicate,
            answer.rejected.map(function (x) { return x.id; }));
          return Review.dropMarks(done).then(function () {
            document.dispatchEvent(new CustomEvent("studybuddy:marks-sent", { detail: answer }));
            return answer;
          });
        });
      });
    }
  };
  window.StudyBuddy = window.StudyBuddy || {};
  window.StudyBuddy.review = Review;

  function newMarkId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // The review widget: <section data-review> (on /review and on the offline page).
  function ReviewWidget(root) {
    this.root = root;
    this.queue = [];
    this.done = 0;
    this.el = function (role) { return root.querySelector('[data-role="' + role + '"]'); };
    var self = this;
    root.querySelector('[data-action="flip"]').addEventListener("click", function () { self.flip(); });
    root.querySelectorAll('[data-action="mark"]').forEach(function (button) {
      button.addEventListener("click", function () { self.mark(button.getAttribute("data-grade")); });
    });
    root.addEventListener("keydown", function (ev) {
      if (ev.target.tagName === "BUTTON" && (ev.key === " " || ev.key === "Enter")) { return; }
      if (ev.key === " " || ev.key === "Enter") { ev.preventDefault(); self.flip(); }
      else if (ev.key === "1") { self.mark("again"); }
      else if (ev.key === "2") { self.mark("good"); }
    });
    document.addEventListener("studybuddy:marks-sent", function () { self.showPending(); });
  }
  ReviewWidget.prototype.load = function (deck) {
    this.queue = (deck && deck.cards) ? deck.cards.slice() : [];
    this.total = this.queue.length;
    this.done = 0;
    this.el("deck-size").textContent = String(this.total);
    this.show();
  };
  ReviewWidget.prototype.show = function () {
    var card = this.queue[0];
    var empty = this.el("empty"), finished = this.el("finished"), box = this.el("card");
    empty.hidden = this.total > 0;
    finished.hidden = !(this.total > 0 && !card);
    box.hidden = !card;
    if (!card) { return; }
    this.el("front").textContent = card.front;
    this.el("back").textContent = card.back;
    this.el("back").hidden = true;
    this.el("answer-actions").hidden = true;
    this.el("flip").hidden = false;
    this.el("course").textContent = card.course || "";
    var source = this.el("source");
    source.textContent = "";
    if (card.source && card.source.document) {
      var name = document.createElement("bdi");
      name.textContent = card.source.document;
      source.appendChild(name);
      if (card.source.page) {
        var label = this.root.getAttribute("data-page-label") || "%(n)s";
        source.appendChild(document.createTextNode(" · " + label.replace("%(n)s", String(card.source.page))));
      }
    }
    this.el("position").textContent = String(this.done + 1);
    this.el("card").setAttribute("data-card-id", card.id);
  };
  ReviewWidget.prototype.flip = function () {
    if (!this.queue.length) { return; }
    this.el("back").hidden = false;
    this.el("flip").hidden = true;
    this.el("answer-actions").hidden = false;
    var first = this.el("answer-actions").querySelector("button");
    if (first) { first.focus(); }
  };
  ReviewWidget.prototype.mark = function (grade) {
    var card = this.queue[0];
    if (!card || this.el("back").hidden) { return; }
    var self = this;
    var mark = {
      id: newMarkId(), card_id: card.id, artifact_id: card.artifact_id, card_index: card.card_index,
      grade: grade, reviewed_at: Date.now() / 1000
    };
    this.queue.shift();
    if (grade === "again") { this.queue.push(card); } else { this.done += 1; }
    Review.queueMark(mark).then(function () {
      self.showPending();
      if (navigator.onLine && !self.root.hasAttribute("data-offline")) {
        Review.sendMarks(window.StudyBuddy.csrfToken).catch(function () {});
      }
    });
    this.show();
    this.el("flip").focus();
  };
  ReviewWidget.prototype.showPending = function () {
    var self = this;
    Review.pendingMarks().then(function (marks) {
      self.el("pending-count").textContent = String(marks.length);
      self.el("pending").hidden = marks.length === 0;
    }).catch(function () {});
  };

  function start() {
    var root = document.querySelector("[data-review]");
    var widget = root ? new ReviewWidget(root) : null;
    var offlinePage = root && root.hasAttribute("data-offline");
    function fromDevice() {
      return Review.getDeck().then(function (deck) {
        var pageUser = root.getAttribute("data-user-id");
        if (deck && pageUser && deck.user_id !== pageUser) { deck = null; }
        widget.load(deck);
        widget.showPending();
      }).catch(function () { widget.load(null); });
    }
    if (widget) {
      fromDevice().then(function () {
        if (offlinePage) { return; }
        Review.sync().then(function (deck) { widget.load(deck); widget.showPending(); })
          .catch(function () { root.setAttribute("data-sync", "failed"); })
          .then(function () { if (!root.hasAttribute("data-sync")) { root.setAttribute("data-sync", "done"); } });
      });
    } else if (document.body.hasAttribute("data-signed-in") && navigator.onLine) {
      // Any page of a signed-in student sends what was marked offline.
      Review.pendingMarks().then(function (marks) {
        if (marks.length) { Review.sync().catch(function () {}); }
      }).catch(function () {});
    }
    window.addEventListener("online", function () {
      Review.pendingMarks().then(function (marks) {
        if (!marks.length) { return; }
        return Review.sync().then(function () {
          if (widget) { widget.showPending(); }
        });
      }).catch(function () {});
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
