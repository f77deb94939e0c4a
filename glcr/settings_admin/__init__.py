"""Project and instance settings glcr changes through python-gitlab.

cleanup_limits and access (pure): what may be sent and what it means; gl: the python-gitlab
adapter (connection from glcr's Credentials, exceptions translated to glcr's error kinds).
"""
