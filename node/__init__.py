"""The node: all I/O lives here (HTTP API, mempool, block production, configuration)."""
