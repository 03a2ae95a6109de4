"""Load-balancer tables (pure): what the data plane should hold, and the operations to get it there."""
