"""A small fictional example directory (bot/demo/directory.csv) for the demo and the tests; no real people."""
