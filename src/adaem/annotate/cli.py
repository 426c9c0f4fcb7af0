"""`adaem annotate ...`: human evaluation of generated questions (create a study, serve the rating pages, read
the results, export and import ratings). Added to the main command as one sub-app."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import ConfigError

app = typer.Typer(help="Human evaluation of generated questions: a blind rating study (the paper's Appendix C.10).",
                  no_args_is_help=True)
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

StudyArg = Annotated[Path, typer.Argument(help="the study directory (made by `adaem annotate create`)")]


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command("create")
def create(
    source: Annotated[Path, typer.Argument(help="a generate run directory, or a question file (JSONL/CSV/JSON/parquet)")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="the new study directory")],
    baseline: Annotated[Path | None, typer.Option(help="baseline question file; default: the run's own seed questions "
                                                  "(adaem's shipped seeds for a question file)")] = None,
    pairs: Annotated[int, typer.Option(min=1, help="question pairs (baseline, generated), matched by topic where "
                                      "possible")] = 300,
    raters: Annotated[int, typer.Option(min=1, max=100, help="how many raters (named rater-1, ...)")] = 5,
    rater_names: Annotated[str | None, typer.Option(help="the raters' names instead, comma-separated")] = None,
    per_item: Annotated[int | None, typer.Option(min=1, help="raters per question (default: every rater rates "
                                                 "every question)")] = None,
    design: Annotated[Path | None, typer.Option("--design", "--metrics", help="your own study design YAML: scale, "
                                                "metrics with examples, instructions, practice and attention-check "
                                                "items, analysis settings (default: the paper's three metrics on 1-3)")]
    = None,
    min_gap: Annotated[int, typer.Option(min=1, help="at least this many questions between the two questions of a "
                                         "pair in every rater's order")] = 10,
    min_overlap: Annotated[int | None, typer.Option(min=2, help="questions two raters must share before their κ is "
                                                    "computed (the analysis plan; default 10)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the choice of pairs (default: the study's secret); the "
                                             "raters' orders always come from the secret")] = None,
) -> None:
    """Build a study: question pairs, blind orders, a private link per rater, and the analysis plan, frozen."""
    from .study import create_study

    names = [n.strip() for n in rater_names.split(",") if n.strip()] if rater_names else None
    study, summary = create_study(source, out_dir, baseline=baseline, pairs=pairs, raters=names or raters,
                                  per_item=per_item, design=design, seed=seed, min_gap=min_gap, min_overlap=min_overlap)
    study.close()
    _say(f"study {out_dir}: {summary['described']}; {summary['generated']} against {summary['baseline']}")
    per = summary["per_rater"]
    each = f"{per[0]} questions each" if len(set(per)) == 1 else f"{min(per)}-{max(per)} questions each"
    extras = "".join(f", {summary[k]} {what}{'s' if summary[k] != 1 else ''}"
                     for k, what in (("practice", "practice question"), ("checks", "attention check")) if summary[k])
    _say(f"{summary['items']} questions, {len(summary['raters'])} raters ({', '.join(summary['raters'])}), {each}"
         f"{' (attention checks included)' if summary['checks'] else ''}; metrics: {', '.join(summary['metrics'])}"
         f"{extras}; a pair's two questions at least {summary['min_gap']} apart in every order")
    for note in summary["notes"]:
        _say(f"note: {note}")
    _say(f"analysis plan frozen, sha256 {summary['plan_sha256']} (`adaem annotate plan {out_dir}` prints it: publish "
         "it before the first rating to pre-register)")
    _say(f"next: adaem annotate serve {out_dir}   (prints each rater's private link)")


@app.command("plan")
def plan(study_dir: StudyArg) -> None:
    """The study's pre-registered analysis plan in words, its settings and its SHA-256 (for a pre-registration)."""
    from .study import Study

    with Study.open(study_dir) as study:
        p = study.plan
        lines = p.describe([m.name for m in study.metrics.metrics], len(study.design.checks), len(study.design.practice))
        _say(f"analysis plan of {study_dir} (frozen at creation), sha256 {study.meta('plan_sha256')}")
        for line in lines:
            _say(f"- {line}")
        _say("settings: " + p.canonical())


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@app.command("serve")
def serve(
    study_dir: StudyArg,
    host: Annotated[str, typer.Option(help="address to listen on (default: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port (0: any free one)")] = 8766,
) -> None:
    """Serve the rating pages until Ctrl-C: one private link per rater, an admin page with everyone's progress."""
    import asyncio

    from .server import serve as run
    from .study import Study

    with Study.open(study_dir) as study:  # a missing or broken study is one line before anything listens
        raters = study.raters()
        progress = {p["rater"]: p for p in study.progress()}
        admin = study.meta("admin_token")

    def ready(base: str) -> None:
        _say(f"serving study {study_dir} at {base} (Ctrl-C stops; every rating is saved the moment it is given)")
        if not _is_loopback(host):
            err.print(f"warning: listening on {host}: anyone who can reach this port can load the pages; the links' "
                      "tokens are the only lock, and plain HTTP shows them to the network (put it behind HTTPS)",
                      style="yellow", highlight=False, markup=False, soft_wrap=True)
        _say("rater links (send each rater their own; a link shows that rater's questions only):")
        for r in raters:
            if r.source == "study":
                p = progress[r.name]
                _say(f"  {r.name}: {base}/r/{r.token}   ({p['complete']} / {p['assigned']} rated)")
        _say(f"admin (progress, links, CSV export): {base}/admin/{admin}")

    try:
        asyncio.run(run(study_dir, host, port, on_ready=ready))
    except OSError as exc:
        raise ConfigError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None
    except KeyboardInterrupt:
        pass


def _num(x: object, digits: int = 2) -> str:
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    return "–" if f != f else f"{f:.{digits}f}"


def _ci(mid: object, lo: object, hi: object) -> str:
    return f"{_num(mid)} [{_num(lo)}, {_num(hi)}]"


def _pct(x: object) -> str:
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    return "–" if f != f else f"{f:+.1%}"


def _p(x: object) -> str:
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    return "–" if f != f else ("< 0.001" if f < 0.001 else f"{f:.3f}")


@app.command("results")
def results(
    study_dir: StudyArg,
    resamples: Annotated[int | None, typer.Option(min=0, help="unused since the set means and gain became t intervals (kept so scripts that pass it work)")]
    = None,
    permutations: Annotated[int | None, typer.Option(min=100, help="random sign vectors of the paired test (default: "
                                                     "the plan's)")] = None,
    weights: Annotated[str | None, typer.Option(help="Cohen's κ weights: quadratic, linear or none (default: the "
                                                "plan's)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the bootstrap and the permutations (default: the plan's)")]
    = None,
    min_overlap: Annotated[int | None, typer.Option(min=2, help="questions two raters must share for their κ "
                                                    "(default: the plan's)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="also write results.csv, agreement.csv, pairs.csv, "
                                                 "raters.csv and plan.json here")] = None,
) -> None:
    """The paper's table for this study, as its analysis plan says: per metric each set's mean [95% CI], the gain, a
    paired test, agreement over shared questions, each rater against the rest; any setting given is a deviation."""
    from .results import annotate_results

    if weights is not None and weights not in ("quadratic", "linear", "none"):
        raise ConfigError(f"--weights {weights}: use quadratic, linear or none")
    res = annotate_results(study_dir, resamples=resamples, permutations=permutations, weights=weights, seed=seed,
                           min_overlap=min_overlap)
    plan = res.plan
    lo, hi = res.scale
    table = Table(title=Text(f"Human evaluation of {study_dir} (scale {lo}-{hi}, mean [{plan.confidence:.0%} CI])"))
    for col in ("metric", res.baseline_name, res.generated_name, "gain [CI]", "paired test"):
        table.add_column(Text(col), justify="left" if col == "metric" else "right")  # set names come from file names
    for r in res.table.to_dict("records"):
        test = (f"Δ {float(r['difference']):+.2f}, p {_p(r['p_value'])}, Holm {_p(r['p_holm'])} ({r['pairs']} pairs)"
                if r["pairs"] else "–")
        table.add_row(Text(r["metric"]), _ci(r["baseline"], r["baseline_lo"], r["baseline_hi"]),
                      _ci(r["generated"], r["generated_lo"], r["generated_hi"]),
                      f"{_pct(r['gain'])} [{_pct(r['gain_lo'])}, {_pct(r['gain_hi'])}]", test)
    out.print(table)
    agree = Table(title=f"Inter-rater agreement (κ over rater pairs sharing at least {plan.min_overlap} questions; "
                        "Fleiss' κ and α over the questions with at least two ratings)")
    for col in ("metric", f"Cohen's κ ({plan.weights}, mean over rater pairs)", "Fleiss' κ",
                "Krippendorff's α (ordinal)", "questions", "raters"):
        agree.add_column(col, justify="left" if col == "metric" else "right")
    for r in res.agreement.to_dict("records"):
        few = f"; {r['pairs_too_few']} sharing too few" if r["pairs_too_few"] else ""
        agree.add_row(Text(r["metric"]), f"{_num(r['cohen_kappa'])} ({r['rater_pairs']} pairs{few})",
                      _num(r["fleiss_kappa"]), _num(r["krippendorff_alpha"]), str(r["items"]), str(r["raters"]))
    out.print(agree)
    if res.pairs is not None and len(res.pairs):
        keys = [k for k in res.pairs.columns if k not in ("rater_a", "rater_b", "shared_questions", "note")]
        pairs = Table(title="Every two raters (Cohen's κ over the questions both rated)")
        for col in ("raters", "shared questions", *(res.metrics.get(k, k) for k in keys)):
            pairs.add_column(col, justify="left" if col == "raters" else "right")
        for r in res.pairs.to_dict("records"):
            cells = [r["note"]] + [""] * (len(keys) - 1) if r["note"] else [_num(r[k]) for k in keys]
            pairs.add_row(Text(f"{r['rater_a']} – {r['rater_b']}"), str(r["shared_questions"]), *cells)
        out.print(pairs)
    if len(res.raters):
        per = Table(title="Each rater (κ with the others: mean over metrics, over raters sharing enough questions)")
        checks = res.raters["checks_assigned"].notna().any()
        cols = ["rater", "ratings", "shared questions", "κ with the others", "the others among themselves", ""]
        if checks:
            cols.insert(5, "attention checks")
        cols.insert(-1, "median s / question")
        for col in cols:
            per.add_column(col, justify="left" if col in ("rater", "") else "right")
        for r in res.raters.to_dict("records"):
            status = r["agreement"] if r["agreement"] != "outlier" else ""
            row: list[str | Text] = [Text(r["rater"]), str(r["ratings"]), str(r["shared_questions"]), _num(r["kappa_with_others"]),
                   _num(r["kappa_among_others"])]
            if checks:
                row.append(f"{r['checks_passed']} / {r['checks_answered']} passed" if r["checks_assigned"] else "–")
            row.append(_num(r["median_seconds"], 1))
            row.append(Text("outlier", style="bold red") if r["flagged"] else Text(r["excluded"] or status))
            per.add_row(*row)
        out.print(per)
    for d in res.deviations:
        err.print(Text("deviation from the pre-registered plan: ", style="bold yellow") + Text(d), soft_wrap=True)
    for w in res.warnings:
        err.print(Text("warning: ", style="bold yellow") + Text(w), soft_wrap=True)
    for note in res.notes:
        _say(f"note: {note}")
    _say(f"analysis plan sha256 {res.plan_sha256}")
    for m in res.methods:
        out.print(Text(m, style="dim"), soft_wrap=True)
    if out_dir is not None:
        import json

        out_dir.mkdir(parents=True, exist_ok=True)
        res.table.to_csv(out_dir / "results.csv", index=False)
        res.agreement.to_csv(out_dir / "agreement.csv", index=False)
        res.pairs.to_csv(out_dir / "pairs.csv", index=False)
        res.raters.to_csv(out_dir / "raters.csv", index=False)
        (out_dir / "plan.json").write_text(json.dumps({"sha256": res.plan_sha256, "settings": plan.as_data(),
                                                       "deviations": res.deviations, "methods": res.methods},
                                                      indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _say(f"wrote results.csv, agreement.csv, pairs.csv, raters.csv, plan.json to {out_dir}")


@app.command("export")
def export(
    study_dir: StudyArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="the CSV file to write")] = Path("ratings.csv"),
) -> None:
    """Every rating as CSV: rater, item_id, pair, set, topic, question, metric, value, at (when it was given), source, seconds."""
    from .ratings_csv import export_csv
    from .study import Study

    with Study.open(study_dir) as study:
        text = export_csv(study, output)
    _say(f"wrote {max(text.count(chr(10)) - 1, 0)} ratings to {output}")


@app.command("import")
def import_(
    study_dir: StudyArg,
    file: Annotated[Path, typer.Argument(help="a CSV of ratings: rater, item_id or question, and metric + value "
                                         "(or one column per metric)")],
) -> None:
    """Add ratings made elsewhere (all or nothing: a bad row is named and nothing is stored)."""
    from .ratings_csv import import_csv
    from .study import Study

    with Study.open(study_dir) as study:
        counts = import_csv(study, file)
    new = f"; new raters: {', '.join(counts['new_raters'])}" if counts["new_raters"] else ""
    _say(f"imported {counts['ratings']} ratings from {file}: {counts['added']} new, {counts['replaced']} changed{new}")
