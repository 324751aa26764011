"""Clients of a node's HTTP API."""
