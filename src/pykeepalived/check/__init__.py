"""Health checking (pure): the policy that turns probe results into real-server and quorum states."""
