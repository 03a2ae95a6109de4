"""The userspace data plane: a TCP or UDP proxy per virtual service that picks real servers with IPVS's
schedulers and keeps IPVS's persistence itself. It takes the same operations as the kernel data planes."""
