// StudyBuddy review: the cards due (with their FSRS state) kept on the device in IndexedDB, marks
// queued there and sent when there is a connection. The server applies each mark once (the mark
// id is its key) in the order the marks were made, so sending the same queue twice is harmless.
// While offline the page schedules the cards it reviews itself (fsrs.js); the server's answer wins.
(function () {
  "use strict";
  var DB_NAME = "studybuddy";
  var DECK_URL = "/review/deck.json";
  var MARKS_URL = "/review/marks";
  var GRADES = ["again", "hard", "good", "easy"];
  var MEMORY = ["state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses", "introduced_at"];

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

  function fetchDeck() {
    return fetch(DECK_URL, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { var e = new Error("deck " + r.status); e.status = r.status; throw e; }
        return r.json();
      });
  }

  function keepMemory(card, from) { MEMORY.forEach(function (k) { card[k] = from[k]; }); }

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
    keep: function (deck) {
      return Review.saveDeck({
        user_id: deck.user_id, cards: deck.cards, scheduler: deck.scheduler, day_start: deck.day_start,
        day_end: deck.day_end, new_per_day: deck.new_per_day, new_today: deck.new_today, saved_at: Date.now()
      });
    },
    // Fetch the deck (also gives a fresh CSRF token), send the queued marks, and keep the
    // server's deck (fetched again when marks went in, so it holds their result).
    sync: function () {
      if (Review._syncing) { return Review._syncing; }
      Review._syncing = fetchDeck()
        .then(function (deck) {
          return Review.getDeck().catch(function () { return null; }).then(function (old) {
            if (old && old.user_id && old.user_id !== deck.user_id) {
              // Another student used this device before: their queue is not ours to send.
              return tx("marks", "readwrite", function (s) { return s.clear(); });
            }
          }).then(function () { return Review.sendMarks(deck.csrf_token); })
            .then(function (answer) { return answer.accepted.length ? fetchDeck() : deck; });
        })
        .then(function (deck) { return Review.keep(deck).then(function () { return deck; }); })
        .finally(function () { Review._syncing = null; });
      return Review._syncing;
    },
    sendMarks: function (token) {
      var sending = (Review._sending || Promise.resolve()).catch(function () {}).then(function () {
        return Review.pendingMarks();
      }).then(function (marks) {
        if (!marks.length) { return { accepted: [], duplicate: [], rejected: [], cards: [] }; }
        marks.sort(function (a, b) { return a.reviewed_at - b.reviewed_at; });
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
      Review._sending = sending;
      return sending;
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

  function nowSeconds() { return Date.now() / 1000; }

  // The review widget: <section data-review> (on the review pages and on the offline page).
  function ReviewWidget(root) {
    this.root = root;
    this.deck = null;
    this.queue = [];
    this.done = 0;
    this.history = [];  // what undo takes back: {mark, card_id, before, newToday}
    this.shownAt = 0;
    this.scopeDeck = root.getAttribute("data-deck-id") || "";
    this.scopeCourse = root.getAttribute("data-course-id") || "";
    this.units = JSON.parse(root.getAttribute("data-units") || "{}");
    if (window.matchMedia && window.matchMedia("(hover: none), (pointer: coarse)").matches) {
      root.setAttribute("data-touch", "");  // no keyboard hints on a phone
    }
    this.el = function (role) { return root.querySelector('[data-role="' + role + '"]'); };
    var self = this;
    root.querySelector('[data-action="flip"]').addEventListener("click", function () { self.flip(); });
    root.querySelectorAll('[data-action="mark"]').forEach(function (button) {
      button.addEventListener("click", function () { self.mark(button.getAttribute("data-grade")); });
    });
    root.querySelector('[data-action="undo"]').addEventListener("click", function () { self.undo(); });
    root.querySelector('[data-action="edit"]').addEventListener("click", function () { self.startEdit(); });
    root.querySelector('[data-action="suspend"]').addEventListener("click", function () { self.setAside("suspend"); });
    root.querySelector('[data-action="bury"]').addEventListener("click", function () { self.setAside("bury"); });
    this.el("edit-form").addEventListener("submit", function (ev) { ev.preventDefault(); self.saveEdit(); });
    root.querySelector('[data-action="cancel-edit"]').addEventListener("click", function () { self.endEdit(); });
    document.addEventListener("keydown", function (ev) { self.onKey(ev); });
    document.addEventListener("studybuddy:marks-sent", function (ev) { self.onSent(ev.detail); });
    window.setInterval(function () { if (!self.queue.length && self.deck) { self.rebuild(); } }, 20000);
  }
  ReviewWidget.prototype.scheduler = function () {
    var cfg = this.deck && this.deck.scheduler;
    return cfg ? new window.StudyBuddy.fsrs.Scheduler(cfg) : null;
  };
  ReviewWidget.prototype.inScope = function (card) {
    return (!this.scopeDeck || card.deck_id === this.scopeDeck) &&
      (!this.scopeCourse || card.course_id === this.scopeCourse);
  };
  ReviewWidget.prototype.load = function (deck) {
    this.deck = deck && deck.cards ? deck : null;
    this.done = 0;
    this.history = [];
    var cards = this.deck ? this.deck.cards.filter(this.inScope, this) : [];
    this.el("deck-size").textContent = String(cards.length);
    this.rebuild();
  };
  // Today's queue: (re)learning cards whose minutes are up, reviews due today, today's new cards,
  // then (re)learning cards coming back within the learn-ahead window.
  ReviewWidget.prototype.rebuild = function () {
    var deck = this.deck, now = nowSeconds();
    if (!deck) { this.queue = []; this.dueCount = this.newCount = 0; this.show(); return; }
    if (deck.day_end && now >= deck.day_end) {  // a new study day began while the page was open
      var days = Math.ceil((now - deck.day_end) / 86400) || 1;
      deck.day_start = deck.day_end + (days - 1) * 86400;
      deck.day_end = deck.day_start + 86400;
      deck.new_today = 0;
    }
    var ahead = (deck.scheduler && deck.scheduler.learn_ahead) || 1200;
    var cards = deck.cards.filter(this.inScope, this);
    var learningNow = [], reviews = [], fresh = [], learningSoon = [];
    cards.forEach(function (c) {
      if (!c.reps) { fresh.push(c); }
      else if (c.state === 2) { if (!deck.day_end || c.due < deck.day_end) { reviews.push(c); } }
      else if (c.due <= now) { learningNow.push(c); }
      else if (c.due <= now + ahead) { learningSoon.push(c); }
    });
    var byDue = function (a, b) { return a.due - b.due; };
    learningNow.sort(byDue); reviews.sort(byDue); learningSoon.sort(byDue);
    var newLeft = Math.max(0, (deck.new_per_day == null ? 20 : deck.new_per_day) - (deck.new_today || 0));
    fresh = fresh.slice(0, newLeft);
    this.queue = learningNow.concat(reviews, fresh, learningSoon);
    this.dueCount = learningNow.length + reviews.length + learningSoon.length;
    this.newCount = fresh.length;
    this.show();
  };
  ReviewWidget.prototype.show = function () {
    var card = this.queue[0];
    var empty = this.el("empty"), finished = this.el("finished"), box = this.el("card");
    var hasCards = !!(this.deck && this.deck.cards.some(this.inScope, this));
    this.el("due-count").textContent = String(this.dueCount || 0);
    this.el("new-count").textContent = String(this.newCount || 0);
    this.root.setAttribute("data-due", String(this.dueCount || 0));
    this.root.setAttribute("data-new", String(this.newCount || 0));
    if (!this.scopeDeck && !this.scopeCourse) {  // the page's own totals follow the session
      var totalDue = document.querySelector('[data-role="total-due"]');
      var totalNew = document.querySelector('[data-role="total-new"]');
      if (totalDue) { totalDue.textContent = String(this.dueCount || 0); }
      if (totalNew) { totalNew.textContent = String(this.newCount || 0); }
    }
    empty.hidden = hasCards || this.done > 0;
    finished.hidden = !(!card && (hasCards || this.done > 0));
    box.hidden = !card;
    this.el("undo").disabled = !this.history.length;
    this.endEdit();
    if (!card) { this.current = null; return; }
    if (this.current !== card.id) { this.shownAt = Date.now(); }
    this.current = card.id;
    this.el("front").textContent = card.front;
    this.el("back").textContent = card.back;
    this.el("back").hidden = true;
    this.el("answer-actions").hidden = true;
    this.el("flip").hidden = false;
    this.el("course").textContent = card.course || "";
    this.el("deck").textContent = card.deck || "";
    this.showSource(card);
    this.el("position").textContent = String(this.done + 1);
    this.el("total").textContent = String(this.done + this.queue.length);
    box.setAttribute("data-card-id", card.id);
    box.setAttribute("data-state", String(card.reps ? card.state : 0));
  };
  ReviewWidget.prototype.showSource = function (card) {
    var source = this.el("source");
    source.textContent = "";
    if (!card.source || !card.source.document) { return; }
    var label = this.root.getAttribute("data-page-label") || "%(n)s";
    var holder = card.source.url ? document.createElement("a") : document.createElement("span");
    if (card.source.url) { holder.href = card.source.url; }
    // The file name keeps its own direction; the page label follows the page's.
    var name = document.createElement("bdi");
    name.textContent = card.source.document;
    holder.appendChild(name);
    if (card.source.page) {
      holder.appendChild(document.createTextNode(" · " + label.replace("%(n)s", String(card.source.page))));
    }
    source.appendChild(holder);
  };
  ReviewWidget.prototype.formatInterval = function (seconds) {
    var u = this.units, n, key;
    if (seconds < 3600) { n = Math.max(1, Math.round(seconds / 60)); key = "minutes"; }
    else if (seconds < 86400) { n = Math.round(seconds / 3600); key = "hours"; }
    else if (seconds < 30 * 86400) { n = Math.round(seconds / 86400); key = "days"; }
    else if (seconds < 365 * 86400) { n = Math.round(seconds / (30 * 86400) * 10) / 10; key = "months"; }
    else { n = Math.round(seconds / (365 * 86400) * 10) / 10; key = "years"; }
    return (u[key] || "%(n)s " + key).replace("%(n)s", String(n));
  };
  ReviewWidget.prototype.flip = function () {
    var card = this.queue[0];
    if (!card || !this.el("edit-form").hidden) { return; }
    this.el("back").hidden = false;
    this.el("flip").hidden = true;
    this.el("answer-actions").hidden = false;
    var scheduler = this.scheduler(), self = this;
    if (scheduler) {
      var preview = scheduler.preview(card, nowSeconds());
      GRADES.forEach(function (g) { self.el("ivl-" + g).textContent = self.formatInterval(preview[g]); });
    }
    // Focus on "Good": Space after Space marks a known card as known, as in Anki.
    var good = this.root.querySelector('[data-grade="good"]');
    if (good) { good.focus(); }
  };
  ReviewWidget.prototype.mark = function (grade) {
    var card = this.queue[0];
    if (!card || this.el("back").hidden) { return; }
    var self = this, at = nowSeconds(), r = GRADES.indexOf(grade) + 1;
    var mark = {
      id: newMarkId(), card_id: card.id, grade: r, reviewed_at: Math.round(at * 1000) / 1000,
      duration_ms: Math.max(0, Date.now() - this.shownAt)
    };
    var before = {};
    MEMORY.forEach(function (k) { before[k] = card[k]; });
    this.history.push({ mark: mark, card_id: card.id, before: before, newToday: this.deck.new_today || 0 });
    if (!card.reps) { this.deck.new_today = (this.deck.new_today || 0) + 1; }
    var scheduler = this.scheduler();
    if (scheduler) { keepMemory(card, scheduler.review(card, r, mark.reviewed_at)); }
    this.done += 1;
    Review.queueMark(mark).then(function () {
      self.showPending();
      return Review.keep(self.deck);
    }).then(function () {
      if (navigator.onLine && !self.root.hasAttribute("data-offline")) {
        return Review.sendMarks(window.StudyBuddy.csrfToken).catch(function () {});
      }
    });
    this.rebuild();
    this.el("flip").focus();
  };
  ReviewWidget.prototype.findCard = function (id) {
    var cards = this.deck ? this.deck.cards : [];
    for (var i = 0; i < cards.length; i++) { if (cards[i].id === id) { return cards[i]; } }
    return null;
  };
  // The server's state of the cards it just applied marks to (unless more marks wait for them).
  ReviewWidget.prototype.onSent = function (answer) {
    var self = this;
    this.showPending();
    if (!this.deck || !answer || !answer.cards || !answer.cards.length) { return; }
    Review.pendingMarks().then(function (marks) {
      var waiting = {};
      marks.forEach(function (m) { waiting[m.card_id] = true; });
      answer.cards.forEach(function (server) {
        var card = self.findCard(server.id);
        if (card && !waiting[server.id]) { keepMemory(card, server); card.version = server.version; }
      });
      return Review.keep(self.deck);
    }).catch(function () {});
  };
  ReviewWidget.prototype.undo = function () {
    var last = this.history.pop();
    if (!last) { return; }
    var self = this;
    var restore = function (memory) {
      var card = self.findCard(last.card_id);
      if (card) { keepMemory(card, memory); }
      self.deck.new_today = last.newToday;
      self.done = Math.max(0, self.done - 1);
      return Review.keep(self.deck).then(function () {
        self.rebuild();
        // The card comes back first, its answer hidden.
        if (card) {
          self.queue = [card].concat(self.queue.filter(function (c) { return c.id !== card.id; }));
          self.show();
        }
        self.note("");
      });
    };
    // Wait for a send in flight, so the mark is either still queued here or applied there.
    (Review._sending || Promise.resolve()).catch(function () {}).then(function () {
      return Review.pendingMarks();
    }).then(function (marks) {
      if (marks.some(function (m) { return m.id === last.mark.id; })) {
        return Review.dropMarks([last.mark.id]).then(function () { self.showPending(); return restore(last.before); });
      }
      if (!navigator.onLine) { self.history.push(last); self.note("undo-offline"); return; }
      return window.StudyBuddy.fetchJSON("/review/undo", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ mark_id: last.mark.id })
      }).then(function (answer) { return restore(answer.card); });
    }).catch(function () { self.note("failed"); });
  };
  ReviewWidget.prototype.startEdit = function () {
    var card = this.queue[0];
    if (!card) { return; }
    if (!navigator.onLine || this.root.hasAttribute("data-offline")) { this.note("edit-offline"); return; }
    var form = this.el("edit-form");
    form.elements.front.value = card.front;
    form.elements.back.value = card.back;
    form.hidden = false;
    this.el("front").hidden = true;
    this.el("back").hidden = true;
    form.elements.front.focus();
  };
  ReviewWidget.prototype.endEdit = function () {
    var form = this.el("edit-form");
    if (form.hidden) { return; }
    form.hidden = true;
    this.el("front").hidden = false;
    this.el("back").hidden = this.el("answer-actions").hidden;
  };
  ReviewWidget.prototype.saveEdit = function () {
    var card = this.queue[0], form = this.el("edit-form"), self = this;
    if (!card) { return; }
    window.StudyBuddy.fetchJSON("/review/cards/" + encodeURIComponent(card.id) + "/edit", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ front: form.elements.front.value, back: form.elements.back.value })
    }).then(function (answer) {
      card.front = answer.card.front;
      card.back = answer.card.back;
      self.el("front").textContent = card.front;
      self.el("back").textContent = card.back;
      self.endEdit();
      self.note("saved");
      return Review.keep(self.deck);
    }).catch(function (err) { self.note("", (err && err.message) || ""); });
  };
  // Suspend, or bury until tomorrow: the card leaves the queue (needs the connection).
  ReviewWidget.prototype.setAside = function (how) {
    var card = this.queue[0], self = this;
    if (!card) { return; }
    if (!navigator.onLine || this.root.hasAttribute("data-offline")) { this.note("edit-offline"); return; }
    window.StudyBuddy.fetchJSON("/review/cards/" + encodeURIComponent(card.id) + "/" + how, { method: "POST" })
      .then(function () {
        self.deck.cards = self.deck.cards.filter(function (c) { return c.id !== card.id; });
        self.note(how === "bury" ? "buried" : "suspended");
        return Review.keep(self.deck);
      }).then(function () { self.rebuild(); })
      .catch(function () { self.note("failed"); });
  };
  ReviewWidget.prototype.note = function (key, text) {
    var box = this.el("note");
    var message = text || (key ? this.root.getAttribute("data-note-" + key) : "");
    box.textContent = message || "";
    box.hidden = !message;
  };
  ReviewWidget.prototype.onKey = function (ev) {
    if (!this.queue.length || this.el("card").hidden || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var tag = ev.target && ev.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (ev.target && ev.target.isContentEditable)) { return; }
    var answerShown = !this.el("back").hidden;
    if (ev.key === " " || ev.key === "Enter") {
      // A focused button answers Space and Enter by itself.
      if (tag === "BUTTON" || tag === "A") { return; }
      ev.preventDefault();
      if (answerShown) { this.mark("good"); } else { this.flip(); }
    } else if (answerShown && ev.key >= "1" && ev.key <= "4") {
      ev.preventDefault();
      this.mark(GRADES[Number(ev.key) - 1]);
    } else if (ev.key === "u" || ev.key === "U") {
      ev.preventDefault();
      this.undo();
    } else if (ev.key === "e" || ev.key === "E") {
      ev.preventDefault();
      this.startEdit();
    }
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
    function syncWidget() {
      return Review.sync().then(function (deck) { widget.load(deck); widget.showPending(); });
    }
    if (widget) {
      fromDevice().then(function () {
        if (offlinePage) { return; }
        syncWidget()
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
        if (widget && !offlinePage) {
          root.setAttribute("data-sync", "running");
          return syncWidget().then(function () { root.setAttribute("data-sync", "done"); });
        }
        return Review.sync().then(function () { if (widget) { widget.showPending(); } });
      }).catch(function () {});
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
