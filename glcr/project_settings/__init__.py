"""Project and instance settings glcr changes: what may be sent and what it means. Pure.

access: a project's `container_registry_access_level`; cleanup_limits: the instance settings that
bound registry cleanup. The calls themselves go through glcr.gitlab.rest (python-gitlab), from
glcr.api.admin and glcr.api.registry_access.
"""
