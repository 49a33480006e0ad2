"""Benchmarks of the scan core and of decoding, and the GPU check that runs them on a device."""
