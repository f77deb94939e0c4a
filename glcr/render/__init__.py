"""Presentation: rich tables, JSON and plain output. The only place that formats for people."""
