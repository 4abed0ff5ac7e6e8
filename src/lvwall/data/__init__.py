"""Datasets: HMC-QU, CAMUS, the synthetic A4C phantom, and what they share."""
