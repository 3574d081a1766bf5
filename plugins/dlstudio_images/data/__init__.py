"""Image sources: each module turns its parameters into a :class:`~dlstudio.contract.DataBundle`."""
