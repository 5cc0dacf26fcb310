"""The orders search of S-1…S-5, shared by every door (see `postsales.core.services.search`)."""
