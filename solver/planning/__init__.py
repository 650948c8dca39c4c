"""The planning layer: an aggregate capacity model of the factory network (PuLP, HiGHS).

`planning_bound` proves a lower bound on weighted tardiness from the model's linear
relaxation (the argument is in `solver.planning.model`); `energetic_bound` proves one from
which orders must wait when several compete for a pool of resources or power (the
argument is in `solver.planning.energetic`); `allocate` solves the model's integer
version: each order's racks per site and bucket.
"""

from solver.planning.allocate import Allocation, SitePlan, allocate
from solver.planning.bound import Bound, planning_bound
from solver.planning.energetic import EnergeticBound, energetic_bound
from solver.planning.grid import Grid, bucket_minutes
from solver.planning.section6 import PowerWindow, Section6, read_section6, section6_of

__all__ = [
    "Allocation",
    "Bound",
    "EnergeticBound",
    "Grid",
    "PowerWindow",
    "Section6",
    "SitePlan",
    "allocate",
    "bucket_minutes",
    "energetic_bound",
    "planning_bound",
    "read_section6",
    "section6_of",
]
