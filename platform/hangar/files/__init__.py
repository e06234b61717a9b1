"""Files (protocol reference §11): uploads streamed to a storage backend, downloads, limits, usage."""
