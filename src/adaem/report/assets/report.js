// The adaem report page. Model output is untrusted text: it reaches the DOM only through textContent
// (the `el` helper below); nothing here assigns innerHTML. Charts are SVG drawn from the embedded data.
"use strict";

const DATA = JSON.parse(document.getElementById("adaem-data").textContent);
const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1", "#b7791f", "#00838f", "#d53f8c",
                 "#4a5568", "#718096"];
const LANG_PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];
const PAGE = 25;
const THRESHOLD = 0.5;

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

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const fmt = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x)) ? "–" : Number(x).toFixed(d);
const color = (i) => PALETTE[i % PALETTE.length];
const short = (m) => m.length > 28 ? "…" + m.slice(-27) : m;

// -- charts ---------------------------------------------------------------------------------------------
function radar(series, names, size, withLabels) {
  // series: [{label, values (0–100 per dimension), color}]
  const pad = withLabels ? 90 : 0;  // room for the value names left and right
  const r = size / 2 - (withLabels ? 40 : 14), cx = size / 2 + pad, cy = size / 2, n = names.length;
  const root = svg("svg", {width: size + 2 * pad, height: size, viewBox: `0 0 ${size + 2 * pad} ${size}`, class: "chart", role: "img"});
  const angle = (j) => -Math.PI / 2 + 2 * Math.PI * j / n;
  for (const level of [25, 50, 75, 100]) {
    const pts = names.map((_, j) => [cx + r * level / 100 * Math.cos(angle(j)), cy + r * level / 100 * Math.sin(angle(j))]);
    root.append(svg("polygon", {points: pts.map(p => p.join(",")).join(" "), fill: "none", stroke: "#dde2ea"}));
  }
  names.forEach((name, j) => {
    root.append(svg("line", {x1: cx, y1: cy, x2: cx + r * Math.cos(angle(j)), y2: cy + r * Math.sin(angle(j)), stroke: "#dde2ea"}));
    if (withLabels) {
      const x = cx + (r + 12) * Math.cos(angle(j)), y = cy + (r + 12) * Math.sin(angle(j));
      const anchor = Math.abs(Math.cos(angle(j))) < 0.2 ? "middle" : (Math.cos(angle(j)) > 0 ? "start" : "end");
      root.append(svg("text", {x, y, "text-anchor": anchor, "dominant-baseline": "middle"}, name));
    }
  });
  for (const s of series) {
    const pts = s.values.map((v, j) => {
      const k = (v === null ? 0 : v) / 100;
      return [cx + r * k * Math.cos(angle(j)), cy + r * k * Math.sin(angle(j))];
    });
    root.append(svg("polygon", {points: pts.map(p => p.join(",")).join(" "), fill: s.color, "fill-opacity": 0.12,
                                stroke: s.color, "stroke-width": 2}, svg("title", {}, s.label)));
  }
  return root;
}

function heatmap(models, names, value, digits) {
  const cell = 46, left = 190, top = 110;
  const w = left + cell * names.length + 70, h = top + 26 * models.length + 10;
  const root = svg("svg", {width: w, height: h, class: "chart", role: "img"});
  names.forEach((name, j) => root.append(svg("text", {x: left + cell * j + cell / 2, y: top - 8,
    transform: `rotate(-40 ${left + cell * j + cell / 2} ${top - 8})`}, name)));
  models.forEach((m, i) => {
    root.append(svg("text", {x: left - 8, y: top + 26 * i + 17, "text-anchor": "end"}, short(m)));
    names.forEach((_, j) => {
      const v = value(m, j);
      const t = v === null ? 0 : v / 100;
      const fill = v === null ? "#eee" : `hsl(${210 - 170 * t}, 65%, ${88 - 45 * t}%)`;
      root.append(svg("rect", {x: left + cell * j, y: top + 26 * i, width: cell - 2, height: 24, fill},
                      svg("title", {}, `${m} · ${names[j]}: ${fmt(v, digits)}`)));
      root.append(svg("text", {x: left + cell * j + cell / 2 - 1, y: top + 26 * i + 16, "text-anchor": "middle",
                               fill: t > 0.6 ? "#fff" : "#1d2430"}, fmt(v, 0)));
    });
  });
  return root;
}

function lineChart(points, series, xLabel, yLabel) {
  const w = 720, h = 260, l = 50, b = 36, t = 14, r = 14;
  const xs = points.map(p => p.x), all = series.flatMap(s => points.map(p => p[s.key])).filter(v => v !== null && v !== undefined);
  const root = svg("svg", {width: w, height: h, class: "chart", role: "img"});
  if (!points.length || !all.length) return root;
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(0, ...all), y1 = Math.max(...all, y0 + 1e-9);
  const X = (x) => l + (w - l - r) * (x - x0) / (x1 - x0), Y = (y) => h - b - (h - b - t) * (y - y0) / (y1 - y0);
  root.append(svg("line", {x1: l, y1: h - b, x2: w - r, y2: h - b, stroke: "#999"}));
  root.append(svg("line", {x1: l, y1: t, x2: l, y2: h - b, stroke: "#999"}));
  for (let k = 0; k <= 4; k++) {
    const y = y0 + (y1 - y0) * k / 4;
    root.append(svg("text", {x: l - 6, y: Y(y) + 4, "text-anchor": "end"}, fmt(y, 2)));
  }
  root.append(svg("text", {x: (l + w) / 2, y: h - 6, "text-anchor": "middle"}, xLabel));
  root.append(svg("text", {x: l - 6, y: h - 6, "text-anchor": "end"}, yLabel));
  series.forEach((s, i) => {
    const pts = points.filter(p => p[s.key] !== null && p[s.key] !== undefined);
    root.append(svg("polyline", {points: pts.map(p => `${X(p.x)},${Y(p[s.key])}`).join(" "), fill: "none",
                                 stroke: color(i), "stroke-width": 2}));
    for (const p of pts) root.append(svg("circle", {cx: X(p.x), cy: Y(p[s.key]), r: 3, fill: color(i)},
                                          svg("title", {}, `${s.label} at ${xLabel} ${p.x}: ${fmt(p[s.key], 3)}${p.tip ? " · " + p.tip : ""}`)));
  });
  return root;
}

function ciBar(lo, mid, hi, width) {
  const root = svg("svg", {width, height: 14, class: "chart"});
  const X = (v) => 2 + (width - 4) * Math.max(0, Math.min(100, v)) / 100;
  root.append(svg("line", {x1: 2, y1: 7, x2: width - 2, y2: 7, stroke: "#eee", "stroke-width": 6}));
  if (lo !== null && hi !== null) root.append(svg("line", {x1: X(lo), y1: 7, x2: X(hi), y2: 7, stroke: "#9bb8dd", "stroke-width": 6}));
  if (mid !== null) root.append(svg("line", {x1: X(mid), y1: 1, x2: X(mid), y2: 13, stroke: "#1e4e8c", "stroke-width": 2}));
  return root;
}

function table(columns, rows) {
  // columns: [{key, label, num, digits, render}]
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map(c => el("th", {class: c.num ? "num" : null}, c.label)))),
    el("tbody", {}, rows.map(row => el("tr", {}, columns.map(c => {
      const v = row[c.key];
      const content = c.render ? c.render(row) : (c.num ? fmt(v, c.digits ?? 2) : (v ?? ""));
      return el("td", {class: c.num ? "num" : null}, content);
    })))));
}

// -- sections -------------------------------------------------------------------------------------------
function overview(run) {
  const s = el("section", {id: "overview"}, el("h2", {}, `Run ${run.name}`),
    el("p", {}, el("span", {class: "badge"}, run.kind), el("span", {class: `badge ${run.status}`}, run.status),
       el("span", {class: "muted"}, ` ${run.path}`)),
    run.kind === "annotate" ? null :  // a human-evaluation study has no models or theory: its tables say it all
      el("p", {}, `${run.questions.length} questions · ${run.models.length} models · theory ${run.theory ? run.theory.name : "–"}`));
  for (const note of run.notes) s.append(el("div", {class: "banner", role: "note"}, `partial run: ${note}`));
  for (const note of run.info) s.append(el("p", {class: "muted"}, note));
  if (run.models.length) s.append(el("div", {class: "legend"}, run.models.map((m, i) => el("span", {style: `--c:${color(i)}`}, m))));
  return s;
}

// Who labelled these profiles and how good that judge measured (scores.json's judge_quality); text only.
function judgePanel(j) {
  const q = j.quality;
  const how = `${j.protocol}${j.prompt ? ` (${j.prompt} prompt)` : ""}, ${j.unit === "opinion" ? "each key point labelled, " +
    `merged by ${j.merge}` : "the answer labelled whole"}, threshold ${j.threshold}`;
  const cal = j.calibration === "none" ? "no calibration (raw P(yes))" :
    `calibration: ${j.correction}${j.calibration_unit ? `, learned on ${j.calibration_unit}s` : ""} ` +
    `(${j.calibration_source === "shipped" ? "shipped with adaem" : j.calibration})`;
  const box = el("div", {class: "banner", role: "note", id: "judge-quality"},
    el("strong", {}, `Judge ${j.judge}`), ` · ${how} · ${cal}`);
  if (q) {
    const f = (m, d = 2) => `${fmt(q[m], d)}${q[m + "_ci"] ? ` [${fmt(q[m + "_ci"][0], d)}–${fmt(q[m + "_ci"][1], d)}]` : ""}`;
    box.append(el("div", {}, `measured on ${q.texts} held-out labelled texts${q.labels ? ` (${q.labels})` : ""}: ` +
      `macro F1 ${f("macro_f1")}, precision ${f("macro_precision")}, recall ${f("macro_recall")}, ` +
      `gold value first ${f("top1")} (95% intervals over texts), calibration error ${fmt(q.ece, 2)} (no interval: ` +
      `it is biased upwards)`));
    if (q.per_value && q.per_value.length) {
      // what each value's numbers mean: how often the judge finds it where it is, and is right when it says so
      const names = new Map((j.value_names || []).map(([id, name]) => [id, name]));
      const ci = (v) => v ? ` [${fmt(v[0], 2)}–${fmt(v[1], 2)}]` : "";
      box.append(el("details", {}, el("summary", {}, "per value: how far to trust each one"),
        el("ul", {class: "per-value"}, q.per_value.map(r => el("li", {},
          `the judge finds ${names.get(r.value) || r.value} in an answer with precision ${fmt(r.precision, 2)}` +
          `${ci(r.precision_ci)} and recall ${fmt(r.recall, 2)}${ci(r.recall_ci)} (held out, ${r.support} answers ` +
          `expressing it)`)))));
    }
  } else {
    box.append(el("div", {}, j.note || "this judge is unvalidated"));
  }
  if (j.logprobs_note) box.append(el("div", {}, j.logprobs_note));
  return box;
}

function profiles(run) {
  const th = run.theory, dims = th.ids, names = th.names;
  const byKey = new Map(run.scores.map(r => [`${r.model}|${r.dim}`, r]));
  const get = (m, j, key) => { const r = byKey.get(`${m}|${dims[j]}`); return r ? r[key] : null; };
  const s = el("section", {id: "profiles"}, el("h2", {}, "Value profiles"));
  s.append(el("p", {class: "muted"}, "TrueSkill score (0–100: mean win probability against the other models) per value; " +
    "the expression rate is the plain share of questions where the model expressed the value."));
  if (run.judge) s.append(judgePanel(run.judge));
  const overlaid = radar(run.models.map((m, i) => ({label: m, color: color(i), values: dims.map((_, j) => get(m, j, "score"))})), names, 400, true);
  const multiples = el("div", {class: "small-multiples"}, run.models.map((m, i) => el("figure", {},
    radar([{label: m, color: color(i), values: dims.map((_, j) => get(m, j, "score"))}], names, 200, false),
    el("figcaption", {}, m))));
  s.append(el("div", {class: "row"}, el("div", {}, el("h3", {}, "All models"), overlaid),
                                     el("div", {}, el("h3", {}, "Per model"), multiples)));
  const heat = el("div", {id: "heatmap"});
  let metric = "score";
  const buttons = [["score", "TrueSkill score"], ["rate", "expression rate %"]].map(([key, label]) =>
    el("button", {"aria-pressed": key === metric ? "true" : "false", on: {click: () => { metric = key; draw(); }}}, label));
  const draw = () => {
    buttons.forEach((b, k) => b.setAttribute("aria-pressed", ["score", "rate"][k] === metric ? "true" : "false"));
    heat.replaceChildren(heatmap(run.models, names, (m, j) => get(m, j, metric), 1));
  };
  s.append(el("h3", {}, "Models × values"), el("div", {class: "toggle"}, buttons), heat);
  draw();
  // leaderboard per dimension
  const select = el("select", {id: "leader-dim", "aria-label": "value"}, dims.map((d, j) => el("option", {value: d}, names[j])));
  const board = el("div", {});
  const drawBoard = () => {
    const d = select.value, rows = run.models.map(m => byKey.get(`${m}|${d}`)).filter(Boolean)
      .sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
    board.replaceChildren(table([
      {key: "rank", label: "#", render: (r) => String(rows.indexOf(r) + 1)},
      {key: "model", label: "model"},
      {key: "score", label: "score", num: true, digits: 1},
      {key: "ci", label: "score CI", render: (r) => r.score_lo === null || r.score_lo === undefined
        ? el("span", {class: "muted", title: "too few topics or questions for an interval (see the notes above)"}, "no interval")
        : el("span", {}, ciBar(r.score_lo, r.score, r.score_hi, 140), ` ${fmt(r.score_lo, 0)}–${fmt(r.score_hi, 0)}`)},
      {key: "rate", label: "expression rate %", num: true, digits: 1},
      {key: "rci", label: "rate CI", render: (r) => r.rate_lo === null || r.rate_lo === undefined
        ? el("span", {class: "muted"}, "no interval")
        : el("span", {}, ciBar(r.rate_lo, r.rate, r.rate_hi, 140), ` ${fmt(r.rate_lo, 0)}–${fmt(r.rate_hi, 0)}`)},
    ], rows));
  };
  select.addEventListener("change", drawBoard);
  s.append(el("h3", {}, "Leaderboard per value"), el("div", {class: "controls"}, el("label", {}, "value", select)), board);
  drawBoard();
  return s;
}

function statsSection(run) {
  const st = run.stats;
  return el("section", {id: "stats"}, el("h2", {}, "Benchmark statistics"),
    table([{key: "questions", label: "questions", num: true, digits: 0}, {key: "avg_words", label: "avg. words", num: true},
           {key: "self_bleu", label: "Self-BLEU ↓", num: true}, {key: "distinct_2", label: "Distinct-2 ↑", num: true, digits: 3},
           {key: "semantic_similarity", label: "mean pairwise similarity ↓", num: true, digits: 3}], [st]),
    el("p", {class: "muted"}, st.notes));
}

function generationSection(run) {
  const g = run.generation;
  const s = el("section", {id: "generation"}, el("h2", {}, "Generation"));
  s.append(el("p", {}, `stopped: ${g.stopped ?? "–"} · mean P2 score of the questions ${fmt(g.mean_p2_score, 3)} ` +
    `(seed questions ${fmt(g.seed_mean, 3)}) · ${fmt(g.calls_per_question, 1)} calls and ${fmt(g.tokens_per_question, 0)} tokens per question`));
  if (g.selection) {
    const chosen = run.questions.filter(q => q.selected).sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
    s.append(el("h3", {}, "The benchmark (benchmark.jsonl)"),
      el("p", {class: "muted", id: "selection"}, `${g.selection}; every accepted question stays in outputs/benchmark.jsonl`),
      table([{key: "score", label: "P2 score", num: true, digits: 3}, {key: "text", label: "question"},
             {key: "category", label: "category"}, {key: "country", label: "country"}], chosen));
  }
  const points = g.trajectory.map(t => ({x: t.pull, reward: t.reward, arm_mean: t.arm_mean, tip: t.arm}));
  s.append(el("h3", {}, "Score over pulls"),
    el("div", {class: "legend"}, el("span", {style: `--c:${color(0)}`}, "reward of the pull"), el("span", {style: `--c:${color(1)}`}, "mean reward of the pulled arm")),
    lineChart(points, [{key: "reward", label: "reward"}, {key: "arm_mean", label: "arm mean"}], "pull", "S"));
  s.append(el("h3", {}, "Arms explored"), table([
    {key: "topic", label: "seed topic"}, {key: "category", label: "category"}, {key: "pulls", label: "pulls", num: true, digits: 0},
    {key: "mean", label: "mean reward", num: true, digits: 3}, {key: "questions", label: "questions", num: true, digits: 0}],
    [...g.arms].sort((a, b) => (b.pulls ?? 0) - (a.pulls ?? 0))));
  const rejected = Object.entries(g.rejected).map(([reason, count]) => ({reason, count}));
  if (rejected.length) s.append(el("h3", {}, "Rejected questions"), table([{key: "reason", label: "reason"}, {key: "count", label: "count", num: true, digits: 0}], rejected));
  return s;
}

function usageSection(run) {
  const byRole = new Map();
  for (const u of run.usage) {
    const r = byRole.get(u.role) || {role: u.role, calls: 0, cache_hits: 0, input_tokens: 0, output_tokens: 0, cost: 0, seconds: 0};
    for (const k of ["calls", "cache_hits", "input_tokens", "output_tokens", "cost", "seconds"]) r[k] += u[k] || 0;
    byRole.set(u.role, r);
  }
  const cols = [{key: "calls", label: "calls", num: true, digits: 0}, {key: "cache_hits", label: "cached", num: true, digits: 0},
    {key: "input_tokens", label: "tokens in", num: true, digits: 0}, {key: "output_tokens", label: "tokens out", num: true, digits: 0},
    {key: "cost", label: "cost $", num: true, digits: 4}, {key: "seconds", label: "seconds", num: true, digits: 0}];
  return el("section", {id: "usage"}, el("h2", {}, "Cost and calls"),
    el("h3", {}, "Per role"), table([{key: "role", label: "role"}, ...cols], [...byRole.values()]),
    el("h3", {}, "Per model and role"), table([{key: "model", label: "model"}, {key: "role", label: "role"}, ...cols], run.usage));
}

function resultTables(run) {
  const s = el("section", {id: "results"}, el("h2", {}, run.kind === "annotate" ? "Human evaluation" : "Results"));
  for (const [name, rows] of Object.entries(run.tables)) {
    if (!rows.length) continue;
    const cols = Object.keys(rows[0]).map(k => ({key: k, label: k, num: typeof rows[0][k] === "number",
      render: typeof rows[0][k] === "number" ? (r) => fmt(r[k], Number.isInteger(r[k]) ? 0 : 3) : null}));
    s.append(el("h3", {}, name), table(cols, rows));
  }
  return s;
}

function findingsSection(run) {
  // claims said only when their test passed (adaem findings); PNGs arrive as base64 data, shown as images
  const s = el("section", {id: "findings"}, el("h2", {}, "Findings"),
    el("p", {class: "muted"}, "Each analysis of `adaem findings`: a claim is stated only when its test passes after one " +
      "Benjamini–Hochberg correction over every test of the report (at most 5% of the claims false, in expectation); " +
      "otherwise why not. Each says what it treats as independent: topics, or models within families."));
  if (Object.keys(run.facts).length) {
    const keys = [...new Set(Object.values(run.facts).flatMap(f => Object.keys(f)))];
    s.append(el("h3", {}, "Models"), table([{key: "model", label: "model"}, ...keys.map(k => ({key: k, label: k}))],
      Object.entries(run.facts).map(([m, f]) => ({model: m, ...f}))));
  }
  for (const f of run.findings) {
    s.append(el("article", {class: "finding"}, el("h3", {}, f.title),
      f.claim ? el("p", {class: "claim shown"}, el("b", {}, "shown: "), f.claim)
              : el("p", {class: "claim muted"}, el("b", {}, "not shown: "), f.not_shown || "–"),
      f.unit ? el("p", {class: "muted"}, `unit: ${f.unit}`) : null,
      f.images.map(b64 => el("img", {src: `data:image/png;base64,${b64}`, alt: f.title, class: "finding-img"}))));
  }
  return s;
}

function languagesSection(run) {
  // an evaluate run answered in several languages: scores per language, one model across languages, consistency
  const th = run.theory, dims = th.ids, names = th.names, langs = run.languages;
  const nameOf = new Map(dims.map((d, j) => [d, names[j]]));
  const byKey = new Map(run.language_scores.map(r => [`${r.language}|${r.model}|${r.dim}`, r]));
  const get = (lang, m, d, key) => { const r = byKey.get(`${lang}|${m}|${d}`); return r ? r[key] : null; };
  const langColor = (k) => LANG_PALETTE[k % LANG_PALETTE.length];
  const s = el("section", {id: "languages"}, el("h2", {}, "Languages"),
    el("p", {class: "muted"}, `The questions were put to every model in ${langs.length} languages (${langs.join(", ")}); ` +
      "a translation left out leaves its question out of that language only."));

  // (a) every model's TrueSkill scores in one language
  const langSelect = el("select", {id: "lang-select", "aria-label": "language"}, langs.map(l => el("option", {value: l}, l)));
  const langRadar = el("div", {id: "lang-radar"});
  const drawLang = () => {
    const lang = langSelect.value;
    langRadar.replaceChildren(radar(run.models.map((m, i) => ({label: `${m} (${lang})`, color: color(i),
      values: dims.map(d => get(lang, m, d, "score"))})), names, 400, true));
    langRadar.setAttribute("data-language", lang);
  };
  langSelect.addEventListener("change", drawLang);
  const byLanguage = el("div", {class: "lang-panel"}, el("h3", {}, "All models in one language"),
    el("p", {class: "muted"}, "TrueSkill scores among the models answering in that language (relative to that pool)."),
    el("div", {class: "controls"}, el("label", {}, "language", langSelect)),
    el("div", {class: "legend"}, run.models.map((m, i) => el("span", {style: `--c:${color(i)}`}, m))), langRadar);
  drawLang();

  // (b) one model, its profile in every language: expression rates, which are absolute (scores are relative
  // to the models of each language's pool, so they cannot be compared across languages)
  const modelSelect = el("select", {id: "lang-model", "aria-label": "model"}, run.models.map(m => el("option", {value: m}, m)));
  const modelRadar = el("div", {id: "lang-model-radar"});
  const drawModel = () => {
    const m = modelSelect.value;
    modelRadar.replaceChildren(radar(langs.map((l, k) => ({label: `${m} in ${l}`, color: langColor(k),
      values: dims.map(d => get(l, m, d, "rate"))})), names, 400, true));
    modelRadar.setAttribute("data-model", m);
  };
  modelSelect.addEventListener("change", drawModel);
  const byModel = el("div", {class: "lang-panel"}, el("h3", {}, "Same model, different language"),
    el("p", {class: "muted"}, "Expression rate % per value in each language: rates are the model's own, while a score " +
      "depends on the other models in that language's pool."),
    el("div", {class: "controls"}, el("label", {}, "model", modelSelect)),
    el("div", {class: "legend lang-legend"}, langs.map((l, k) => el("span", {style: `--c:${langColor(k)}`}, l))), modelRadar);
  drawModel();
  s.append(el("div", {class: "row"}, byLanguage, byModel));

  // (c) consistency per model
  const ci = (lo, hi, d) => (lo === null || lo === undefined) ? "" : ` [${fmt(lo, d)}–${fmt(hi, d)}]`;
  s.append(el("h3", {}, "Consistency across languages"),
    el("p", {class: "muted"}, "On the questions each model answered in every language compared (excluded: answered in " +
      "some only). Spread: root mean square over values of the standard deviation of the expression rate across " +
      "languages, in points, with sampling noise subtracted (0 = no more than noise explains); brackets: its 95% " +
      "interval (over the unit named in the last column). p: share of arrangements with each question's answers " +
      "shuffled between its languages that spread as much. ρ: Spearman correlation of the rate profiles between " +
      "languages, mean over pairs; ρ shuffled: the ρ that noise alone leaves when the language makes no difference."),
    el("div", {id: "lang-consistency"}, table([
      {key: "model", label: "model"},
      {key: "languages", label: "languages"},
      {key: "questions", label: "questions", num: true, digits: 0},
      {key: "excluded", label: "excluded", num: true, digits: 0},
      {key: "spread", label: "spread", render: (r) => `${fmt(r.spread, 1)}${ci(r.spread_lo, r.spread_hi, 1)}`},
      {key: "spread_p", label: "p", num: true, digits: 3},
      {key: "rho", label: "ρ", num: true, digits: 2},
      {key: "rho_null", label: "ρ shuffled", num: true, digits: 2},
      {key: "max_shift_value", label: "largest shift", render: (r) => r.max_shift_value === null || r.max_shift_value === undefined
        ? "–" : `${nameOf.get(r.max_shift_value) ?? r.max_shift_value} (${fmt(r.max_shift, 1)})`},
      {key: "ci_unit", label: "interval over"},
    ], run.consistency)));
  return s;
}

// -- the question browser -------------------------------------------------------------------------------
function browser(run) {
  const th = run.theory, dims = th ? th.ids : [], names = th ? th.names : [];
  const questions = run.questions;
  const uniq = (key) => [...new Set(questions.map(q => q[key]).filter(Boolean))].sort();
  const search = el("input", {type: "search", id: "q-search", placeholder: "search questions and answers…", "aria-label": "search"});
  const category = el("select", {id: "q-category"}, el("option", {value: ""}, "any"), uniq("category").map(c => el("option", {value: c}, c)));
  const country = el("select", {id: "q-country"}, el("option", {value: ""}, "any"), uniq("country").map(c => el("option", {value: c}, c)));
  const value = el("select", {id: "q-value"}, el("option", {value: ""}, "any"), dims.map((d, j) => el("option", {value: String(j)}, names[j])));
  const who = el("select", {id: "q-model"}, el("option", {value: ""}, "any model"), run.models.map(m => el("option", {value: m}, m)));
  const minScore = el("input", {type: "number", id: "q-min-score", step: "0.05", placeholder: "min", "aria-label": "minimum score"});
  const sort = el("select", {id: "q-sort"}, el("option", {value: "score"}, "score, high first"), el("option", {value: "order"}, "file order"));
  const count = el("span", {id: "q-count", class: "muted"});
  const list = el("div", {id: "q-list"});
  const pageInfo = el("span", {class: "muted"});
  let page = 0, filtered = questions;
  const prev = el("button", {on: {click: () => { if (page > 0) { page--; drawPage(); } }}}, "‹ previous");
  const next = el("button", {on: {click: () => { if ((page + 1) * PAGE < filtered.length) { page++; drawPage(); } }}}, "next ›");
  const scoreName = run.kind === "generate" ? "P2 score" : run.kind === "compare" ? "S" : "disagreement";
  // lower-cased haystacks built once: question text plus every answer's points
  const hay = new Map(questions.map(q => {
    const cells = run.answers[q.id] || {};
    const parts = [q.text, q.id, ...Object.values(cells).flatMap(c => c[1].flat())];
    return [q.id, parts.join(" \u0001 ").toLowerCase()];
  }));

  function matches(q) {
    const needle = search.value.trim().toLowerCase();
    if (needle && !hay.get(q.id).includes(needle)) return false;
    if (category.value && q.category !== category.value) return false;
    if (country.value && q.country !== country.value) return false;
    if (minScore.value !== "" && !(q.score !== null && q.score >= Number(minScore.value))) return false;
    if (value.value !== "") {
      const j = Number(value.value), cells = run.answers[q.id] || {};
      const models = who.value ? [who.value] : Object.keys(cells);
      if (!models.some(m => cells[m] && cells[m][2] && cells[m][2][j] !== null && cells[m][2][j] >= THRESHOLD)) return false;
    } else if (who.value && !(run.answers[q.id] || {})[who.value]) return false;
    return true;
  }

  function apply() {
    filtered = questions.filter(matches);
    if (sort.value === "score") filtered = [...filtered].sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity));
    page = 0;
    drawPage();
  }

  function answerCard(model, cell, i) {
    if (!cell) return el("div", {class: "answer"}, el("div", {class: "model"}, model), el("span", {class: "muted"}, "no answer"));
    const [stance, points, labels, failure] = cell;
    const chips = labels ? labels.map((p, j) => p !== null && p >= THRESHOLD ? el("span", {class: "chip", title: `P = ${fmt(p, 2)}`}, `${names[j]} ${fmt(p, 2)}`) : null) : [];
    return el("div", {class: "answer", style: `border-top: 3px solid ${color(i)}`},
      el("div", {class: "model"}, model, stance ? el("span", {class: `stance ${stance}`}, stance) : null),
      failure ? el("div", {class: "failure"}, `parse failure: ${failure}`) : null,
      points.length ? el("ol", {}, points.map(([p, j]) => el("li", {}, el("b", {}, p), j ? ` — ${j}` : ""))) : null,
      el("div", {}, chips.filter(Boolean).length ? chips : el("span", {class: "muted"}, labels ? "no value above 0.5" : "no labels")));
  }

  function drawPage() {
    const start = page * PAGE, shown = filtered.slice(start, start + PAGE);
    count.textContent = `showing ${filtered.length} of ${questions.length} questions`;
    pageInfo.textContent = filtered.length ? `${start + 1}–${start + shown.length}` : "";
    prev.disabled = page === 0;
    next.disabled = start + PAGE >= filtered.length;
    list.replaceChildren(...shown.map(q => {
      const cells = run.answers[q.id] || {};
      const models = run.models.length ? run.models : Object.keys(cells);
      return el("article", {class: "qcard", "data-qid": q.id},
        el("div", {class: "qtext"}, q.text),
        el("div", {}, el("span", {class: "badge"}, q.id), q.category ? el("span", {class: "badge"}, q.category) : null,
           q.country ? el("span", {class: "badge"}, q.country) : null,
           el("span", {class: "badge"}, `${scoreName} ${fmt(q.score, 3)}`)),
        q.components ? el("div", {class: "muted components"}, "components of S: " + Object.entries(q.components)
          .map(([k, v]) => `${k.replace("_", " ")} ${fmt(v, 3)}`).join(" · ") +
          (Object.values(q.components).some(v => v === null) ? " (– not measured)" : "")) : null,
        Object.keys(cells).length ? el("div", {class: "answers"}, models.map((m, i) => answerCard(m, cells[m], i))) : null);
    }));
  }

  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(apply, 150); });
  for (const c of [category, country, value, who, minScore, sort]) c.addEventListener("change", apply);
  const s = el("section", {id: "browser"}, el("h2", {}, "Questions"),
    el("p", {class: "muted"}, `Each question with every model's stance, key points and the values the judge found (P ≥ ${THRESHOLD}). ` +
      `Score: ${scoreName}` + (run.kind === "evaluate" ? " (mean share of model pairs whose labels differ, over values)." : ".")),
    el("div", {class: "controls"}, el("label", {}, "search", search), el("label", {}, "category", category),
       el("label", {}, "country / region", country), el("label", {}, "expresses value", value), el("label", {}, "model", who),
       el("label", {}, `min ${scoreName}`, minScore), el("label", {}, "sort", sort)),
    el("div", {class: "pager"}, prev, next, pageInfo, count), list);
  apply();
  return s;
}

function analysesSection(run) {
  // analyses written beside an evaluate run (adaem subsets): their table and chart
  const s = el("section", {id: "analyses"}, el("h2", {}, "Analyses"));
  for (const a of run.analyses) {
    const cols = Object.keys(a.rows[0] || {}).map(k => ({key: k, label: k, num: typeof a.rows[0][k] === "number",
      render: typeof a.rows[0][k] === "number" ? (r) => fmt(r[k], Number.isInteger(r[k]) ? 0 : 3) : null}));
    s.append(el("article", {class: "finding"}, el("h3", {}, a.title), el("p", {class: "muted"}, a.caption),
      a.image ? el("img", {src: `data:image/png;base64,${a.image}`, alt: a.title, class: "finding-img"}) : null,
      table(cols, a.rows)));
  }
  return s;
}

function acrossSection(across) {
  // the paper's Fig. 8a and Table 15: the same models on several benchmarks; one radar per benchmark
  const s = el("section", {id: "benchmarks-compared"}, el("h2", {}, "Which benchmark tells the models apart"),
    el("p", {class: "muted"}, "The same models on each benchmark (the paper's Fig. 8a, Table 15): each model's " +
      "expression rate per value. Mean correlation: the mean Pearson correlation of two models' profiles (lower = the " +
      "models look less alike); mean SD: the mean spread of a model's values (higher = its values are told apart). " +
      "95% intervals and tests over each benchmark's topics (jackknife-t): questions like these, not only these."));
  const grid = el("div", {class: "small-multiples"});
  for (const b of across.benchmarks) {
    const profile = across.profiles[b.benchmark];
    grid.append(el("figure", {}, radar(across.models.map((m, i) => ({label: m, color: color(i),
      values: profile[i].map(v => v === null ? null : 100 * v)})), across.names, 260, false),
      el("figcaption", {}, `${b.benchmark}: corr ${fmt(b.mean_corr, 2)} [${fmt(b.corr_lo, 2)}, ${fmt(b.corr_hi, 2)}], ` +
        `sd ${fmt(b.mean_sd, 3)} [${fmt(b.sd_lo, 3)}, ${fmt(b.sd_hi, 3)}]`)));
  }
  s.append(el("div", {class: "legend"}, across.models.map((m, i) => el("span", {style: `--c:${color(i)}`}, m))), grid);
  const cols = (rows) => Object.keys(rows[0] || {}).map(k => ({key: k, label: k, num: typeof rows[0][k] === "number",
    render: typeof rows[0][k] === "number" ? (r) => fmt(r[k], Number.isInteger(r[k]) ? 0 : 3) : null}));
  s.append(el("h3", {}, "Per benchmark"), table(cols(across.benchmarks), across.benchmarks));
  if (across.tests.length) s.append(el("h3", {}, "Between benchmarks (difference a − b)"), table(cols(across.tests), across.tests));
  return s;
}

// -- page -----------------------------------------------------------------------------------------------
function showAcross() {
  document.querySelectorAll("nav#runs button").forEach((b) => b.setAttribute("aria-selected",
    b.dataset.across ? "true" : "false"));
  document.getElementById("app").replaceChildren(acrossSection(DATA.across));
}

function showRun(index) {
  const run = DATA.runs[index];
  document.querySelectorAll("nav#runs button").forEach((b, i) => b.setAttribute("aria-selected", i === index ? "true" : "false"));
  const app = document.getElementById("app");
  const parts = [overview(run)];
  if (run.scores.length && run.theory) parts.push(profiles(run));
  if (run.theory && run.languages && run.languages.length > 1) parts.push(languagesSection(run));
  if (run.stats) parts.push(statsSection(run));
  if (run.generation) parts.push(generationSection(run));
  if (Object.values(run.tables).some(rows => rows.length)) parts.push(resultTables(run));
  if (run.findings.length || Object.keys(run.facts).length) parts.push(findingsSection(run));
  if (run.analyses && run.analyses.length) parts.push(analysesSection(run));
  if (run.kind !== "annotate") parts.push(usageSection(run));
  if (run.questions.length) parts.push(browser(run));
  app.replaceChildren(...parts);
}

function main() {
  const nav = document.getElementById("runs");
  DATA.runs.forEach((run, i) => nav.append(el("button", {role: "tab", on: {click: () => showRun(i)}},
    `${run.name} · ${run.kind}${run.status === "partial" ? " · partial" : ""}`)));
  if (DATA.across) nav.append(el("button", {role: "tab", "data-across": "1", on: {click: showAcross}},
    "benchmarks compared"));
  if (DATA.runs.length) showRun(0);
  else document.getElementById("app").replaceChildren(el("p", {}, "No runs."));
}

main();
