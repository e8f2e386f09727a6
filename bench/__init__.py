"""Performance benchmarks, run by `make bench` (`python -m bench`); each module has run() and report()."""
