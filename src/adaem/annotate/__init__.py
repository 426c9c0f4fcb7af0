"""Human evaluation of generated questions (the paper's Appendix C.10): a blind rating study of question pairs,
a rating page for several raters at once, and the comparison with inter-rater agreement.

    study.py       the study directory: SQLite schema, create, ratings (every one its own commit)
    pairs.py       the two question sets and their pairing by topic
    metrics.py     what is rated: a scale and metrics as data (metrics.yaml: the paper's three)
    agreement.py   Cohen's κ (weighted), Fleiss' κ, Krippendorff's α, outlier raters (pure)
    comparison.py  set means with bootstrap CIs, relative gain, paired permutation test (pure)
    results.py     a study's results (`adaem annotate results`, `adaem.annotate_results`)
    ratings_csv.py export and import of ratings as CSV
    server.py      the rating and admin pages (aiohttp), assets/ their files
    cli.py         `adaem annotate create | serve | results | export | import`
"""
