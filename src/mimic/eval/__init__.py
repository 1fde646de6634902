"""Evaluation of trained policies: tracking metrics over deterministic test episodes."""
