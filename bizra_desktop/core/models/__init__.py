"""Model files: the GGUF header check and the store of installed tiers."""
