"""HTTP routes: one thin module per resource."""
