"""Tamper-evident receipts for every inference."""
