"""rackplan's HTTP service: FastAPI on top of the `solver` library (imports go app -> solver)."""
