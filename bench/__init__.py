"""Benchmarks: the load benchmark (`make bench`) and smaller timing scripts such as bench.posters."""
