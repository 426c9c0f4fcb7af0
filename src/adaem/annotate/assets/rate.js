// The rating page of `adaem annotate serve`. Question text is untrusted: it reaches the DOM only through
// textContent (the `el` helper below); nothing here assigns innerHTML. Every rating is sent at once, in order,
// and retried while the server cannot be reached; the server is the record, so a reload shows what it holds.
"use strict";

const TOKEN = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const API = `/api/r/${encodeURIComponent(TOKEN)}`;
let S = null;          // {rater, scale, metrics, items: [{id, text, ratings}], done, total}
let at = 0;            // the question shown
let active = 0;        // the highlighted scale
const undoStack = [];  // {at, mi, before}
let queue = Promise.resolve();
let inFlight = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") { for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn); }
    else if (k === "class") node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms));
const complete = (item) => S.metrics.every(m => item.ratings[m.key] !== undefined);
const doneCount = () => S.items.filter(complete).length;
const points = () => { const p = []; for (let v = S.scale.min; v <= S.scale.max; v++) p.push(v); return p; };
const label = (v) => (S.scale.labels || {})[String(v)] || "";

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

async function post(item, metric, value) {
  // resolves with the server's answer; throws on a refusal (4xx); retries while the server is unreachable or failing
  for (let attempt = 0; ; attempt++) {
    let r = null;
    try {
      r = await fetch(`${API}/rating`, {method: "POST", cache: "no-store", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify({item, metric, value})});
    } catch (e) { r = null; }
    if (r && r.ok) return r.json();
    if (r && r.status < 500) {
      const body = await r.json().catch(() => ({}));
      throw new Error(body.error || `the server refused the rating (HTTP ${r.status})`);
    }
    setStatus(`Not saved yet: ${r ? "the server answered " + r.status : "no connection to the server"}. Retrying…`, "bad");
    await sleep(Math.min(8000, 400 * 2 ** attempt));
  }
}

function send(item, key, value, revert) {
  inFlight++;
  setStatus("Saving…");
  queue = queue.then(() => post(item.id, key, value)).then(() => {
    inFlight--;
    if (!inFlight) setStatus("All ratings saved", "ok");
  }, (err) => {
    inFlight--;
    revert();
    setStatus(`Not saved: ${err.message}`, "bad");
    render();
  });
}

function apply(item, key, value) {
  const before = item.ratings[key] ?? null;
  if (value === null) delete item.ratings[key]; else item.ratings[key] = value;
  send(item, key, value, () => { if (before === null) delete item.ratings[key]; else item.ratings[key] = before; });
  return before;
}

function rate(mi, value) {
  const item = S.items[at];
  const key = S.metrics[mi].key;
  const wasComplete = complete(item);
  if ((item.ratings[key] ?? null) !== value) undoStack.push({at, mi, before: apply(item, key, value)});
  if (!wasComplete && complete(item)) {  // the question is done: on to the next one not yet rated
    const next = nextUnrated(at + 1);
    if (next >= 0) { at = next; active = firstOpenMetric(S.items[at]); }
  } else {
    const open = S.metrics.findIndex((m, i) => i > mi && item.ratings[m.key] === undefined);
    active = open >= 0 ? open : Math.min(mi + 1, S.metrics.length - 1);
  }
  render();
}

function undo() {
  const last = undoStack.pop();
  if (!last) { setStatus("Nothing to undo"); return; }
  at = last.at;
  active = last.mi;
  apply(S.items[at], S.metrics[last.mi].key, last.before);
  render();
}

function go(i) {
  if (i < 0 || i >= S.items.length) return;
  at = i;
  active = firstOpenMetric(S.items[at]);
  render();
}

function render() {
  const item = S.items[at];
  document.getElementById("progress").textContent = `${doneCount()} / ${S.items.length} rated`;
  const parts = [];
  if (nextUnrated(0) < 0) {
    parts.push(el("div", {class: "done", role: "status"},
      `All ${S.items.length} questions rated: thank you! You can still go back and change a rating.`));
  }
  parts.push(el("div", {class: "position"}, `Question ${at + 1} of ${S.items.length}`));
  parts.push(el("blockquote", {class: "question", id: "question"}, item.text));
  S.metrics.forEach((m, mi) => {
    const buttons = points().map(v => el("button", {
      type: "button", "data-value": v, "aria-pressed": item.ratings[m.key] === v ? "true" : "false",
      on: {click: (e) => { e.stopPropagation(); active = mi; rate(mi, v); }}}, String(v), label(v) ? el("small", {}, label(v)) : null));
    parts.push(el("section", {class: "metric" + (mi === active ? " active" : ""), "data-metric": m.key,
                              on: {click: () => { active = mi; render(); }}},
      el("h2", {}, m.name), el("p", {}, m.definition),
      el("div", {class: "scale", role: "group", "aria-label": m.name}, buttons)));
  });
  parts.push(el("div", {class: "nav"},
    el("button", {type: "button", id: "prev", disabled: at === 0, on: {click: () => go(at - 1)}}, "← Previous"),
    el("button", {type: "button", id: "next", disabled: at === S.items.length - 1, on: {click: () => go(at + 1)}}, "Next →"),
    el("button", {type: "button", id: "next-unrated", disabled: nextUnrated(0) < 0,
                  on: {click: () => go(nextUnrated(at))}}, "Next unrated"),
    el("button", {type: "button", id: "undo", disabled: !undoStack.length, on: {click: undo}}, "Undo")));
  document.getElementById("app").replaceChildren(...parts);
}

function onKey(e) {
  if (!S) return;
  if ((e.ctrlKey || e.metaKey) && (e.key === "z" || e.key === "Z")) { e.preventDefault(); undo(); return; }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const digit = e.key.length === 1 && e.key >= "0" && e.key <= "9" ? Number(e.key) : null;
  if (digit !== null && digit >= S.scale.min && digit <= S.scale.max) { e.preventDefault(); rate(active, digit); }
  else if (e.key === "ArrowDown") { e.preventDefault(); active = Math.min(S.metrics.length - 1, active + 1); render(); }
  else if (e.key === "ArrowUp") { e.preventDefault(); active = Math.max(0, active - 1); render(); }
  else if (e.key === "ArrowRight") { e.preventDefault(); go(at + 1); }
  else if (e.key === "ArrowLeft") { e.preventDefault(); go(at - 1); }
  else if (e.key === "u" || e.key === "U" || e.key === "Backspace") { e.preventDefault(); undo(); }
  else if (e.key === "n" || e.key === "N") { const n = nextUnrated(at); if (n >= 0) go(n); }
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
  document.getElementById("who").textContent = `Rating as ${S.rater}`;
  document.getElementById("help").replaceChildren(
    "Keys: ", el("kbd", {}, String(S.scale.min)), "–", el("kbd", {}, String(S.scale.max)), " rate the highlighted scale · ",
    el("kbd", {}, "↑"), " ", el("kbd", {}, "↓"), " change scale · ", el("kbd", {}, "←"), " ", el("kbd", {}, "→"),
    " previous / next question · ", el("kbd", {}, "N"), " next unrated · ", el("kbd", {}, "U"), " or ",
    el("kbd", {}, "Ctrl"), "+", el("kbd", {}, "Z"), " undo. Every rating is saved as soon as you give it: close the ",
    "page at any time and come back with the same link.");
  const next = nextUnrated(0);  // resume on the first question not fully rated
  at = next >= 0 ? next : 0;
  active = firstOpenMetric(S.items[at]);
  document.addEventListener("keydown", onKey);
  window.addEventListener("beforeunload", (e) => { if (inFlight) { e.preventDefault(); e.returnValue = ""; } });
  setStatus(S.done ? "Welcome back: your ratings so far are kept" : "");
  render();
}

main();
