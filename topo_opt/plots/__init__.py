"""Matplotlib figures of command results (what-if sweeps); imported only when a plot is asked for."""
