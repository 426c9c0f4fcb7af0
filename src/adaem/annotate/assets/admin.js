// The admin page of `adaem annotate serve`: progress per rater and each rater's link. Names reach the DOM only
// through textContent (the `el` helper); nothing here assigns innerHTML.
"use strict";

const TOKEN = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v; else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
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
    `${d.items} questions (${d.generated} against ${d.baseline}) · ${d.raters.length} raters · ${done} / ${total} rated`;
  const rows = d.raters.map(x => el("tr", {},
    el("td", {}, x.rater + (x.source === "import" ? " (imported)" : "")),
    el("td", {class: "num"}, `${x.complete} / ${x.assigned}`),
    el("td", {}, el("div", {class: "bar"}, bar(x.assigned ? 100 * x.complete / x.assigned : 0))),
    el("td", {class: "num"}, String(x.ratings)),
    el("td", {}, when(x.last)),
    el("td", {class: "link"}, x.link ? location.origin + x.link : "–")));
  app.replaceChildren(
    el("table", {}, el("thead", {}, el("tr", {}, ["rater", "questions rated", "", "ratings", "last rating", "link (send to this rater only)"]
      .map((h, i) => el("th", {class: i === 1 || i === 3 ? "num" : null}, h)))), el("tbody", {}, rows)),
    el("p", {}, el("a", {href: `/admin/${encodeURIComponent(TOKEN)}/ratings.csv`}, "Download every rating (CSV)")));
}

main();
setInterval(main, 15000);
