"""`adaem generate`: seeds, the bandit over topics, question search and refinement, de-duplication."""
