"""Service functions: what the routes call, one transaction each."""
