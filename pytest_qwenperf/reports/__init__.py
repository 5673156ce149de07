"""Reports: the terminal summary, JSON (with its schema), JUnit, CSV and markdown.

Every report renders the same ``SessionSummary`` / ``LoadResult`` / ``Verdict`` objects;
nothing here computes a metric.
"""
