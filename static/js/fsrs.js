// StudyBuddy: a small port of py-fsrs's scheduler (FSRS-6, fuzzing off), so a device can schedule
// the cards it reviews while offline. The server replays every mark with py-fsrs itself and its
// answer always wins; this only has to agree with it for the rest of an offline session.
// Times are seconds since the epoch; a memory state is {state, step, stability, difficulty, due,
// last_review, reps, lapses, introduced_at} with state 0 for a card never reviewed.
(function () {
  "use strict";
  var DAY = 86400;
  var LEARNING = 1, REVIEW = 2, RELEARNING = 3;

  // Python's round(): halves go to the even neighbour.
  function roundHalfEven(x) {
    var r = Math.round(x);
    if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) { r -= 1; }
    return r;
  }
  function exp(x) { return Math.pow(Math.E, x); }

  function Scheduler(cfg) {
    this.w = cfg.parameters;
    this.retention = cfg.desired_retention;
    this.learningSteps = cfg.learning_steps;
    this.relearningSteps = cfg.relearning_steps;
    this.maximumInterval = cfg.maximum_interval;
    this.decay = -this.w[20];
    this.factor = Math.pow(0.9, 1 / this.decay) - 1;
  }
  Scheduler.prototype.clampD = function (d) { return Math.min(Math.max(d, 1), 10); };
  Scheduler.prototype.clampS = function (s) { return Math.max(s, 0.001); };
  Scheduler.prototype.initialS = function (r) { return this.clampS(this.w[r - 1]); };
  Scheduler.prototype.initialD = function (r) { return this.w[4] - exp(this.w[5] * (r - 1)) + 1; };
  Scheduler.prototype.interval = function (s) {
    var days = roundHalfEven((s / this.factor) * (Math.pow(this.retention, 1 / this.decay) - 1));
    return Math.min(Math.max(days, 1), this.maximumInterval);
  };
  Scheduler.prototype.shortTermS = function (s, r) {
    var inc = exp(this.w[17] * (r - 3 + this.w[18])) * Math.pow(s, -this.w[19]);
    if (r > 1) { inc = Math.max(inc, 1); }
    return this.clampS(s * inc);
  };
  Scheduler.prototype.nextD = function (d, r) {
    var target = this.initialD(4);
    var delta = -(this.w[6] * (r - 3));
    var damped = d + (10 - d) * delta / 9;
    return this.clampD(this.w[7] * target + (1 - this.w[7]) * damped);
  };
  Scheduler.prototype.nextS = function (d, s, retr, r) {
    var w = this.w, next;
    if (r === 1) {
      var longTerm = w[11] * Math.pow(d, -w[12]) * (Math.pow(s + 1, w[13]) - 1) * exp((1 - retr) * w[14]);
      next = Math.min(longTerm, s / exp(w[17] * w[18]));
    } else {
      var hard = r === 2 ? w[15] : 1, easy = r === 4 ? w[16] : 1;
      next = s * (1 + exp(w[8]) * (11 - d) * Math.pow(s, -w[9]) * (exp((1 - retr) * w[10]) - 1) * hard * easy);
    }
    return this.clampS(next);
  };
  Scheduler.prototype.retrievability = function (c, at) {
    if (c.last === null || c.s === null) { return 0; }
    var days = Math.max(0, Math.floor((at - c.last) / DAY));
    return Math.pow(1 + this.factor * days / c.s, this.decay);
  };
  // The steps of the learning (or relearning) phase: what py-fsrs's match on the rating does.
  Scheduler.prototype.stepThrough = function (c, r, steps) {
    if (steps.length === 0 || (c.step >= steps.length && r > 1)) { return this.graduate(c); }
    if (r === 1) { c.step = 0; return steps[0]; }
    if (r === 2) {
      if (c.step === 0 && steps.length === 1) { return steps[0] * 1.5; }
      if (c.step === 0 && steps.length >= 2) { return (steps[0] + steps[1]) / 2; }
      return steps[c.step];
    }
    if (r === 3 && c.step + 1 !== steps.length) { c.step += 1; return steps[c.step]; }
    return this.graduate(c);
  };
  Scheduler.prototype.graduate = function (c) {
    c.state = REVIEW;
    c.step = null;
    return this.interval(c.s) * DAY;
  };
  // The memory state after grade r (1-4) at time `at`.
  Scheduler.prototype.review = function (memory, r, at) {
    var fresh = !memory.reps;
    var c = {
      state: fresh ? LEARNING : memory.state, step: fresh ? 0 : memory.step,
      s: fresh ? null : memory.stability, d: fresh ? null : memory.difficulty,
      last: fresh ? null : memory.last_review
    };
    var days = c.last === null ? null : Math.floor((at - c.last) / DAY);
    var seconds;
    if (c.state === LEARNING || c.state === RELEARNING) {
      if (c.s === null || c.d === null) {
        c.s = this.initialS(r);
        c.d = this.clampD(this.initialD(r));
      } else if (days !== null && days < 1) {
        c.s = this.shortTermS(c.s, r);
        c.d = this.nextD(c.d, r);
      } else {
        c.s = this.nextS(c.d, c.s, this.retrievability(c, at), r);
        c.d = this.nextD(c.d, r);
      }
      seconds = this.stepThrough(c, r, c.state === LEARNING ? this.learningSteps : this.relearningSteps);
    } else {
      if (days !== null && days < 1) { c.s = this.shortTermS(c.s, r); }
      else { c.s = this.nextS(c.d, c.s, this.retrievability(c, at), r); }
      c.d = this.nextD(c.d, r);
      if (r === 1 && this.relearningSteps.length) {
        c.state = RELEARNING;
        c.step = 0;
        seconds = this.relearningSteps[0];
      } else {
        seconds = this.interval(c.s) * DAY;
      }
    }
    return {
      state: c.state, step: c.step, stability: c.s, difficulty: c.d, due: at + seconds, last_review: at,
      reps: (memory.reps || 0) + 1, lapses: (memory.lapses || 0) + (r === 1 && memory.state === REVIEW ? 1 : 0),
      introduced_at: memory.introduced_at != null ? memory.introduced_at : at
    };
  };
  // Seconds until due again after each grade: what the four buttons show.
  Scheduler.prototype.preview = function (memory, at) {
    var out = {}, self = this;
    ["again", "hard", "good", "easy"].forEach(function (name, i) { out[name] = self.review(memory, i + 1, at).due - at; });
    return out;
  };

  window.StudyBuddy = window.StudyBuddy || {};
  window.StudyBuddy.fsrs = { Scheduler: Scheduler, roundHalfEven: roundHalfEven };
})();
