"""The hand-off monitor: the score log joined with feedback (summary, sources, page)."""
