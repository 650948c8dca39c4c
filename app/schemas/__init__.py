"""API shapes (pydantic), one module per resource."""
