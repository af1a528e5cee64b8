"""Widgets grouped by feature: the runs table, plots, metric panels."""
