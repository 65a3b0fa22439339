"""The demo: a realistic week of inbound replayed through every layer.

``week`` builds the arrivals (who, when, through which channel) from the
real lead data set when it is present and from seeded fixtures otherwise;
``replay`` pushes them through capture, respond and qualify on a virtual
clock; ``report`` turns the store into the figures the demo prints.
The demo is an entry point like the CLI: it may import every layer.
"""
