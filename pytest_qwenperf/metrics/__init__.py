"""Samples, load results, percentiles, rates and confidence intervals.

One definition of each metric lives here; every report renders these objects.
"""
