"""Collects the examples of README.md and docs/ as tests (tests/docs_examples.py says how they run)."""

from tests.docs_examples import DOCUMENTED

pytest_collect_file = DOCUMENTED.pytest()
