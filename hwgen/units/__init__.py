"""Special-purpose units (stochastic computing, ...), one file per family."""
