"""The paper's analyses (SPEC §8): benchmark statistics, informativeness comparison, reliability, value priming.

Each analysis is a Python function returning DataFrames and writing its tables and PNG figures to a directory;
the `adaem stats | compare | reliability | prime` commands are thin wrappers around them.
"""
