"""The doors onto the core: the web app, the CLI and the message consumers."""

# The product's version (pyproject.toml reads it from here). Kept in this light module so that
# `postsales --version` need not import importlib.metadata (50 ms of a 140 ms start).
__version__ = "0.1.0"
