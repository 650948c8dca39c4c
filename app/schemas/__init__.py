"""API shapes (pydantic), one module per resource."""

MAX_BATCH = 50_000  # items in one POST /orders or POST /events batch (checked before the items)
MAX_PLAN_ORDERS = 500_000  # order ids one solve request may name
