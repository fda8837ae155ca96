"""Hostile peers: a scripted evil server (and client) speaking raw bytes, and tests against them."""
