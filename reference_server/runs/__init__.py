"""Runs: validation of run requests, their config, and the manager executing them."""
