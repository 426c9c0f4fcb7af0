"""The scale of TrueSkill scores (issue 33.5): what the same ratings give under each reading of the win probability,
on a pool and a benchmark the size of the paper's, beside the paper's own figures.

The paper (§4.2) quotes tradition scores of "98.8 vs. 49.06" for o3-mini and Llama-3.1-8B, and its Tables 10 and
12 print baseline scores from 40.96 to 99.64 (o3-mini) and 3.04 to 89.01 (GPT-5), on 16 models and 12,310
questions. C.8 prints P = Φ((μ_i − μ_j) / sqrt(2(γ² + σ_i² + σ_j²))) and gives no TrueSkill parameter; its text
says γ models "the expected variation in performance" (TrueSkill's β). Three readings:

- standard: TrueSkill's sqrt(2β² + σ_i² + σ_j²), adaem's default;
- paper, γ = τ = 25/300 (adaem's `win_probability: paper`, Herbrich et al.'s γ is the dynamics factor);
- paper, γ = β = 25/6 (the text's meaning of γ): sqrt(2β² + 2σ_i² + 2σ_j²).

Simulated pool: 16 models whose expression of one value differs by model (logit sd `--model-sd`) on questions
that differ too (logit sd `--question-sd`, shared by the models), rated by adaem's two-team TrueSkill updates
(`rating.rate_resamples`), then scored under each reading. Prints each reading's score range, spread and the
score of the model nearest each quoted expression rate. No model is called.

    .venv/bin/python benchmarks/bench_win_scale.py [--questions 200,1000,12310] [--models 16] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from adaem.rating import BETA, TAU, rate_resamples, scores_from_moments


def simulate(models: int, questions: int, model_sd: float, question_sd: float, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """(questions × models × 1 booleans of expression, each model's expected rate)."""
    offset = rng.normal(0, model_sd, models)
    logit = offset[None, :] + rng.normal(0, question_sd, (questions, 1))
    expressed = rng.random((questions, models)) < 1 / (1 + np.exp(-logit))
    return expressed[:, :, None], (1 / (1 + np.exp(-logit))).mean(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default="200,1000,12310")
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--model-sd", type=float, default=1.0, help="logit sd of the models' expression")
    parser.add_argument("--question-sd", type=float, default=1.5, help="logit sd of the questions' pull")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    readings = {"standard (β)": ("standard", TAU), "paper, γ = τ = 25/300": ("paper", TAU),
                "paper, γ = β = 25/6": ("paper", BETA)}
    print(f"{args.models} models, model logit sd {args.model_sd}, question logit sd {args.question_sd}; scores of "
          "one value (mean win probability × 100)")
    print(f"{'questions':>9} {'reading':<24} {'min':>6} {'max':>6} {'sd':>6} {'σ after':>8}  scores by expression rate")
    for n in [int(x) for x in args.questions.split(",")]:
        expressed, rates = simulate(args.models, n, args.model_sd, args.question_sd, np.random.default_rng(args.seed))
        present = np.ones_like(expressed)
        mu, var = rate_resamples(expressed, present, np.arange(n)[None])
        order = np.argsort(rates)
        for name, (form, gamma) in readings.items():
            scores = scores_from_moments(mu, var, BETA, form, gamma)[0, 0]  # type: ignore[arg-type]
            shown = ", ".join(f"{rates[i]:.2f}→{scores[i]:.1f}" for i in order[:: max(1, len(order) // 5)])
            print(f"{n:>9} {name:<24} {scores.min():>6.1f} {scores.max():>6.1f} {scores.std():>6.1f} "
                  f"{np.sqrt(var).mean():>8.2f}  {shown}")
    print("paper: o3-mini 40.96–99.64 (Table 10 baselines), GPT-5 3.04–89.01 (Table 12), tradition 98.8 vs 49.06 (§4.2)")
    print(f"\nlargest |paper − standard| over the {args.models} models, 5 seeds each (score points, γ = 25/300 | γ = β):")
    for model_sd in (0.3, 0.6, 1.0):
        for n in [int(x) for x in args.questions.split(",")]:
            worst = np.zeros(2)
            for seed in range(5):
                expressed, _ = simulate(args.models, n, model_sd, args.question_sd, np.random.default_rng(seed))
                mu, var = rate_resamples(expressed, np.ones_like(expressed), np.arange(n)[None])
                standard = scores_from_moments(mu, var, BETA, "standard")
                for k, gamma in enumerate((TAU, BETA)):
                    worst[k] = max(worst[k], float(np.abs(scores_from_moments(mu, var, BETA, "paper", gamma)
                                                          - standard).max()))
            print(f"  model logit sd {model_sd}, {n:>6} questions: {worst[0]:5.1f} | {worst[1]:5.1f}")


if __name__ == "__main__":
    main()
