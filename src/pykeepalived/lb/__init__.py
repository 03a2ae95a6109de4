"""Load-balancer tables (pure): what the data plane should hold, and the operations to get it there."""

# --dataplane: "auto" is IPVS if the kernel has it, else nftables where it works, else the proxy; "memory" only
# keeps the table. Here, not in dataplane.py: `-t` names them without importing the tables.
DATAPLANES = ("auto", "ipvs", "nftables", "proxy", "memory")
