"""glcr: operate a GitLab Container Registry from the command line."""

# The one place the version lives; pyproject.toml reads it from here.
__version__ = "0.1.0"
