"""Exports the secretary hands on: the monthly attendance workbook (more with each topic)."""
