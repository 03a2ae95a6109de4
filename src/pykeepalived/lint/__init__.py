"""`pykeepalivedctl lint`: a cluster's node configurations checked against each other, and run through the
scenarios that matter on a simulated LAN with the engines the VRRP process runs."""
