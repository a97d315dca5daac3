"""Studies: regimes run side by side over the same kind of synthetic population, with seeds
and sweeps, and a report people can read."""
