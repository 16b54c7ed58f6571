"""The model manager window: the tiers' models, their downloads, imports and remote tiers."""
