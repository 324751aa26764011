"""Corridor: a permissioned BFT chain for a consortium of stablecoin issuers.

This root package holds the small primitives every layer shares: the canonical encoding (`codec`), keys and
addresses (`keys`) and hashing (`hashing`). The layers are subpackages: `corridor.ledger`,
`corridor.consensus`, `corridor.node`, `corridor.cli` and `corridor.client`.
"""
