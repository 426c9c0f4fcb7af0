// The admin page of `adaem annotate serve`: progress per rater (attention checks, time per question) and each
// rater's link; on a phone the table becomes one card per rater. Names reach the DOM only
// through textContent (the `el` helper); nothing here assigns innerHTML.
"use strict";

const TOKEN = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v; else node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function bar(percent) {
  const span = el("span", {});
  span.style.width = `${Math.round(percent)}%`;  // CSSOM, not a style attribute: the page's CSP allows no inline style
  return span;
}

const when = (t) => t ? new Date(t * 1000).toLocaleString() : "–";

async function main() {
  const r = await fetch(`/api/admin/${encodeURIComponent(TOKEN)}`, {cache: "no-store"});
  const app = document.getElementById("app");
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    app.replaceChildren(el("div", {class: "error", role: "alert"}, body.error || `HTTP ${r.status}`));
    return;
  }
  const d = await r.json();
  const done = d.raters.reduce((s, x) => s + x.complete, 0), total = d.raters.reduce((s, x) => s + x.assigned, 0);
  document.getElementById("summary").textContent =
    `${d.items} questions (${d.generated} against ${d.baseline})` +
    (d.checks ? ` + ${d.checks} attention check${d.checks > 1 ? "s" : ""}` : "") +
    (d.practice ? ` + ${d.practice} practice` : "") +
    ` · ${d.raters.length} raters · ${done} / ${total} rated`;
  const checks = d.checks > 0;
  const heads = ["rater", "questions rated", "progress", "ratings", ...(checks ? ["attention checks"] : []),
                 "median time per question", "last rating", "link (send to this rater only)"];
  const cell = (i, attrs, ...content) => el("td", {"data-label": heads[i], ...attrs}, ...content);
  const rows = d.raters.map(x => {
    const cells = [
      el("td", {}, el("strong", {}, x.rater + (x.source === "import" ? " (imported)" : ""))),
      cell(1, {class: "num"}, `${x.complete} / ${x.assigned}`),
      cell(2, {}, el("div", {class: "bar", "aria-hidden": "true"}, bar(x.assigned ? 100 * x.complete / x.assigned : 0))),
      cell(3, {class: "num"}, String(x.ratings))];
    if (checks) cells.push(cell(4, {class: "num"}, x.checks_answered ? `${x.checks_passed} / ${x.checks_answered} passed` : "–"));
    const k = checks ? 5 : 4;
    cells.push(cell(k, {class: "num"}, x.median_seconds == null ? "–" : `${x.median_seconds.toFixed(1)} s`),
               cell(k + 1, {}, when(x.last)),
               cell(k + 2, {class: "link"}, x.link ? location.origin + x.link : "–"));
    return el("tr", {}, cells);
  });
  const tbody = document.getElementById("raters");
  if (tbody) { tbody.replaceChildren(...rows); return; }  // a refresh: only the rows change, focus stays put
  const numeric = new Set(["questions rated", "ratings", "attention checks", "median time per question"]);
  app.replaceChildren(
    el("table", {class: "cards"}, el("caption", {class: "visually-hidden"}, "Each rater's progress and private link"),
      el("thead", {}, el("tr", {}, heads.map(h => el("th", {scope: "col", class: numeric.has(h) ? "num" : null}, h)))),
      el("tbody", {id: "raters"}, rows)),
    el("p", {}, el("a", {href: `/admin/${encodeURIComponent(TOKEN)}/ratings.csv`}, "Download every rating (CSV)")),
    el("p", {class: "muted hash"}, `Analysis plan (frozen at creation): sha256 ${d.plan_sha256}`));
}

main();
setInterval(main, 15000);
