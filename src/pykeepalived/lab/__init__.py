"""Namespace labs for demos, tests and benches: hosts on a bridge (netns), a client watching a VIP (prober),
and a hostile host (attacker). Nothing here is part of the daemon; the commands in cli/ use it for the demo."""
