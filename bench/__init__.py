"""Speed and memory measurements; `make bench` runs them all and prints the tables."""
