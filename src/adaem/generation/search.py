"""The search loop of `adaem generate` (SPEC §6): arms = seed topics, UCB selection, two-step generation,
de-duplication, P1 scoring, reflect-and-refine while the gain exceeds τ, P2 scoring, arm update.

Every version of a question that could enter the benchmark, first proposal and refinements alike, passes the
same gates in the same order: format → near-duplicate (against every question accepted so far, seeds and
this pull's included) → safety filter. Arms live on one scale: seed questions are scored by the scorers (P2),
like every reward.

State lives in the run store so a run resumes exactly: the arms after every finished pull (kv `arms`,
`pulls_done`), one line per scored seed, accepted question and rejection (outputs/*.jsonl). A pull cut short
is done again on resume; its calls come from the cache and its questions keep their ids, so nothing is
written twice.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from ..config import RunConfig
from ..errors import ModelCallError
from ..models import GenerateConfig, ModelPool
from ..prompts import render
from ..scoring import Scored, score_question
from ..store import RunStore
from ..theories import Theory
from .bandit import Arm, ucb_select
from .gates import QUESTION_SCHEMA, REFINE_SCHEMA, Gates, json_field
from .seeds import CATEGORIES, Seed

# Runs whose state was written by this search (seeds on the P2 scale, null for what was not measured, masked
# labels, coherence in S). State without the mark came from an earlier adaem and is not extended: its arm means
# mix P1 and P2 scores and its records hold made-up numbers.
SEARCH_METHOD = 2
# The paper's prompts (`prompts: paper`) ask for free text with no length cap; a chain-of-thought step ("Let's think
# step by step") or a reflection gets this much room, a step's final answer (the argument and question) this much.
PAPER_STEP_TOKENS = 1024
PAPER_ANSWER_TOKENS = 512


def paper_values_words(theory: Theory) -> tuple[str, str]:
    """How Listing 7 names the theory's values: "Schwartz basic human values" (and "schwartz basic human values"
    in its format line) for Schwartz; any other theory by its title (Appendix J gives no MFT form)."""
    if theory.name == "schwartz10":
        return "Schwartz basic human values", "schwartz basic human values"
    title = "moral foundations" if theory.name == "mft" else (theory.title or theory.name)
    return title, title


def pick_arms(seeds: list[Seed], count: int | None, seed: int) -> list[Seed]:
    """`count` seeds spread round-robin over the categories (shuffled within each, reproducibly)."""
    if count is None or count >= len(seeds):
        return list(seeds)
    rng = random.Random(seed)
    by_category: dict[str, list[Seed]] = {}
    for s in seeds:
        by_category.setdefault(s.category, []).append(s)
    for group in by_category.values():
        rng.shuffle(group)
    order = [c for c in CATEGORIES if c in by_category] + sorted(set(by_category) - set(CATEGORIES))
    picked: list[Seed] = []
    while len(picked) < count:
        for c in order:
            if by_category[c] and len(picked) < count:
                picked.append(by_category[c].pop())
    return picked


def parallelism(config: RunConfig, pool: ModelPool) -> tuple[int, bool]:
    """(pulls in flight, whether a pull's questions run at once). Embedded models share the CPU, so a run with
    one in any role takes one pull and one question at a time. Remote models: `generation.parallel_pulls`, or
    by default as many pulls as keep every model's connections busy without queueing far past them: half the
    smallest concurrency limit among the roles, at most 32, and more when the judge (9 of a question's 10 calls
    with the per-value protocol) has more connections: a quarter of its limit, at most 64 (measured: at 1 s latency
    a 256-connection judge was kept at 0.77 of its bound by 32 pulls, 0.91 by 64)."""
    r = config.roles
    names = [*r.explorers, *r.scorers, *r.generators, r.judge, *([r.safety_filter] if r.safety_filter else [])]
    models = [pool.get(name) for name in dict.fromkeys(names)]
    if any(m.provider.shares_cpu for m in models):
        return config.generation.parallel_pulls or 1, False
    if config.generation.parallel_pulls:
        return config.generation.parallel_pulls, True
    limit = min(m.concurrency for m in models)
    judge = pool.get(r.judge).concurrency
    return max(1, min(32, limit // 2), min(64, judge // 4)), True


class Search:
    def __init__(self, store: RunStore, pool: ModelPool, theory: Theory, seeds: list[Seed], on_step=None):
        from ..embeddings import default_encoder

        self.store = store
        self.pool = pool
        self.config: RunConfig = store.config
        self.gen = self.config.generation
        self.theory = theory
        self.seeds = seeds
        self.encoder = default_encoder()
        self.gates = Gates(self.config, pool, self.encoder)
        self._seed_questions = {s.topic: s.question for s in seeds}
        self.on_step = on_step or (lambda kind: None)
        self.previous = store.previous_usage()
        self.benchmark: dict[str, dict[str, Any]] = {}
        self.seed_records: dict[str, dict[str, Any]] = {}
        self._rejected: set[str] = set()
        self._given: dict[int, list[str]] = {}  # pull id → the candidate ids it was started with
        self.parallel_pulls, self.concurrent = parallelism(self.config, pool)
        g = self.gen.generator_temperature
        self.generator_temperature = self.config.sampling.temperature if g is None else g

    # -- scoring -------------------------------------------------------------------------------------
    async def score(self, text: str, models: list[str]) -> Scored:
        role = "explorer" if models == self.config.roles.explorers else "scorer"
        return await score_question(self.pool, self.config, self.theory, self.encoder, text, models, role=role)

    # -- generation ----------------------------------------------------------------------------------
    async def _ask(self, model: str, prompt: str, *, schema: dict | None = None, role: str, seed: int) -> str:
        return await self._chat(model, [{"role": "system", "content": render("generate_system")},
                                        {"role": "user", "content": prompt}], schema=schema, role=role, seed=seed)

    async def _chat(self, model: str, messages: list[dict[str, str]], *, schema: dict | None = None, role: str,
                    seed: int, max_tokens: int = 160) -> str:
        out = await self.pool.get(model).generate(
            messages, GenerateConfig(temperature=self.generator_temperature, top_p=self.config.sampling.top_p,
                                     max_tokens=max_tokens, seed=seed, json_schema=schema), role=role)
        return out.text.strip()

    async def propose(self, generator: str, arm: Arm, base: dict[str, Any], examples: list[dict], seed: int):
        """Two steps: a concrete contentious fact, then a more specific yes/no question built on it."""
        if self.config.prompts == "paper":
            return await self.propose_as_printed(generator, arm, examples, seed)
        shots = ""
        if examples:
            shots = "Earlier specific questions on this topic, with their scores (higher is better):\n" + "\n".join(
                f"- {e['question']} (score {e['p2_score']:.2f})" for e in examples) + "\n"
        general = self.general_question(arm)
        fact = await self._ask(generator, render("generate_fact", topic=arm.topic, general=general,
                                                 question=base["question"], examples=shots), role="generator",
                               seed=seed)
        raw = await self._ask(generator, render("generate_question", topic=arm.topic, general=general,
                                                question=base["question"], examples=shots, fact=fact,
                                                words=self.gen.question_words),
                              schema=QUESTION_SCHEMA, role="generator", seed=seed)
        return fact, raw

    async def propose_as_printed(self, generator: str, arm: Arm, examples: list[dict], seed: int):
        """Listings 5 and 6 as printed: one conversation with no system prompt. The first turn shows the general
        argument and the arm's specific questions with their scores and asks, "Let's think step by step," for one
        new fact; the second, in the same conversation, asks for "[Argument] : <one sentence of your argument>" of
        "less than 20 words" and "[Question]: <only one yes-no question transformed from the argument>". Free text
        both times (parsed by the gates), each with room to finish (PAPER_STEP_TOKENS)."""
        listing = "\n".join(f"{i}. {e['question']}[Score: {e['p2_score']:.2f}]" for i, e in enumerate(examples, 1))
        messages = [{"role": "user", "content": render("paper/explore_fact", general=self.general_question(arm),
                                                       examples=listing)}]
        fact = await self._chat(generator, messages, role="generator", seed=seed, max_tokens=PAPER_STEP_TOKENS)
        messages += [{"role": "assistant", "content": fact},
                     {"role": "user", "content": render("paper/explore_question", words=self.gen.question_words)}]
        raw = await self._chat(generator, messages, role="generator", seed=seed, max_tokens=PAPER_ANSWER_TOKENS)
        return fact, raw

    def general_question(self, arm: Arm) -> str:
        """The arm's general (seed) question, which every step of the paper's prompts sees (Listings 5–7)."""
        seed = self._seed_questions.get(arm.topic)
        return seed or (self.seed_records.get(arm.topic) or {}).get("question") or arm.topic

    async def refine(self, generator: str, arm: Arm, fact: str, scored: Scored, seed: int) -> str:
        """Reflect (suggestions from the answers, values and score, towards the general question), then rewrite."""
        if self.config.prompts == "paper":
            return await self.refine_as_printed(generator, arm, fact, scored, seed)
        answers = "\n".join(
            f"- {m}: stance {a.get('stance')}; points: " + "; ".join(p["point"] for p in a.get("points", []))
            + "; values: " + ", ".join(d for d, v in (a.get("vector") or {}).items() if v is not None and v >= 0.5)
            for m, a in scored.answers.items() if "points" in a)
        suggestions = await self._ask(generator, render("reflect", general=self.general_question(arm),
                                                        question=scored.text, fact=fact, score=f"{scored.score:.2f}",
                                                        answers=answers), role="generator", seed=seed)
        return await self._ask(generator, render("refine", question=scored.text, suggestions=suggestions,
                                                 words=self.gen.question_words),
                               schema=REFINE_SCHEMA, role="generator", seed=seed)

    async def refine_as_printed(self, generator: str, arm: Arm, fact: str, scored: Scored, seed: int) -> str:
        """Listings 7 and 8 as printed: one conversation with no system prompt. The reflection sees the general
        question, the question, its background (the fact it was built on), each model's key points *with* their
        justifications and values (models named Model-1, Model-2, … as the listing does) and the reward score,
        and gives suggestions only; the refinement, the second turn of the same conversation, answers "one
        yes-or-no question" after "[Question]:"."""
        names = {d.id: d.name for d in self.theory.dimensions}
        lines = [f"[General question]: {self.general_question(arm)}", f"[Question]: {scored.text}",
                 f"[Background]: {fact}", "[Generation]:"]
        for i, a in enumerate((a for a in scored.answers.values() if "points" in a), 1):
            points = " ".join(f"{j}. {p['point']}" + (f": {p['justification']}" if p.get("justification") else "")
                              for j, p in enumerate(a["points"], 1))
            values = ", ".join(names.get(d, d) for d, v in (a.get("vector") or {}).items() if v is not None
                               and v >= self.config.evaluation.threshold)
            lines += [f"[Model-{i} Key-points]: {points}", f"[Model-{i} Value]: {values or 'none'}"]
        lines.append(f"[Reward Score]: {scored.score:.2f}")
        title, lower = paper_values_words(self.theory)
        messages = [{"role": "user", "content": render("paper/reflect", values_title=title, values_lower=lower,
                                                       input="\n".join(lines))}]
        suggestions = await self._chat(generator, messages, role="generator", seed=seed, max_tokens=PAPER_STEP_TOKENS)
        messages += [{"role": "assistant", "content": suggestions}, {"role": "user", "content": render("paper/refine")}]
        return await self._chat(generator, messages, role="generator", seed=seed, max_tokens=PAPER_ANSWER_TOKENS)

    # -- state ---------------------------------------------------------------------------------------
    def load_arms(self) -> list[Arm]:
        saved = self.store.get("arms")
        return [Arm(**a) for a in saved] if saved else []

    def save_state(self, arms: list[Arm], pulls_done: int, trajectory: list[dict[str, Any]],
                   in_flight: dict[int, int], started: int) -> None:
        """The bandit after every finished pull, and the pulls still running (pull id → arm index): a resume
        restarts exactly those, with the same ids, arms and seeds."""
        self.store.put("arms", [asdict(a) for a in arms])
        self.store.put("pulls_done", pulls_done)
        self.store.put("trajectory", trajectory)
        self.store.put("in_flight", [{"pull": t, "arm": arms[i].topic, "examples": self._given.get(t, [])}
                                     for t, i in sorted(in_flight.items())])
        self.store.put("pulls_started", started)

    def load_questions(self) -> None:
        """What the run has accepted so far, in memory: the benchmark, the seeds, and the near-duplicate pool."""
        self.benchmark = {r["id"]: r for r in self.store.records("benchmark")}
        self.seed_records = {r["key"]: r for r in self.store.records("seed_scores")}
        self._rejected = self.store.done_keys("rejected")
        texts = [r["question"] for r in self.benchmark.values()] + [r["question"] for r in self.seed_records.values()]
        self.gates.reset(texts)

    def reject(self, key: str, text: str, reason: str, **extra: Any) -> None:
        if key not in self._rejected:  # a pull redone after an interruption rejects again
            self._rejected.add(key)
            self.store.append("rejected", {"key": key, "question": text, "reason": reason, **extra})

    def accept(self, record: dict[str, Any]) -> str | None:
        """Enter a finished question into the benchmark, unless a question accepted meanwhile (a sibling, or
        another pull's) makes it a near-duplicate. No await inside: with pulls and siblings running at once,
        this check-and-add is the one lock every question passes."""
        why = self.gates.near_duplicate(record["question"])
        if why:
            return why
        self.store.append("benchmark", record)
        self.benchmark[record["id"]] = record
        self.gates.add(record["question"])
        return None

    # -- arms ----------------------------------------------------------------------------------------
    async def init_arms(self, arms: list[Arm]) -> list[Arm]:
        """Score every new arm's seed question with the scorers (P2), the scale of every later reward: one scored
        pull each (SPEC Decision; `arm_init: unpulled-first` keeps the score out of the bandit, as Algorithm 2). A
        seed no two scorers could answer leaves its arm unpulled (UCB tries it first) rather than at a made-up 0."""
        known = {a.topic for a in arms}
        done = {r["key"]: r for r in self.store.records("seed_scores")}
        new = [s for s in pick_arms(self.seeds, self.gen.arms, self.config.sampling.seed or 0) if s.topic not in known]

        async def one(seed: Seed) -> dict[str, Any]:
            if seed.topic in done:
                return done[seed.topic]
            scored = await self.score(seed.question, self.config.roles.scorers)
            record = {"key": seed.topic, "question": seed.question, "category": seed.category,
                      "scored_by": "scorers", **scored.as_record()}
            self.store.append("seed_scores", record)
            self.on_step("seed")
            return record

        for seed, record in zip(new, await asyncio.gather(*(one(s) for s in new)), strict=True):
            arm = Arm(seed.topic, seed.category)
            # seed-pull: the seed's score is the arm's first reward. unpulled-first (Algorithm 2): "For each arm i,
            # set Counter C_i ← 0 and UCB Estimated Mean Reward Q_i ← 0"; UCB then takes every unpulled arm first
            # (an unpulled arm's bonus is infinite), and the seed's score is only the input S_i of the examples.
            if record["score"] is not None and self.gen.arm_init == "seed-pull":
                arm.update(record["score"])
            arms.append(arm)
        return arms

    def examples(self, arm: Arm, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """The arm's questions, best first (its seed question included as a candidate); `ids` gives a list taken
        earlier (a pull restarted after an interruption builds on what it was given when it first started)."""
        seed = self.seed_records.get(arm.topic)
        known = {**self.benchmark}
        if seed is not None:
            known[f"seed:{arm.topic}"] = {"id": f"seed:{arm.topic}", "question": seed["question"], "depth": -1,
                                          "p2_score": seed["score"] if seed["score"] is not None else 0.0}
        if ids is not None:
            return [known[i] for i in ids if i in known]
        own = [known[q] for q in [*arm.questions, f"seed:{arm.topic}"] if q in known]
        return sorted(own, key=lambda r: -r["p2_score"])

    # -- one pull ------------------------------------------------------------------------------------
    async def pull(self, t: int, arm: Arm, candidates: list[dict[str, Any]]) -> float | None:
        """N2 questions from this arm, each generator's (run at once when the models are remote), built on
        `candidates` (the arm's questions when the pull started, best first); returns the reward: the mean P2
        score of the accepted ones, None when every candidate was kept out (a visit without a reward)."""
        shots = [c for c in candidates if not c["id"].startswith("seed:")][: self.gen.n_shot]

        async def one(w: int, g: int, generator: str) -> dict[str, Any] | None:
            qid = f"p{t}-w{w}-g{g}"
            if qid in self.benchmark:  # accepted before an interruption
                return self.benchmark[qid]
            seed = (self.config.sampling.seed or 0) * 100_003 + t * 1000 + w * 10 + g
            record = await self._one_question(qid, generator, arm, candidates[w % len(candidates)], shots, seed)
            if record is None:
                return None
            why = self.accept(record)
            if why:
                self.reject(qid, record["question"], why, stage="dedupe", arm=arm.topic, at="acceptance")
                return None
            self.on_step("question")
            return record

        units = [(w, g, gen) for w in range(self.gen.width) for g, gen in enumerate(self.config.roles.generators)]
        if self.concurrent:
            records = await asyncio.gather(*(one(*u) for u in units))
        else:  # embedded models share the CPU: one question after another, as the paper's loop
            records = [await one(*u) for u in units]
        accepted = [r for r in records if r is not None]
        arm.questions.extend(r["id"] for r in accepted)
        return float(np.mean([r["p2_score"] for r in accepted])) if accepted else None

    async def _one_question(self, qid: str, generator: str, arm: Arm, base: dict, shots: list[dict],
                            seed: int) -> dict[str, Any] | None:
        """Propose, gate, score with P1, reflect-and-refine while the gain exceeds τ (every refinement passes
        the same gates; one that fails is recorded in `refinements` and the last accepted version stands),
        score the final version with P2. None (and a recorded rejection) when it does not enter."""
        fact, raw = await self.propose(generator, arm, base, shots, seed)
        raw_first = raw
        first = await self.gates.gate(raw)
        if first.stage:
            self.reject(qid, first.text, first.reason or "", stage=first.stage, arm=arm.topic)
            return None
        explorers = self.config.roles.explorers
        current, country = await self.score(first.text, explorers), first.country
        if current.informativeness is None:
            self.reject(qid, first.text, current.problem or "unscored", stage="score", arm=arm.topic)
            return None
        history: list[dict[str, Any]] = [{"question": first.text, "p1_score": current.score}]
        depth = 0
        while depth < self.gen.depth:
            raw = await self.refine(generator, arm, fact, current, seed + 7 * (depth + 1))
            candidate = await self.gates.gate(raw)
            if candidate.stage:
                history.append({"question": candidate.text, "rejected": candidate.reason, "stage": candidate.stage})
                break
            rescored = await self.score(candidate.text, explorers)
            history.append({"question": candidate.text, "p1_score": None if rescored.informativeness is None
                            else rescored.score, **({"problem": rescored.problem} if rescored.problem else {})})
            if rescored.informativeness is None or rescored.score - current.score <= self.gen.tau:
                break
            current, country, depth = rescored, candidate.country or country, depth + 1
        scorers = self.config.roles.scorers
        p2 = current if scorers == explorers else await self.score(current.text, scorers)
        if p2.informativeness is None:
            self.reject(qid, current.text, f"scorers: {p2.problem or 'unscored'}", stage="score-p2", arm=arm.topic)
            return None
        why = await self.gates.screen_answers(current.text, current, p2)
        if why:
            self.reject(qid, current.text, why, stage="safety-answer", arm=arm.topic)
            return None
        return {
            "id": qid, "question": current.text, "topic": arm.topic, "category": arm.category, "country": country,
            "parent": base["id"], "depth": depth, "generator": generator, "fact": fact,
            "argument": json_field(raw_first, "argument"),
            "p1_score": current.score, "p1": current.as_record(), "p2_score": p2.score, "p2": p2.as_record(),
            "refinements": history, "explorers": explorers, "scorers": scorers,
            **(await self.local_version(current.text, country) if self.gen.local_language else {}),
        }

    async def local_version(self, text: str, country: str | None) -> dict[str, Any]:
        """The question in the main language of the place it is about (generation.local_language), scored by the
        scorers in that language: `question_<lang>` (which `evaluate` then takes as the user's translation),
        `p2_score_local`. A flagged translation is kept with its flag and not scored."""
        from ..languages import country_language
        from ..translation import checked_translation

        language = country_language(country)
        if language is None or language == "en":
            return {}
        local = await checked_translation(self.pool, self.config, text, language)
        out: dict[str, Any] = {"local_language": language, "local_translation": local}
        if local["flagged"]:
            return out
        scored = await score_question(self.pool, self.config, self.theory, self.encoder, local["text"],
                                      self.config.roles.scorers, role="scorer", language=language)
        return {**out, f"question_{language}": local["text"], "p2_score_local": scored.score
                if scored.informativeness is not None else None, "p2_local": scored.as_record()}

    # -- the loop ------------------------------------------------------------------------------------
    def out_of_budget(self) -> str | None:
        total = self.pool.ledger.total()
        previous = self.previous
        calls = previous["calls"] + total.calls
        tokens = previous["tokens"] + total.input_tokens + total.output_tokens
        if self.gen.max_calls is not None and calls >= self.gen.max_calls:
            return f"call budget reached ({calls} ≥ {self.gen.max_calls})"
        if self.gen.max_tokens is not None and tokens >= self.gen.max_tokens:
            return f"token budget reached ({tokens} ≥ {self.gen.max_tokens})"
        cost = previous["cost"] + total.cost
        if self.gen.max_cost is not None and cost >= self.gen.max_cost:
            return f"cost budget reached (${cost:.4f} ≥ ${self.gen.max_cost})"
        return None

    async def run(self, progress=None, task=None) -> dict[str, Any]:
        """Pulls until the budget: up to `parallel_pulls` at once, each arm chosen by UCB with the pulls in flight
        as virtual visits (one in flight: the paper's algorithm exactly). State is saved whenever a pull ends."""
        self.store.put("search_method", SEARCH_METHOD)
        arms = await self.init_arms(self.load_arms())
        self.load_questions()
        pulls_done = int(self.store.get("pulls_done", 0))
        trajectory = list(self.store.get("trajectory", []))
        started = int(self.store.get("pulls_started", pulls_done))
        index = {a.topic: i for i, a in enumerate(arms)}
        resumed = [(r["pull"], index[r["arm"]], r.get("examples")) for r in self.store.get("in_flight", [])
                   if r["arm"] in index]
        running: dict[asyncio.Task, tuple[int, int]] = {}
        in_flight: dict[int, int] = {}  # pull id → arm index
        stopped = None
        began = time.monotonic()

        def start(t: int, i: int, ids: list[str] | None = None) -> None:
            candidates = self.examples(arms[i], ids)
            self._given[t] = [c["id"] for c in candidates]
            running[asyncio.ensure_future(self.pull(t, arms[i], candidates))] = (t, i)
            in_flight[t] = i

        def describe() -> None:
            if progress is not None:
                progress.update(task, description=f"generate: pulls ({len(running)} in flight)")

        for t, i, ids in resumed:  # pulls cut short by an interruption: the same pull again (calls are cached)
            start(t, i, ids)
        self.save_state(arms, pulls_done, trajectory, in_flight, started)
        try:
            while True:
                while not stopped and len(running) < self.parallel_pulls and started < self.gen.budget:
                    stopped = self.out_of_budget()
                    if stopped:
                        break
                    if self.gen.arm_selection == "random":
                        i = random.Random(f"{self.config.sampling.seed}-{started}").randrange(len(arms))
                    else:
                        visits: dict[int, int] = {}
                        for j in in_flight.values():
                            visits[j] = visits.get(j, 0) + 1
                        i = ucb_select(arms, self.gen.exploration, in_flight=visits,
                                       budget=self.gen.budget if self.gen.ucb_horizon == "budget" else None)
                    start(started, i)
                    started += 1
                    self.save_state(arms, pulls_done, trajectory, in_flight, started)
                describe()
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for finished in sorted(done, key=lambda f: running[f][0]):
                    t, i = running.pop(finished)
                    reward = finished.result()  # a pull that failed for good raises here
                    del in_flight[t]
                    self._given.pop(t, None)
                    arms[i].update(reward)
                    pulls_done += 1
                    trajectory.append({"pull": pulls_done, "id": t, "arm": arms[i].topic, "reward": reward,
                                       "arm_mean": arms[i].mean if arms[i].rewarded else None,
                                       "seconds": round(time.monotonic() - began, 3)})  # into this session
                    self.save_state(arms, pulls_done, trajectory, in_flight, started)
                    if progress is not None:
                        progress.advance(task)
        finally:  # a failure or an interrupt: the pulls still running stop; the state names them for --resume
            for pending in running:
                pending.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        return {"arms": arms, "pulls": pulls_done, "trajectory": trajectory, "stopped": stopped}


__all__ = ["ModelCallError", "Search", "pick_arms"]
