"""`glcr doctor`: checks that say what is wrong and how to fix it.

model (pure): the typed results; names, clock, token (pure): rules that turn observations into
results; checks: the live probes against GitLab and the registry.
"""
