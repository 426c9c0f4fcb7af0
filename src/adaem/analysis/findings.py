"""The paper's findings (SPEC §8) from per-answer value labels, each with a significance test: one import for
the pieces that live in their own modules.

- `cube`: the input. A tidy DataFrame with one row per (model, question, value): `model`, `question_id`, `value`
  and `expressed` (0/1 or P(expressed); NaN, or no row, when the judge gave no label), plus the question's
  `category`, `region` and `topic` where known (`tidy_labels` builds it from outputs/answers.jsonl records,
  `label_cube` turns it into the dense array every analysis works on; each analysis accepts either). Model
  metadata is a plain mapping model -> {family, size_b, kind, vendor, region, release, generation}; any key may
  be missing, and a model without the key an analysis needs is left out of that analysis.
- `resampling`: the shared statistics (topics as the resampling unit, bootstrap draws, cluster-robust SEs,
  permutations inside strata, p adjustment).
- `findings_models`: claims about kinds of model (families share profiles; reasoning vs chat; newer models and
  safety-related values; amplification with size) tested over models respecting families, and size trends of
  these models.
- `findings_questions`: claims about these models on different questions (shifts between categories, regional
  divergence) tested over topics, and the informativeness curve of a generate run.
- `claims`: how each result says its claim from adjusted p-values, and one correction over a whole report.

Shared conventions: a model's expression rate of a value is its mean label over the questions where that label
exists (a missing label is left out, never 0), `rating.score_table`'s rate on 0-1 instead of 0-100; every
result has `claim` (a sentence, set only when the test passes at `alpha` after the correction the result names)
and `not_shown` (why there is no claim: not significant, or not testable and why). Pictures are in
`findings_plots`, the `adaem findings` job in `findings_run`.
"""

from __future__ import annotations

from ..resampling import (
    CORRECTION_NAMES,
    Correction,
    adjust_pvalues,
    bootstrap_counts,
    cluster_counts,
    clusters_of,
    contrast_se,
    contrast_test,
    expression_rates,
)
from .claims import adjust_report
from .cube import ATTRIBUTES, LabelCube, Labels, label_cube, tidy_labels
from .family_tests import FamilyTest, family_test
from .findings_models import (
    GroupDifference,
    ModelTrend,
    ProfileSimilarity,
    SizeTrend,
    amplification,
    group_difference,
    profile_correlations,
    profile_similarity,
    release_year,
    safety_preference,
    size_trend,
)
from .findings_questions import (
    CategoryProfiles,
    PullCurve,
    RegionDivergence,
    category_profiles,
    informativeness_curve,
    pull_scores,
    region_divergence,
)

__all__ = [
    "ATTRIBUTES", "CORRECTION_NAMES", "CategoryProfiles", "Correction", "FamilyTest", "GroupDifference",
    "LabelCube", "Labels", "ModelTrend", "ProfileSimilarity", "PullCurve", "RegionDivergence", "SizeTrend",
    "adjust_pvalues", "adjust_report", "amplification", "bootstrap_counts", "category_profiles", "cluster_counts",
    "clusters_of", "contrast_se", "contrast_test", "expression_rates", "family_test", "group_difference",
    "informativeness_curve", "label_cube", "profile_correlations", "profile_similarity", "pull_scores",
    "region_divergence", "release_year", "safety_preference", "size_trend", "tidy_labels",
]
