"""Packaged data (reference sets, device specs, model catalogue, evaluation text). Not code."""
