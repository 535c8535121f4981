"""Summarise stage (per-article and per-event French summaries)."""
