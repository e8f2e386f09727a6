"""A small fictional example directory (bot/people/demo/directory.csv) for the demo and the tests; no real people."""
