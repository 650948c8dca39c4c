"""The searches that improve a schedule, each a phase of the solve's plan (`plan`)."""
