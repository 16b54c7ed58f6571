"""The receipt browser: the chain's receipts in a lazily paged table, their verification,
exports and the impact accumulator."""
