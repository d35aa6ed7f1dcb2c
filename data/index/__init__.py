"""The enterprise safety index: computed and stored (``safety_index``, weights in ``safety_index.toml``), the
review's views of it (``index_views``, ``index_exports``) and the background jobs that keep it fresh (``jobs``)."""
