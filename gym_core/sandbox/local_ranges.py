"""The IPv4 ranges an egress sandbox never reaches, beyond the host's own subnets.

Shared by the egress firewall (:mod:`gym_core.sandbox.docker_network`) and the filtering proxy of tasks with
``blocked_urls`` (:mod:`gym_core.sandbox.egress_proxy`), so both refuse the same destinations.
"""

from __future__ import annotations

#: Destinations an egress sandbox never reaches, beyond the host's own subnets.
BLOCKED_RANGES: tuple[str, ...] = (
    "0.0.0.0/8",  # "this" network
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # shared (carrier-grade NAT)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
    "172.16.0.0/12",  # private (Docker's own networks too)
    "192.0.0.0/24",  # IETF protocol assignments
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, broadcast
)
