"""Evaluator configuration: per-label TFMA metrics and blessing rules."""
