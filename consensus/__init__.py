"""Consensus: the sans-IO Tendermint core, messages, validator sets, commit certificates, the safety guard
and evidence. Never imports ledger."""
