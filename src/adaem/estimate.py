"""What a run will cost before it starts: calls, tokens and USD per model and role, from the config alone.

The counts follow the code's own call pattern (SPEC §4–§7); what a config cannot know is assumed and said:
every answer parses at the first attempt, a refinement is tried once per question and not continued (the gain
rarely exceeds τ), no candidate is kept out, a prompt or answer has one token per four characters of text, and a
reasoning model reasons its endpoint's `reasoning.expected` tokens a call (billed as output).
P2 scores a question with the explorers' answers already in the cache, so only scorers outside P1 add calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import RunConfig
from .judge import value_prompt
from .measure import opinion_messages
from .models.batch_quota import queue_limit
from .models.reasoning import is_reasoning
from .prompts import render
from .theories import Theory, load_theory

QUESTION = "Should payday lenders be banned in Kenya, where mobile loans trap many farmers in debt?"
TOKENS_PER_CHAR = 0.25


def _tokens(text: str) -> int:
    return max(1, round(len(text) * TOKENS_PER_CHAR))


@dataclass
class Estimate:
    model: str
    role: str
    calls: float = 0.0
    input_tokens: float = 0.0
    output_tokens: float = 0.0  # reasoning included
    cost: float = 0.0
    reasoning_tokens: float = 0.0


def reasoning_per_call(config: RunConfig, model: str) -> int:
    """Hidden reasoning tokens a call of `model` is assumed to spend: its endpoint's `reasoning.expected` when the
    model reasons (declared in model_info or by the endpoint's documented name patterns), else 0."""
    provider, _, name = model.partition("/")
    if not config.has_endpoint(provider):
        return 0
    spec = config.endpoint(provider).reasoning
    info = config.model_info.get(model)
    return spec.expected if is_reasoning(name, spec.models, info.kind if info else None) else 0


class Tally:
    """Calls accumulated per (model, role), each with its prompt and answer size."""

    def __init__(self, config: RunConfig):
        self.config = config
        self.rows: dict[tuple[str, str], Estimate] = {}

    def add(self, model: str, role: str, calls: float, prompt: str, output_tokens: float) -> None:
        row = self.rows.setdefault((model, role), Estimate(model, role))
        reasoning = reasoning_per_call(self.config, model)
        row.calls += calls
        row.input_tokens += calls * _tokens(prompt)
        row.output_tokens += calls * (output_tokens + reasoning)
        row.reasoning_tokens += calls * reasoning

    def result(self) -> list[Estimate]:
        for row in self.rows.values():
            price = self.config.prices.get(row.model)
            if price is not None:
                row.cost = (row.input_tokens / 1e6 * price.input + row.output_tokens / 1e6 * price.output
                            ) * batch_price_factor(self.config, row.model)
        return sorted(self.rows.values(), key=lambda r: (r.role, r.model))


def batch_price_factor(config: RunConfig, model: str) -> float:
    """The price factor of a model's calls: its endpoint's batch discount in batch mode (evaluate, compare and
    prime; generation always runs live), else 1."""
    provider = model.partition("/")[0]
    if config.batch.mode != "api" or not config.has_endpoint(provider):
        return 1.0
    endpoint = config.endpoint(provider)
    return endpoint.batch_discount if endpoint.batch else 1.0


def _answer_tokens(config: RunConfig) -> float:
    ev = config.evaluation
    words = ev.total_words * 1.3 + 6  # tokens of an answer at its word limit, stance line included
    return words * 1.4 if ev.opinion_format == "json" else words


def _judge_texts(config: RunConfig) -> float:
    """Texts the judge labels per answer: the answer whole, or each of its k points."""
    return 1.0 if config.evaluation.unit == "answer" else float(config.evaluation.key_points)


def _label(tally: Tally, config: RunConfig, theory: Theory, texts: float, role: str = "judge") -> None:
    judge, text = config.roles.judge, "x" * int(_answer_tokens(config) / _judge_texts(config) / TOKENS_PER_CHAR)
    if config.evaluation.protocol == "per-value":
        messages = value_prompt(theory, text, theory.dimensions[0], config.evaluation.judge_prompt)
        tally.add(judge, role, texts * len(theory.dimensions), "".join(m["content"] for m in messages), 2)
    else:
        definitions = "\n".join(f"- {d.id}: {d.name}, {d.definition}" for d in theory.dimensions)
        prompt = render("judge_system") + render("judge_joint", text=text, definitions=definitions)
        tally.add(judge, role, texts, prompt, 6 * len(theory.dimensions))


def _opinion_prompt(config: RunConfig) -> str:
    ev = config.evaluation
    words = ev.word_limit if config.prompts == "paper" else ev.total_words
    messages = opinion_messages(QUESTION, k=ev.key_points, words=words, prompts=config.prompts)
    return "".join(m["content"] for m in messages)


# The paper's prompts ask for a chain of thought ("Let's think step by step") and free-text suggestions with no cap
# beyond PAPER_STEP_TOKENS: assumed this long; the second turn of each conversation re-sends the first.
PAPER_STEP_OUTPUT = 300


def _generate_as_printed(tally: Tally, config: RunConfig, generator: str, per: float, general: str) -> None:
    """Calls of one generator under the paper's prompts: Listings 5 → 6 and 7 → 8 as two-turn conversations."""
    gen = config.generation
    listing = "\n".join(f"{i}. {QUESTION}[Score: 6.50]" for i in range(1, gen.n_shot + 1))
    first = render("paper/explore_fact", general=general, examples=listing)
    cot = "x" * int(PAPER_STEP_OUTPUT / TOKENS_PER_CHAR)
    tally.add(generator, "generator", per, first, PAPER_STEP_OUTPUT)
    tally.add(generator, "generator", per, first + cot + render("paper/explore_question", words=gen.question_words),
              60)
    if gen.depth > 0:
        answers = "x" * int(len(config.roles.explorers) * _answer_tokens(config) / TOKENS_PER_CHAR)
        reflect = render("paper/reflect", values_title="Schwartz basic human values",
                         values_lower="schwartz basic human values", input=general + QUESTION + cot + answers)
        tally.add(generator, "generator", per, reflect, PAPER_STEP_OUTPUT)
        tally.add(generator, "generator", per, reflect + cot + render("paper/refine"), 30)


def _score(tally: Tally, config: RunConfig, theory: Theory, models: list[str], role: str, times: float,
           question: bool = True) -> None:
    """Calls of scoring `times` questions under `models` (their opinions, N of them with the E-step's
    generation.opinion_samples, their labels, the question's own labels unless already cached)."""
    samples = config.generation.opinion_samples
    prompt = _opinion_prompt(config)
    for model in models:
        tally.add(model, role, times * samples, prompt, _answer_tokens(config))
    _label(tally, config, theory, times * (len(models) * samples * _judge_texts(config) + question))
    if config.generation.screen_answers and config.roles.safety_filter:
        tally.add(config.roles.safety_filter, "safety_filter", times * len(models),
                  render("safety_answer", question=QUESTION, answer="x" * 400), 3)


def estimate_generate(config: RunConfig, seeds: int) -> list[Estimate]:
    """A whole `adaem generate` run from scratch: the seed arms scored, then `budget` pulls."""
    from .generation.seeds import load_seeds

    gen, roles = config.generation, config.roles
    theory = load_theory(config.evaluation.theory)
    arms = min(gen.arms or seeds, seeds)
    tally = Tally(config)
    _score(tally, config, theory, roles.scorers, "explorer" if roles.scorers == roles.explorers else "scorer", arms)
    questions = gen.budget * gen.width * len(roles.generators)
    refinements = questions if gen.depth > 0 else 0
    example = load_seeds(gen.seeds)[0]
    for generator in roles.generators:
        per = questions / len(roles.generators)
        if config.prompts == "paper":
            _generate_as_printed(tally, config, generator, per, example.question)
            continue
        tally.add(generator, "generator", per, render("generate_system")
                  + render("generate_fact", topic=example.topic, general=example.question, question=example.question,
                           examples="x" * 600), 40)
        tally.add(generator, "generator", per, render("generate_system")
                  + render("generate_question", topic=example.topic, general=example.question,
                           question=example.question, examples="x" * 600, fact="x" * 160, words=gen.question_words), 70)
        if gen.depth > 0:
            tally.add(generator, "generator", per, render("generate_system")
                      + render("reflect", general=example.question, question=QUESTION, fact="x" * 160, score="1.00",
                               answers="x" * 500), 80)
            tally.add(generator, "generator", per, render("generate_system")
                      + render("refine", question=QUESTION, suggestions="x" * 320, words=gen.question_words), 45)
    if roles.safety_filter:
        tally.add(roles.safety_filter, "safety_filter", questions + refinements, render("safety", question=QUESTION), 3)
    _score(tally, config, theory, roles.explorers, "explorer", questions + refinements)
    extra = [m for m in roles.scorers if m not in roles.explorers]
    if extra:
        _score(tally, config, theory, extra, "scorer", questions, question=False)
    return tally.result()


def estimate_evaluate(config: RunConfig, questions: int) -> list[Estimate]:
    """`adaem evaluate` of the target models on `questions` questions, in every language of the run (each machine
    translation is two translator calls: there and back)."""
    theory = load_theory(config.evaluation.theory)
    tally = Tally(config)
    ev = config.evaluation
    languages = len(ev.languages)
    prompt = _opinion_prompt(config)
    for model in config.roles.targets:
        tally.add(model, "target", questions * languages, prompt, _answer_tokens(config))
    _label(tally, config, theory, questions * (languages * len(config.roles.targets) * _judge_texts(config) + 1))
    foreign = len([lang for lang in ev.languages if lang != "en"])
    if foreign:
        translator = config.roles.translator or config.roles.judge
        tally.add(translator, "translator", 2 * questions * foreign, render("translate", language="Chinese",
                                                                              text=QUESTION), _tokens(QUESTION) * 2)
        if ev.judge_definitions == "language":
            tally.add(translator, "translator", foreign * len(theory.ids), render("translate", language="Chinese",
                      text=theory.dimensions[0].definition), _tokens(theory.dimensions[0].definition) * 2)
    return tally.result()


def assumptions(config: RunConfig, job: str = "generate") -> list[str]:
    gen = config.generation
    notes = [
        "every answer parses at its first attempt (each re-ask adds an opinion call and its labels)",
        "one token per four characters of prompt or answer; answers at the word limit",
    ]
    reasoning = sorted({m for m in config.roles.all_models() if reasoning_per_call(config, m)})
    if reasoning:
        notes.append("reasoning models (" + ", ".join(reasoning) + ") spend their endpoint's reasoning.expected "
                     "tokens a call, billed as output (no vendor documents a figure: the usage table after a run shows yours)")
    if job == "evaluate":
        if config.batch.mode == "api":
            notes.append("batch mode: models whose endpoint has a batch API at its batch price, the rest live")
        return notes + ([] if config.prices else ["no `prices:` in the config: cost is 0"])
    notes.append("no question kept out by a gate (a rejection saves its scoring)")
    if config.prompts == "paper":
        notes.append(f"the paper's prompts: each chain-of-thought step and reflection writes {PAPER_STEP_OUTPUT} "
                     "tokens, and each second turn re-sends its conversation")
    if gen.depth > 0:
        notes.append(f"one refinement tried per question; each further step (up to depth {gen.depth}) repeats "
                     "reflect, refine and P1 scoring, taken only while the gain exceeds τ")
    if gen.max_calls or gen.max_tokens or gen.max_cost:
        notes.append("generation.max_calls / max_tokens / max_cost would stop the run earlier")
    if not config.prices:
        notes.append("no `prices:` in the config: cost is 0 (USD per million input / output tokens per model)")
    return notes


def totals(rows: list[Estimate]) -> Estimate:
    out = Estimate("all", "all")
    for r in rows:
        out.calls += r.calls
        out.input_tokens += r.input_tokens
        out.output_tokens += r.output_tokens
        out.reasoning_tokens += r.reasoning_tokens
        out.cost += r.cost
    return out


def queue_fills(config: RunConfig, rows: list[Estimate]) -> dict[str, tuple[int, int]]:
    """Batch mode: per model with an enqueued-token limit, (the limit, how many times its batches must fill the
    queue): a phase takes at least that many batch turnarounds one after another (OpenAI's window: 24 hours). The
    input tokens are counted as batch_quota counts them (high), from estimate's four characters a token."""
    if config.batch.mode != "api":
        return {}
    out: dict[str, tuple[int, int]] = {}
    by_model: dict[str, float] = {}
    for r in rows:
        by_model[r.model] = by_model.get(r.model, 0.0) + r.input_tokens
    for model, tokens in by_model.items():
        provider = model.partition("/")[0]
        if not config.has_endpoint(provider) or not config.endpoint(provider).batch:
            continue
        limit = queue_limit(config, model)
        if limit:
            counted = tokens * 4 / 3  # request_tokens counts 3 bytes a token where estimate counts 4 characters
            out[model] = (limit, math.ceil(counted / limit))
    return out


__all__ = ["Estimate", "assumptions", "estimate_evaluate", "estimate_generate", "queue_fills", "totals"]
