"""The ledger: transaction types, rules, blocks, state and its LevelDB store. Never imports consensus."""
