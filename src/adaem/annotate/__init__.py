"""Human evaluation of generated questions (the paper's Appendix C.10): a blind rating study of question pairs,
a rating page for several raters at once, and the comparison with inter-rater agreement.

    study.py       the study directory: SQLite schema, create, ratings (every one its own commit), checks, time
    pairs.py       the two question sets and their pairing by topic
    metrics.py     the design as data: scale, metrics and examples, instructions, practice, attention checks
                   (metrics.yaml: the paper's)
    plan.py        the pre-registered analysis plan, frozen into a study at creation
    blinding.py    each rater's order from the study's secret, the two questions of a pair kept apart (pure)
    markdown.py    a design's Markdown as a tree of safe nodes for the page
    agreement.py   Cohen's κ (weighted) over shared items, Fleiss' κ, Krippendorff's α, outlier raters (pure)
    comparison.py  set means with bootstrap CIs, relative gain, paired permutation test (pure)
    results.py     a study's results (`adaem annotate results`, `adaem.annotate_results`)
    ratings_csv.py export and import of ratings as CSV
    server.py      the rating and admin pages (aiohttp), assets/ their files
    cli.py         `adaem annotate create | plan | serve | results | export | import`
"""
