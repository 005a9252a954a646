"""The reliability suite: faults, bad input and concurrency, as the scheduler runs the jobs."""
