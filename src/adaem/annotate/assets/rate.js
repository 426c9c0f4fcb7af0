// The rating page of `adaem annotate serve`. Question text and the design's Markdown are untrusted: they reach the
// DOM only through textContent and createElement (the `el` and `md` helpers below); nothing assigns innerHTML.
//
// Focus: the page builds a question's view once and afterwards only patches it (pressed buttons, the highlighted
// scale, progress), so focus stays where the person is. Focus and the highlighted scale (the one the digit keys
// rate) are kept together: moving focus into a scale highlights it, and changing the highlight by key or by rating
// moves focus to it. The highlighted scale is announced to screen readers (#announce, aria-current).
//
// Saving: every rating is sent at once, in order, with the value the page showed before it ("expected"); the
// server refuses a rating changed meanwhile by another page of the same rater (409) and the stored value wins.
// The page also polls the rater's version and reloads its ratings when another page changed them.
"use strict";

const TOKEN = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const API = `/api/r/${encodeURIComponent(TOKEN)}`;
const POLL_MS = 5000;
let S = null;          // {rater, scale, metrics, instructions, practice, items, done, total, version}
let view = "items";    // intro | practice | items
let at = 0;            // the question shown (items)
let pat = 0;           // the practice question shown
let active = 0;        // the highlighted scale
let started = false;   // the rater has left the instructions once
let version = 0;       // the server's version of this rater's ratings as this page knows it
let built = null;      // the view on screen: {key, sections: [{section, buttons}], ...}
let undoStack = [];    // {list, index, mi, before}
let queue = Promise.resolve();
let inFlight = 0;
let needSync = false;
let shown = null;      // {id, since}: the item on screen, for the time spent on it
const openExamples = new Set();

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") { for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn); }
    else if (k === "class") node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// The design's Markdown arrives as a tree of a few known tags (markdown.py); anything else is text.
const MD_TAGS = new Set(["p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code", "pre",
                         "blockquote", "br", "hr", "a"]);
function md(nodes) {
  return (nodes || []).map(n => {
    if (typeof n === "string") return document.createTextNode(n);
    if (!MD_TAGS.has(n.t)) return document.createTextNode("");
    const attrs = {};
    if (n.t === "a" && /^(https?:|mailto:)/i.test(n.href || "")) {
      Object.assign(attrs, {href: n.href, target: "_blank", rel: "noopener noreferrer"});
    }
    if (n.t === "ol" && Number.isInteger(n.start)) attrs.start = n.start;
    return el(n.t, attrs, md(n.c));
  });
}

const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms));
const complete = (item) => S.metrics.every(m => item.ratings[m.key] !== undefined);
const doneCount = () => S.items.filter(complete).length;
const points = () => { const p = []; for (let v = S.scale.min; v <= S.scale.max; v++) p.push(v); return p; };
const label = (v) => (S.scale.labels || {})[String(v)] || "";
const list = () => view === "practice" ? S.practice : S.items;
const index = () => view === "practice" ? pat : at;
const current = () => list()[index()];
const hasIntro = () => S.instructions.length > 0 || S.metrics.some(m => m.examples.length) || S.practice.length > 0;

function nextUnrated(from) {
  for (let k = 0; k < S.items.length; k++) {
    const i = (from + k) % S.items.length;
    if (!complete(S.items[i])) return i;
  }
  return -1;
}

function firstOpenMetric(item) {
  const i = S.metrics.findIndex(m => item.ratings[m.key] === undefined);
  return i < 0 ? 0 : i;
}

function setStatus(text, kind) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = "status " + (kind || "");
}

function announce(text) {
  const a = document.getElementById("announce");
  a.textContent = "";
  setTimeout(() => { a.textContent = text; }, 30);  // a change, even to the same text, is read out
}

function scaleSummary(mi) {
  const m = S.metrics[mi];
  const v = current().ratings[m.key];
  return `${m.name} scale${v === undefined ? ", not rated" : `, rated ${v}${label(v) ? " " + label(v) : ""}`}`;
}

// -- time spent on an item -------------------------------------------------------------------------------------
function startClock() {
  const item = view === "intro" ? null : current();
  shown = item && document.visibilityState === "visible" ? {id: item.id, since: performance.now()} : null;
}

function stopClock() {
  if (!shown) return;
  const seconds = Math.min(3600, (performance.now() - shown.since) / 1000);
  const id = shown.id;
  shown = null;
  if (seconds <= 0.001) return;
  fetch(`${API}/time`, {method: "POST", keepalive: true, cache: "no-store", headers: {"Content-Type": "application/json"},
                        body: JSON.stringify({item: id, seconds})}).catch(() => {});
}

// -- saving --------------------------------------------------------------------------------------------------
async function post(item, metric, value, expected) {
  // the server's answer; {conflict} on a 409; throws on another refusal; retries while the server is unreachable
  for (let attempt = 0; ; attempt++) {
    let r = null;
    try {
      r = await fetch(`${API}/rating`, {method: "POST", cache: "no-store", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify({item, metric, value, expected})});
    } catch (e) { r = null; }
    if (r && r.ok) return r.json();
    if (r && r.status === 409) return r.json();
    if (r && r.status < 500) {
      const body = await r.json().catch(() => ({}));
      throw new Error(body.error || `the server refused the rating (HTTP ${r.status})`);
    }
    setStatus(`Not saved yet: ${r ? "the server answered " + r.status : "no connection to the server"}. Retrying…`, "bad");
    await sleep(Math.min(8000, 400 * 2 ** attempt));
  }
}

function send(item, key, value, before) {
  inFlight++;
  setStatus("Saving…");
  queue = queue.then(() => post(item.id, key, value, before)).then((answer) => {
    inFlight--;
    if (answer.conflict) {
      if (answer.current === null) delete item.ratings[key]; else item.ratings[key] = answer.current;
      needSync = true;
      setStatus("This rating was changed in another open page: showing the saved one", "bad");
    } else {
      if (answer.prior !== version) needSync = true;  // another page wrote in between
      version = answer.version;
    }
    if (!inFlight) {
      if (!answer.conflict) setStatus("All ratings saved", "ok");
      if (needSync) sync(answer.conflict);
    }
    update();
  }, (err) => {
    inFlight--;
    if (before === null) delete item.ratings[key]; else item.ratings[key] = before;
    setStatus(`Not saved: ${err.message}`, "bad");
    update();
  });
}

function apply(item, key, value) {
  const before = item.ratings[key] ?? null;
  if (value === null) delete item.ratings[key]; else item.ratings[key] = value;
  send(item, key, value, before);
  return before;
}

// -- the server's ratings win ------------------------------------------------------------------------------
async function sync(quiet) {
  needSync = false;
  let r = null;
  try { r = await fetch(API, {cache: "no-store"}); } catch (e) { return; }
  if (!r.ok) return;
  if (inFlight) { needSync = true; return; }  // this page's own ratings first: the next answer syncs again
  const fresh = await r.json();
  let changed = false;
  for (const [mine, theirs] of [[S.items, fresh.items], [S.practice, fresh.practice]]) {
    const byId = new Map(theirs.map(it => [it.id, it.ratings]));
    for (const item of mine) {
      const server = byId.get(item.id) || {};
      if (JSON.stringify(server) !== JSON.stringify(item.ratings)) { item.ratings = server; changed = true; }
    }
  }
  version = fresh.version;
  if (changed) {
    undoStack = [];  // what an undo would restore may no longer be what is stored
    if (!quiet) setStatus("Updated with the ratings saved from your other open page", "ok");
  }
  update();
}

async function poll() {
  if (!S || inFlight || document.visibilityState !== "visible") return;
  try {
    const r = await fetch(`${API}/version`, {cache: "no-store"});
    if (r.ok && (await r.json()).version !== version && !inFlight) await sync();
  } catch (e) { /* offline: the next poll tries again */ }
}

// -- actions -------------------------------------------------------------------------------------------------
function rate(mi, value) {
  const item = current();
  const key = S.metrics[mi].key;
  const wasComplete = complete(item);
  if ((item.ratings[key] ?? null) !== value) {
    undoStack.push({list: view, index: index(), mi, before: apply(item, key, value)});
  }
  if (view === "items" && !wasComplete && complete(item)) {  // the question is done: on to the next one not rated
    const next = nextUnrated(at + 1);
    if (next >= 0) { stopClock(); at = next; active = firstOpenMetric(S.items[at]); show("scale"); return; }
  }
  if (view === "practice" && complete(item)) { active = mi; show("continue"); return; }
  const open = S.metrics.findIndex((m, i) => i > mi && item.ratings[m.key] === undefined);
  active = open >= 0 ? open : Math.min(mi + 1, S.metrics.length - 1);
  show("scale");
}

function undo(focus) {
  const last = undoStack.pop();
  if (!last) { setStatus("Nothing to undo"); return; }
  if (last.list !== view || last.index !== index()) stopClock();
  view = last.list;
  if (view === "practice") pat = last.index; else at = last.index;
  active = last.mi;
  apply(current(), S.metrics[last.mi].key, last.before);
  show(focus);
}

function go(i, focus) {
  if (i < 0 || i >= list().length) return;
  stopClock();
  if (view === "practice") pat = i; else at = i;
  active = firstOpenMetric(current());
  show(focus);
}

function setActive(mi, focus) {
  if (mi === active) return;
  active = mi;
  update();
  if (focus) focusScale();
  announce(scaleSummary(mi));
}

function startRating(focus) {
  started = true;
  stopClock();
  const practiceLeft = S.practice.findIndex(p => !complete(p));
  if (practiceLeft >= 0 && !S.items.some(it => Object.keys(it.ratings).length)) {
    view = "practice"; pat = practiceLeft;
  } else {
    view = "items";
    const next = nextUnrated(0);
    at = next >= 0 ? next : 0;
  }
  active = firstOpenMetric(current());
  show(focus || "scale");
}

function continuePractice() {
  if (pat + 1 < S.practice.length) { go(pat + 1, "scale"); return; }
  stopClock();
  view = "items";
  const next = nextUnrated(0);
  at = next >= 0 ? next : 0;
  active = firstOpenMetric(current());
  setStatus("Practice done: the questions that count start now", "ok");
  show("scale");
}

function showInstructions() {
  stopClock();
  view = "intro";
  show("heading");
}

// -- building and patching the view ----------------------------------------------------------------------------
function viewKey() {
  return view === "intro" ? "intro" : `${view}:${current().id}`;
}

function show(focus) {
  const key = viewKey();
  if (!built || built.key !== key) {
    build(key);
    startClock();
    if (view !== "intro") {
      const where = view === "practice" ? `Practice question ${pat + 1} of ${S.practice.length}, not counted`
                                        : `Question ${at + 1} of ${S.items.length}`;
      announce(`${where}. ${scaleSummary(active)}`);
    }
  } else if (view !== "intro" && focus === "scale") {
    announce(scaleSummary(active));
  }
  update();
  placeFocus(focus);
}

function placeFocus(focus) {
  if (!focus || focus === "none") return;
  if (focus === "scale") { focusScale(); return; }
  if (focus === "heading") { const h = document.getElementById("view-heading"); if (h) h.focus(); return; }
  if (focus === "continue") { const c = document.getElementById("continue"); if (c && !c.hidden) { c.focus(); return; } }
  if (focus.startsWith("#")) {
    const target = document.querySelector(focus);
    if (target && !target.disabled && !target.hidden) { target.focus(); return; }
  }
  focusScale();
}

function focusScale() {
  if (!built || !built.sections) return;
  const {buttons} = built.sections[active];
  const pressed = buttons.find(b => b.getAttribute("aria-pressed") === "true");
  (pressed || buttons[0]).focus();
}

function build(key) {
  const app = document.getElementById("app");
  document.getElementById("show-instructions").hidden = !hasIntro() || view === "intro";
  if (view === "intro") { built = {key}; app.replaceChildren(...buildIntro()); return; }
  const item = current();
  const parts = [];
  const doneBox = el("div", {id: "done-box"});
  parts.push(doneBox);
  const position = view === "practice"
    ? el("h2", {class: "position practice", id: "view-heading", tabindex: "-1"},
         `Practice question ${pat + 1} of ${S.practice.length}`, el("span", {class: "tag"}, "not counted"))
    : el("h2", {class: "position", id: "view-heading", tabindex: "-1"}, `Question ${at + 1} of ${S.items.length}`);
  parts.push(position);
  parts.push(el("blockquote", {class: "question", id: "question"}, item.text));
  const sections = S.metrics.map((m, mi) => {
    const buttons = points().map(v => el("button", {
      type: "button", "data-value": v, "aria-pressed": "false",
      on: {click: (e) => { e.stopPropagation(); active = mi; rate(mi, v); }}},
      el("span", {class: "point"}, String(v)), label(v) ? el("small", {}, label(v)) : null));
    const headingId = `metric-${m.key}`;
    const section = el("section", {class: "metric", "data-metric": m.key, role: "group", "aria-labelledby": headingId,
                                   on: {click: (e) => { if (!e.target.closest("details, a, button")) setActive(mi, true); },
                                        focusin: () => setActive(mi, false)}},
      el("h3", {id: headingId}, m.name), el("p", {}, m.definition),
      el("div", {class: "scale"}, buttons),
      m.examples.length ? examples(m) : null);
    return {section, buttons};
  });
  parts.push(...sections.map(s => s.section));
  let feedback = null, nav;
  if (view === "practice") {
    feedback = el("div", {id: "feedback", class: "feedback", role: "status", hidden: true});
    parts.push(feedback);
    nav = el("div", {class: "nav"},
      el("button", {type: "button", id: "prev", on: {click: () => go(pat - 1, "#prev")}}, "← Previous"),
      el("button", {type: "button", id: "continue", class: "primary", hidden: true, on: {click: continuePractice}},
         pat + 1 < S.practice.length ? "Next practice question →" : "Start the questions →"),
      el("button", {type: "button", id: "undo", on: {click: () => undo("#undo")}}, "Undo"));
  } else {
    nav = el("div", {class: "nav"},
      el("button", {type: "button", id: "prev", on: {click: () => go(at - 1, "#prev")}}, "← Previous"),
      el("button", {type: "button", id: "next", on: {click: () => go(at + 1, "#next")}}, "Next →"),
      el("button", {type: "button", id: "next-unrated", on: {click: () => go(nextUnrated(at), "#next-unrated")}},
         "Next unrated"),
      el("button", {type: "button", id: "undo", on: {click: () => undo("#undo")}}, "Undo"));
  }
  parts.push(nav);
  app.replaceChildren(...parts);
  built = {key, sections, doneBox, feedback};
}

function examples(m) {
  const details = el("details", {class: "examples", open: openExamples.has(m.key) ? "" : null,
                                 on: {toggle: (e) => { if (e.target.open) openExamples.add(m.key); else openExamples.delete(m.key); }}},
    el("summary", {}, `Examples of ${m.name}`),
    el("dl", {}, m.examples.map(x => [
      el("dt", {}, `${x.point}${x.label ? " " + x.label : ""}`), el("dd", {}, md(x.text))])));
  return details;
}

function buildIntro() {
  const parts = [el("h2", {id: "view-heading", tabindex: "-1"}, "Instructions")];
  if (S.instructions.length) parts.push(el("div", {class: "instructions"}, md(S.instructions)));
  parts.push(el("h3", {}, "The scales"));
  for (const m of S.metrics) {
    parts.push(el("section", {class: "scale-help"}, el("h4", {}, m.name), el("p", {}, m.definition),
      m.examples.length ? el("dl", {}, m.examples.map(x => [
        el("dt", {}, `${x.point}${x.label ? " " + x.label : ""}`), el("dd", {}, md(x.text))])) : null));
  }
  const practiceLeft = S.practice.filter(p => !complete(p)).length;
  if (practiceLeft && !S.items.some(it => Object.keys(it.ratings).length)) {
    parts.push(el("p", {}, `You will first rate ${S.practice.length} practice question${S.practice.length > 1 ? "s" : ""}: `,
                   "they are not counted, and after each you see the answer we expected."));
  }
  parts.push(el("div", {class: "nav"}, el("button", {type: "button", id: "start", class: "primary",
    on: {click: () => startRating("scale")}}, started ? "Back to the questions" : "Start")));
  return parts;
}

function update() {
  if (!S) return;
  document.getElementById("progress").textContent = `${doneCount()} / ${S.items.length} rated`;
  if (view === "intro" || !built || !built.sections) return;
  const item = current();
  built.sections.forEach(({section, buttons}, mi) => {
    const m = S.metrics[mi];
    section.classList.toggle("active", mi === active);
    if (mi === active) section.setAttribute("aria-current", "true"); else section.removeAttribute("aria-current");
    for (const b of buttons) b.setAttribute("aria-pressed", item.ratings[m.key] === Number(b.dataset.value) ? "true" : "false");
  });
  const all = nextUnrated(0) < 0;
  if (view === "items" && all && !built.doneBox.childElementCount) {
    built.doneBox.append(el("div", {class: "done", role: "status"},
      `All ${S.items.length} questions rated: thank you! You can still go back and change a rating.`));
  } else if (!all && built.doneBox.childElementCount) {
    built.doneBox.replaceChildren();
  }
  const byId = (id) => document.getElementById(id);
  if (view === "items") {
    setDisabled(byId("prev"), at === 0);
    setDisabled(byId("next"), at === S.items.length - 1);
    setDisabled(byId("next-unrated"), all);
  } else {
    setDisabled(byId("prev"), pat === 0);
    const done = complete(item);
    byId("continue").hidden = !done;
    const fb = built.feedback;
    if (done && fb.hidden) {
      const expected = Object.entries(item.expected || {});
      fb.replaceChildren(...[
        el("h3", {}, "Your answer and ours"),
        expected.length ? el("ul", {}, expected.map(([k, v]) => {
          const m = S.metrics.find(x => x.key === k);
          const mine = item.ratings[k];
          return el("li", {}, `${m ? m.name : k}: you rated ${mine}, we expected ${v}${label(v) ? " " + label(v) : ""}`,
                    mine === v ? " ✓" : "");
        })) : null,
        ...md(item.feedback)].filter(Boolean));
      fb.hidden = false;
    } else if (!done && !fb.hidden) {
      fb.hidden = true;
      fb.replaceChildren();
    }
  }
  setDisabled(byId("undo"), !undoStack.length);
}

function setDisabled(button, off) {
  if (!button) return;
  if (off && document.activeElement === button) { button.disabled = true; focusScale(); return; }
  button.disabled = off;
}

// -- keys ------------------------------------------------------------------------------------------------------
function onKey(e) {
  if (!S) return;
  const inField = e.target instanceof HTMLElement && e.target.closest("summary, a, input, textarea");
  if (view === "intro") {
    if (e.key === "Escape" && started) { e.preventDefault(); startRating("scale"); }
    return;
  }
  if ((e.ctrlKey || e.metaKey) && (e.key === "z" || e.key === "Z")) { e.preventDefault(); undo("scale"); return; }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const digit = e.key.length === 1 && e.key >= "0" && e.key <= "9" ? Number(e.key) : null;
  if (digit !== null && digit >= S.scale.min && digit <= S.scale.max) { e.preventDefault(); rate(active, digit); }
  else if (e.key === "ArrowDown") { e.preventDefault(); setActive(Math.min(S.metrics.length - 1, active + 1), true); }
  else if (e.key === "ArrowUp") { e.preventDefault(); setActive(Math.max(0, active - 1), true); }
  else if (e.key === "ArrowRight" && !inField) {
    e.preventDefault();
    if (view === "practice") { if (complete(current())) continuePractice(); } else go(at + 1, "scale");
  }
  else if (e.key === "ArrowLeft" && !inField) { e.preventDefault(); go(index() - 1, "scale"); }
  else if (e.key === "u" || e.key === "U" || e.key === "Backspace") { e.preventDefault(); undo("scale"); }
  else if ((e.key === "n" || e.key === "N") && view === "items") { const n = nextUnrated(at); if (n >= 0) go(n, "scale"); }
  else if ((e.key === "i" || e.key === "I" || e.key === "?") && hasIntro()) { e.preventDefault(); showInstructions(); }
}

async function main() {
  let r = null;
  try { r = await fetch(API, {cache: "no-store"}); } catch (e) { r = null; }
  if (!r || !r.ok) {
    const body = r ? await r.json().catch(() => ({})) : {};
    document.getElementById("app").replaceChildren(el("div", {class: "error", role: "alert"},
      body.error || "The server cannot be reached: try again in a moment."));
    return;
  }
  S = await r.json();
  version = S.version;
  document.getElementById("who").textContent = `Rating as ${S.rater}`;
  document.getElementById("help").replaceChildren(
    "Keys: ", el("kbd", {}, String(S.scale.min)), "–", el("kbd", {}, String(S.scale.max)), " rate the highlighted scale · ",
    el("kbd", {}, "↑"), " ", el("kbd", {}, "↓"), " change scale · ", el("kbd", {}, "←"), " ", el("kbd", {}, "→"),
    " previous / next question · ", el("kbd", {}, "N"), " next unrated · ", el("kbd", {}, "U"), ", ",
    el("kbd", {}, "Backspace"), " or ", el("kbd", {}, "Ctrl"), "+", el("kbd", {}, "Z"), " undo (or the Undo button)",
    ...(hasIntro() ? [" · ", el("kbd", {}, "I"), " instructions"] : []),
    ". Every rating is saved as soon as you give it: close the page at any time and come back with the same link.");
  document.getElementById("show-instructions").addEventListener("click", showInstructions);
  document.addEventListener("keydown", onKey);
  window.addEventListener("beforeunload", (e) => { if (inFlight) { e.preventDefault(); e.returnValue = ""; } });
  window.addEventListener("pagehide", stopClock);
  window.addEventListener("focus", poll);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") { startClock(); poll(); } else stopClock();
  });
  setInterval(poll, POLL_MS);
  const anything = S.items.some(it => Object.keys(it.ratings).length) || S.practice.some(p => Object.keys(p.ratings).length);
  if (!anything && hasIntro()) {
    view = "intro";
    show("none");
  } else {
    started = true;
    setStatus(S.done ? "Welcome back: your ratings so far are kept" : "");
    startRating("none");
  }
}

main();
