"""Consensus: validator sets and commit certificates (the BFT core arrives with issue #4). Never imports ledger."""
