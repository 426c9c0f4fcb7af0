"""The one validated schema of a run: which model plays which role, endpoints, limits, prices.

A YAML file fills it, then CLI flags (`--set roles.judge=openai/gpt-4o`) override single fields. Every
validation error is reported as one line naming the field, e.g. `roles.judge: unknown provider 'foo'`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .endpoints import ANTHROPIC_PROVIDER as ANTHROPIC_PROVIDER  # re-exported: a run's schema names its endpoints
from .endpoints import EMBEDDED_PROVIDER as EMBEDDED_PROVIDER
from .endpoints import MOCK_PROVIDER as MOCK_PROVIDER
from .endpoints import OPEN_REASONING_MODELS as OPEN_REASONING_MODELS
from .endpoints import PRESET_ENDPOINTS as PRESET_ENDPOINTS
from .endpoints import Endpoint as Endpoint
from .endpoints import Reasoning as Reasoning
from .errors import ConfigError
from .objective import COMPONENTS


class Limits(BaseModel):
    """How one model is called. None for concurrency means the provider's default."""

    model_config = ConfigDict(extra="forbid")

    max_concurrency: int | None = Field(None, ge=1, description="calls in flight; per replica when the endpoint has "
                                        "several base URLs")
    max_retries: int = Field(8, ge=0, description="retries after the first attempt; 0 means none")
    timeout: float | None = Field(120.0, gt=0, description="seconds per attempt (remote models)")
    backoff_base: float = Field(1.0, ge=0)
    backoff_max: float = Field(60.0, ge=0)
    replica_cooldown: float = Field(10.0, gt=0, description="seconds a replica that refused connections (or failed "
                                    "3 times in a row) gets no calls; doubles while it keeps failing, at most 16x")


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float = Field(0.0, ge=0, description="USD per million input tokens")
    output: float = Field(0.0, ge=0, description="USD per million output tokens")


# SmolLM2-135M is no respondent: 6 of 13 of its answers do not parse and 2 of the rest are not opinions
# (copied points, "stance: no" as a point), so a quarter of its answers fail even after three attempts.
DEFAULT_RESPONDENTS = ["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"]
DEFAULT_HELPER = "local/qwen2.5-coder-1.5b"


class Roles(BaseModel):
    """Who does what (SPEC §3). Empty optional roles fall back as the paper does."""

    model_config = ConfigDict(extra="forbid")

    explorers: list[str] = Field(default_factory=lambda: list(DEFAULT_RESPONDENTS), description="P1")
    scorers: list[str] = Field(default_factory=list, description="P2; empty means the explorers")
    generators: list[str] = Field(default_factory=lambda: [DEFAULT_HELPER])
    judge: str = DEFAULT_HELPER
    safety_filter: str | None = None
    targets: list[str] = Field(default_factory=list, description="models to evaluate; empty means the scorers")
    translator: str | None = Field(None, description="translates questions into evaluation.languages (and value "
                                   "definitions for the judge, when asked); None: the judge")

    @model_validator(mode="after")
    def _fill_defaults(self) -> Roles:
        if not self.scorers:
            self.scorers = list(self.explorers)
        if not self.targets:
            self.targets = list(self.scorers)
        return self

    def all_models(self) -> dict[str, list[str]]:
        """Model name -> the roles it plays, in a stable order."""
        out: dict[str, list[str]] = {}
        pairs = [("explorer", m) for m in self.explorers] + [("scorer", m) for m in self.scorers]
        pairs += [("generator", m) for m in self.generators] + [("judge", self.judge)]
        pairs += [("safety_filter", self.safety_filter)] if self.safety_filter else []
        pairs += [("target", m) for m in self.targets]
        pairs += [("translator", self.translator)] if self.translator else []
        for role, name in pairs:
            out.setdefault(name, [])
            if role not in out[name]:
                out[name].append(role)
        return out


class Sampling(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(0.95, gt=0, le=1)
    seed: int | None = Field(0, description="base seed; each call derives its own from it. None: unseeded")


class LocalSettings(BaseModel):
    """Embedded llama.cpp models."""

    model_config = ConfigDict(extra="forbid")

    n_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1)
    n_ctx: int = Field(2048, ge=256)
    parallel_models: int = Field(1, ge=1, description="local models computing at once (they share the CPU)")
    batch_prompts: int = Field(1, ge=1, le=255, description="one-token calls evaluated together as parallel "
                               "sequences of one llama.cpp batch (a per-value judge's verdicts on one text; weights "
                               "then loaded without repacking, so batched and lone calls agree exactly); 1: one call "
                               "at a time (measured faster on 2 cores with the one-definition prompt)")


class OpinionRules(BaseModel):
    """What makes an answer an opinion (SPEC §5 Decision). An answer whose points break a rule is re-asked (up to
    evaluation.max_parse_attempts) and then recorded as a parse failure: never labelled, scored or rated.
    Similarities are cosines of all-MiniLM-L6-v2 embeddings (the model of opinion difference)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    min_words: int = Field(3, ge=1, description="words per point")
    min_word_share: float = Field(0.6, ge=0, le=1, description="share of a point's tokens that hold two letters or more")
    min_known_share: float = Field(0.34, ge=0, le=1, description="share of a point's Latin-script words of 6+ "
                                   "letters that the embedding model knows as words (gibberish it does not; English-"
                                   "centric: set 0 for answers in other languages)")
    min_topic_similarity: float = Field(0.1, ge=-1, le=1, description="each point's similarity to the question")
    max_question_similarity: float = Field(0.92, ge=-1, le=1, description="above this a point copies the question")
    max_point_similarity: float = Field(0.95, ge=-1, le=1, description="above this two points say the same")
    max_length_ratio: float | None = Field(4.0, gt=0, description="an answer whose points hold more than this × "
                                           "the words the prompt allows is too long (no grammar cuts a point "
                                           "short: the length is checked afterwards); None: no limit")


class Evaluation(BaseModel):
    """How answers are measured and scored (SPEC §4, §7)."""

    model_config = ConfigDict(extra="forbid")

    theory: str = Field("schwartz10", description="a built-in theory (schwartz10, mft) or a YAML/JSON file")
    protocol: Literal["joint", "per-value"] = Field(
        "per-value",
        description="per-value: one yes/no call per value, P(yes) from log-probabilities (the paper's; the embedded "
        "1.5B judge ranks a text's values far better this way: top-1 0.87 vs 0.35 under joint, `adaem judge-check`); "
        "joint: one schema-constrained call per text",
    )
    judge_prompt: Literal["one-definition", "all-definitions", "listing-4"] = Field(
        "one-definition", description="per-value judge prompt: the value asked about with its own definition; "
        "every value of the theory with its definition first (adaem's form of the paper's Listing 4, with adaem's "
        "judge system prompt); or listing-4: the paper's Listing 4 as printed (no system prompt, the paper's "
        "definitions for Schwartz)")
    unit: Literal["answer", "opinion"] = Field(
        "answer", description="label all key points of an answer in one text, or each point and OR them"
    )
    key_points: int = Field(3, ge=1, le=10, description="k key points per opinion")
    word_limit: int = Field(80, ge=20, description="words the opinion may use, in total or per key point "
                            "(word_limit_per)")
    word_limit_per: Literal["answer", "point"] = Field(
        "answer", description="point: word_limit for each key point (paper, Appendix C.2: 'three points, each "
        "constrained to a maximum of 250 words'); the prompt then asks for at most key_points × word_limit words")

    @property
    def total_words(self) -> int:
        """The words the opinion prompt allows in total."""
        return self.word_limit * (self.key_points if self.word_limit_per == "point" else 1)
    opinion_format: Literal["auto", "text", "json"] = Field(
        "auto", description="auto: JSON schema for embedded and mock models, free text for the rest"
    )
    max_parse_attempts: int = Field(3, ge=1, description="samples asked before an answer is a parse failure")
    opinion_rules: OpinionRules = Field(default_factory=OpinionRules)

    @property
    def format(self) -> Literal["text", "json"] | None:
        """The opinion format to ask for; None lets each model's provider decide (auto)."""
        return None if self.opinion_format == "auto" else self.opinion_format
    rating: Literal["trueskill", "openskill"] = "trueskill"
    win_probability: Literal["standard", "paper"] = Field(
        "standard", description="the score's P(i beats j): standard TrueSkill, Φ((μ_i − μ_j) / sqrt(2β² + σ_i² + "
        "σ_j²)); or paper: Appendix C.8 as printed, Φ((μ_i − μ_j) / sqrt(2(γ² + σ_i² + σ_j²))), γ the rating's "
        "dynamics factor (Herbrich et al.'s γ, trueskill's tau)")
    threshold: float = Field(0.5, gt=0, lt=1, description="a soft label at or above this counts as expressed")
    merge: Literal["or", "noisy-or"] = Field(
        "or", description="how an answer's opinions' labels merge into its value vector (unit: opinion): or, the "
        "paper's (§3.3): each opinion's P(yes) thresholded, then OR-ed; noisy-or: 1 − Π(1 − p), a probability. S "
        "always uses noisy-or, which it needs, and records so")
    bootstrap: int = Field(200, ge=0, description="resamples of the questions for confidence intervals")
    max_cost: float | None = Field(None, gt=0, description="USD (from `prices:`): start no more units once this run "
                                   "(evaluate, compare or prime) has spent it; --resume with a higher cap continues")
    confidence: float = Field(0.95, gt=0, lt=1)
    calibration: str | None = Field("auto", description="auto: the calibration adaem ships for this judge, theory, "
                                    "protocol, prompt and kind of text (whole answers under unit: answer, single "
                                    "opinions and questions otherwise), if any (the embedded judge's, learned by "
                                    "`adaem judge-check` on the shipped labelled sets); none: the judge's raw P(yes); or a "
                                    "calibration file a judge-check wrote for this judge, theory and protocol")
    judge_check: str | None = Field(None, description="an `adaem judge-check` run of this judge: its held-out figures "
                                    "are shown beside the profiles (default: those the calibration file carries)")
    languages: list[str] = Field(default_factory=lambda: ["en"], description="ISO 639-1 codes: every question is "
                                 "put to every target in each, with the opinion prompt in that language (English "
                                 "instructions plus 'answer in <language>' where adaem has no template); the first "
                                 "is the language of scores.csv, every one has its rows in scores_by_language.csv")
    judge_definitions: Literal["english", "language"] = Field(
        "english", description="the judge sees the value definitions in English (its instructions always are), or "
        "translated into the answer's language by roles.translator")
    min_back_translation: float = Field(0.8, ge=-1, le=1, description="a machine translation is kept when its "
                                        "translation back into English has at least this similarity to the "
                                        "original (all-MiniLM-L6-v2 cosine); below, it is flagged")
    use_flagged_translations: bool = Field(False, description="ask flagged translations anyway (else those "
                                           "(question, language) pairs are left out and listed)")

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        from .languages import check_language

        codes = [check_language(v) for v in value]
        if not codes:
            raise ValueError("name at least one language")
        if len(set(codes)) != len(codes):
            raise ValueError("a language is listed twice")
        return codes


class Selection(BaseModel):
    """The benchmark is the high-scoring questions (§3.2: "high-score (S) questions form a value assessment
    benchmark"): the accepted questions with the top fraction of P2 scores, or those at or above a minimum score,
    over the whole run or within each arm. The paper gives no threshold. Default: the top 80% per run, so the
    questions on which the scorers diverged least are dropped while a small run keeps most of its output (S's scale
    depends on the pool and judge, so a fixed minimum would be arbitrary)."""

    model_config = ConfigDict(extra="forbid")

    top: float | None = Field(0.8, gt=0, le=1, description="keep this fraction of the questions, best P2 scores "
                              "first (at least one)")
    min_score: float | None = Field(None, description="keep the questions whose P2 score is at least this")
    per: Literal["run", "arm"] = Field("run", description="rank over the whole run, or within each arm (topic)")

    @model_validator(mode="after")
    def _one_rule(self) -> Selection:
        if self.min_score is not None and "top" not in self.model_fields_set:
            self.top = None
        if (self.top is None) == (self.min_score is None):
            raise ValueError("give one rule: top (a fraction) or min_score")
        return self

    def describe(self) -> str:
        rule = f"top {self.top:.0%} by P2 score" if self.top is not None else f"P2 score ≥ {self.min_score:g}"
        return rule + (" within each arm" if self.per == "arm" else "")


class Generation(BaseModel):
    """The search for informative questions (SPEC §6). Paper defaults in the descriptions; the defaults here
    are sized for the embedded models on 2 cores (a run of about ten minutes)."""

    model_config = ConfigDict(extra="forbid")

    seeds: Path | None = Field(None, description="seed file (JSONL/CSV/parquet); default: the 308 shipped topics")
    arms: int | None = Field(3, ge=1, description="seed topics used as arms, spread over the categories; "
                             "None: every seed (paper: ~1,500)")
    budget: int = Field(3, ge=1, description="pulls B (paper: 1,500)")
    max_calls: int | None = Field(None, ge=1, description="also stop after this many model calls")
    max_tokens: int | None = Field(None, ge=1, description="also stop after this many tokens")
    max_cost: float | None = Field(None, gt=0, description="also stop after this many USD (from `prices:`); pulls "
                                   "already running finish")
    width: int = Field(1, ge=1, description="questions per pull, N2 (paper: 3)")
    depth: int = Field(1, ge=0, description="refinement steps at most (paper: 3)")
    tau: float = Field(0.5, description="keep refining while the score gains more than this")
    exploration: float = Field(1.0, ge=0, description="UCB exploration constant c")
    n_shot: int = Field(5, ge=0, description="top-scored earlier questions shown to the generator")
    epsilon: float = Field(0.85, gt=0, le=1, description="reject a question whose top-3 mean similarity exceeds this")
    question_words: int = Field(20, ge=5, description="the length the generators are asked for (paper, Listing 6: "
                                "less than 20 words)")
    max_words: int = Field(30, ge=5, description="reject generated questions longer than this: above question_words, "
                           "since models miscount words and a 22-word question is better kept than a pull lost; "
                           "set it equal to question_words to enforce the asked length")
    weights: dict[str, float] = Field(
        default_factory=lambda: dict.fromkeys(COMPONENTS, 1.0),
        description="weights of S's components; conformity is measured only with evaluation.unit=opinion",
    )
    coherence: Literal["embedding", "likelihood"] = Field(
        "embedding", description="semantic coherence as the mean similarity of each opinion point to the question "
        "(any backend), or as each respondent's per-token likelihood of its points (backends with log-probabilities)",
    )
    safety_format: Literal["auto", "yes-no", "llama-guard"] = Field(
        "auto", description="how the safety filter is asked: yes-no (our prompt), llama-guard (the question as "
        "the user turn, the answer as the assistant turn; the model's template asks); auto: llama-guard when the "
        "filter's name contains 'guard'",
    )
    screen_answers: bool = Field(False, description="also screen the respondents' answers with the safety filter")
    arm_selection: Literal["ucb", "random"] = "ucb"
    arm_init: Literal["seed-pull", "unpulled-first"] = Field(
        "seed-pull", description="seed-pull: every arm starts with one rewarded pull, its seed question scored by "
        "the scorers (adaem's reading: UCB informative from the start); unpulled-first: Algorithm 2 as printed, "
        "C = 0 and Q = 0 for every arm and each unpulled arm pulled once before UCB (the seeds are still scored, "
        "as the algorithm's input S_i, for the generators' examples)")
    ucb_horizon: Literal["pulls", "budget"] = Field(
        "pulls", description="UCB's exploration bonus c·sqrt(2 ln n / C_i) with n the pulls so far (classic UCB1) or "
        "the budget B (Algorithm 1 of the paper)")
    conformity: Literal["max-point", "joint-log"] = Field(
        "max-point", description="eq1's value conformity: max-point, per key point max_v P(v | point), averaged "
        "(adaem's reading of Eq. 2, in [0, 1]); joint-log, Appendix I's exact term log Π_j p(v_j | y) per answer "
        "(the sum of log P(yes) over every value, clipped at log 1e-6), averaged over models")
    objective: Literal["eq1", "c3"] = Field(
        "eq1", description="eq1: S = Eq. 1 with Eq. 2's terms, weighted by `weights` (README, 'S, term by term'); "
        "c3: Appendix C.3's approximate score R_VC + R_VD + R_OD − ½ R_Dis on binary label sets, to reproduce the "
        "authors' numbers")
    opinion_samples: int = Field(1, ge=1, le=16, description="the E-step's N: answers sampled per model and "
                                 "question, the one with the highest Eq. 2 score given the other models' kept "
                                 "(paper: 1); all are recorded")
    select: Selection = Field(default_factory=lambda: Selection(), description="which accepted questions form "
                              "benchmark.jsonl (all stay in outputs/benchmark.jsonl); `adaem select` re-selects")
    local_language: bool = Field(False, description="also put each accepted question about a place into that place's "
                                 "main language (roles.translator, back-translation checked) and score it there with "
                                 "the scorers: question_<lang> and p2_score_local in benchmark.jsonl")
    parallel_pulls: int | None = Field(
        None, ge=1, description="pulls in flight at once (UCB counts them as visits); None: 1 when a role is an "
        "embedded model (they share the CPU), else half the smallest concurrency limit of the roles, at most 32, or a "
        "quarter of the judge's, at most 64, when that is more",
    )
    generator_temperature: float | None = Field(
        None, ge=0, le=2, description="generators' sampling temperature; None: sampling.temperature. Lets greedy "
        "respondents (sampling.temperature=0, a deterministic S) meet generators that still vary their questions",
    )

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, value: dict[str, float]) -> dict[str, float]:
        known = set(COMPONENTS)
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown components {sorted(unknown)}: use {sorted(known)}")
        return value


class ModelInfo(BaseModel):
    """Facts about a model, for the report and as grouping keys of `adaem findings` (families share value
    orientations? reasoning vs chat? size trends?). Every field is optional; the embedded models' family and
    vendor are known without this."""

    model_config = ConfigDict(extra="forbid")

    family: str | None = Field(None, description="model series, e.g. qwen2.5, llama-3, gpt-4")
    size_b: float | None = Field(None, gt=0, description="parameters, in billions")
    kind: Literal["chat", "reasoning"] | None = None
    vendor: str | None = None
    region: str | None = Field(None, description="where it was made, e.g. US, China, France")
    release: str | None = Field(None, description="release date, e.g. 2024-05 (newer vs older models: `findings`)")
    generation: float | None = Field(None, description="how new the model is within its family, higher = newer "
                                     "(e.g. 3 for Llama-3, 3.1 for Llama-3.1); used instead of release when given")

    def facts(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Batch(BaseModel):
    """Batch mode (evaluate, compare, prime): each phase's calls go through the providers' batch APIs (half price on
    OpenAI's and Anthropic's), or out to files for any engine (vLLM's offline run_batch), and their results into the
    call cache, so the run then goes on exactly as with live calls."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["off", "api", "export"] = Field(
        "off", description="api: models whose endpoint has a batch API use it, the rest run live; export: write "
        "each phase's requests of OpenAI-compatible models to export_dir and stop")
    export_dir: Path | None = Field(None, description="where `export` writes <model>.input.jsonl files")
    import_dir: Path | None = Field(None, description="read every <model>.output.jsonl here into the call cache "
                                    "before the run (OpenAI batch output format, as vLLM's run_batch writes)")
    poll_seconds: float = Field(30.0, gt=0, description="seconds between status checks of a submitted batch")
    max_requests: int = Field(50_000, ge=1, description="requests per batch (OpenAI's limit: 50,000)")
    max_enqueued_tokens: dict[str, int] = Field(
        default_factory=dict, description="per model name: input tokens its batches may hold enqueued at once (the "
        "vendor's batch queue limit); a model not named here gets its vendor's documented figure for `tier` "
        "(OpenAI's gpt-4o-mini at tier 1: 2,000,000), or no limit. Chunks are submitted as earlier ones complete")
    tier: int = Field(1, ge=1, le=5, description="the OpenAI usage tier whose documented batch queue limits are "
                      "the defaults of max_enqueued_tokens (a higher tier's unknown figure falls back to a lower one)")
    poll_outage: float = Field(1800.0, gt=0, description="seconds the batch API may stay unreachable (polling and "
                               "submitting retry with backoff) before the run pauses; --resume re-attaches")

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        """YAML reads a bare `off` (in a file or `--set batch.mode=off`) as false."""
        return "off" if value is False else value

    @model_validator(mode="after")
    def _export_needs_dir(self) -> Batch:
        if self.mode == "export" and self.export_dir is None:
            raise ValueError("batch.export_dir: batch.mode export needs a directory to write to")
        return self


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompts: Literal["adaem", "paper"] = Field(
        "adaem", description="the prompt set: adaem's templates, or the paper's as printed (Listings 3–8 and C.11's "
        "priming prompt: opinion, judge with judge_prompt listing-4, question exploration and refinement as "
        "two-turn conversations, priming); a step the paper gives no prompt for keeps adaem's")
    roles: Roles = Field(default_factory=Roles)
    endpoints: dict[str, Endpoint] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    model_limits: dict[str, Limits] = Field(default_factory=dict, description="per model name, overrides limits")
    prices: dict[str, Price] = Field(default_factory=dict, description="per model name")
    sampling: Sampling = Field(default_factory=Sampling)
    local: LocalSettings = Field(default_factory=LocalSettings)
    cache_path: Path | None = Field(None, description="shared call cache; default: cache.sqlite in the run dir")
    evaluation: Evaluation = Field(default_factory=Evaluation)
    generation: Generation = Field(default_factory=Generation)
    batch: Batch = Field(default_factory=Batch)
    model_info: dict[str, ModelInfo] = Field(default_factory=dict, description="per model name: family, size_b, "
                                             "kind (chat|reasoning), vendor, region, release, "
                                             "generation")

    @field_validator("endpoints")
    @classmethod
    def _no_reserved_endpoint(cls, value: dict[str, Endpoint]) -> dict[str, Endpoint]:
        for name in value:
            if name in (EMBEDDED_PROVIDER, MOCK_PROVIDER):
                raise ValueError(f"'{name}' is a built-in provider and cannot be an endpoint name")
        return value

    @model_validator(mode="after")
    def _check_model_names(self) -> RunConfig:
        known = self.provider_names()
        for field in ("explorers", "scorers", "generators", "targets"):
            for i, name in enumerate(getattr(self.roles, field)):
                check_model_name(name, known, f"roles.{field}.{i}")
        check_model_name(self.roles.judge, known, "roles.judge")
        if self.roles.safety_filter:
            check_model_name(self.roles.safety_filter, known, "roles.safety_filter")
        return self

    def provider_names(self) -> list[str]:
        return [EMBEDDED_PROVIDER, MOCK_PROVIDER, *sorted(set(PRESET_ENDPOINTS) | set(self.endpoints))]

    def has_endpoint(self, provider: str) -> bool:
        """Whether a provider is reached over HTTP (a preset or configured endpoint, with prices, batch APIs and
        reasoning settings) rather than run in this process (the embedded and mock models)."""
        return provider in self.endpoints or provider in PRESET_ENDPOINTS

    def endpoint(self, provider: str) -> Endpoint:
        if provider in self.endpoints:
            return self.endpoints[provider]
        return PRESET_ENDPOINTS[provider]

    def limits_for(self, model: str) -> Limits:
        return self.model_limits.get(model, self.limits)

    def facts(self, model: str) -> dict[str, Any]:
        """What is known about a model: `model_info`, over what the embedded catalogue says of local models."""
        from .models.embedded import catalogue_facts

        known = catalogue_facts(model)
        info = self.model_info.get(model)
        return {**known, **(info.facts() if info else {})}


def check_model_name(name: str, known_providers: list[str], field: str) -> None:
    provider, sep, model = name.partition("/")
    if not sep or not provider or not model:
        raise ValueError(f"{field}: '{name}' is not a model name of the form provider/model (e.g. openai/gpt-4o)")
    if provider not in known_providers:
        raise ValueError(
            f"{field}: unknown provider '{provider}' in '{name}': use one of {', '.join(known_providers)}, "
            f"or add it under `endpoints:` with its base_url"
        )


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if msg.startswith(("roles.", "endpoints")) or not loc:
            lines.append(msg)
        else:
            value = err.get("input")
            shown = f" (got {value!r})" if not isinstance(value, dict | list) and value is not None else ""
            lines.append(f"{loc}: {msg}{shown}")
    return "; ".join(lines)


def first_error(exc: Exception) -> str:
    """One line of a validation error: the field and what is wrong with it."""
    if isinstance(exc, ValidationError):
        return _format_validation_error(exc)
    return str(exc).splitlines()[0]


def parse_config(data: dict[str, Any], source: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"bad {source}: {_format_validation_error(exc)}") from None


def _parse_scalar(text: str) -> Any:
    """`--set` values are YAML scalars or flow lists: 3, 0.5, null, [a, b], a,b (comma list)."""
    value = yaml.safe_load(text) if text.strip() else ""
    if isinstance(value, str) and "," in value and not value.startswith(("http://", "https://")):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


ROLE_LISTS = ("explorers", "scorers", "generators", "targets")


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set one field of raw config data (before validation) by its dotted path, creating sections on the way: the
    one override path of the CLI's `--set` and the API's keyword settings. A single model given for a role list is
    that list of one."""
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{dotted}: '{key}' is not a section of the config")
        node = child
    node[last] = [value] if last in ROLE_LISTS and isinstance(value, str) else value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `--set dotted.path=value` overrides to raw config data (before validation)."""
    for item in overrides:
        path, eq, raw = item.partition("=")
        if not eq or not path.strip():
            raise ConfigError(f"--set expects field.path=value, got '{item}'")
        set_path(data, path.strip(), _parse_scalar(raw))
    return data


PRESETS = ("paper",)


def preset_text(name: str) -> str:
    """A preset's YAML, comments included (the paper's: Table 6, with its model pool as a commented example)."""
    from importlib import resources

    if name not in PRESETS:
        raise ConfigError(f"--preset: unknown preset '{name}': use one of {', '.join(PRESETS)}")
    return resources.files("adaem").joinpath(f"presets/{name}.yaml").read_text(encoding="utf-8")


def preset_data(name: str) -> dict[str, Any]:
    return yaml.safe_load(preset_text(name)) or {}


# What each section of a preset changes: the jobs that read it.
_USED_BY = {"prompts": "all", "generation": "generate", "evaluation": "generate (scoring), evaluate, compare, prime",
            "sampling": "all", "local": "embedded models", "roles": "all"}
# Table 6 values that are built into adaem rather than settings (the paper's name, value, source, where).
PAPER_FIXED = [("topk_similar", "3", "Table 6: topk_similar = 3, \"average topk similar questions for the questions "
                "deduplication\"", "generate (the near-duplicate gate: mean of the top-3 similarities)")]


def preset_sources(name: str) -> list[tuple[str, str, str, str]]:
    """(setting, value, source, used by) for every leaf setting of a preset, the source being its line's comment
    (the paper's preset names a section, listing, table or equation for each)."""
    rows: list[tuple[str, str, str, str]] = []
    path: list[tuple[int, str]] = []  # (indent, key) of the sections the current line sits in
    for line in preset_text(name).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        parts = re.split(r"\s+#\s+", line.strip(), maxsplit=1)
        body, comment = parts[0], parts[1] if len(parts) > 1 else ""
        key, _, value = body.partition(":")
        path = [(i, k) for i, k in path if i < indent]
        if not value.strip():  # a section
            path.append((indent, key.strip()))
            continue
        dotted = ".".join([k for _, k in path] + [key.strip()])
        rows.append((dotted, value.strip(), comment.strip(), _USED_BY.get(dotted.split(".")[0], "all")))
    return rows


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, mapping by mapping (a config file changes single fields of a preset)."""
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(path: Path | None = None, overrides: list[str] | None = None, preset: str | None = None) -> RunConfig:
    """Preset (if any), then the YAML file over it, then `--set` overrides: one validated RunConfig."""
    data: dict[str, Any] = preset_data(preset) if preset else {}
    source = "config" if preset is None else f"preset {preset}"
    if path is not None:
        source = f"config {path}"
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise ConfigError(f"config file {path} is not valid YAML{where}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of fields, not {type(loaded).__name__}")
        data = _merge(data, loaded or {})
    return parse_config(apply_overrides(data, overrides or []), source)


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def annotated_config(config: RunConfig, reference: dict[str, Any], label: str = "paper") -> str:
    """The config as YAML with `# paper: X` beside every value that differs from the reference (a preset)."""
    lines: list[str] = []

    def walk(data: dict[str, Any], ref: Any, indent: str) -> None:
        for key, value in data.items():
            there = ref.get(key, _ABSENT) if isinstance(ref, dict) else _ABSENT
            if isinstance(value, dict) and value:
                lines.append(f"{indent}{key}:")
                walk(value, there, indent + "  ")
                continue
            line = f"{indent}{key}: {_scalar(value)}"
            if there is not _ABSENT and not isinstance(there, dict) and there != value:
                line += f"  # {label}: {_scalar(there)}"
            lines.append(line)

    walk(config.model_dump(mode="json"), reference, "")
    return "\n".join(lines) + "\n"


_ABSENT = object()
