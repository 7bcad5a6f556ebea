"""Forecasters: the Lightning networks and the naive baselines, behind one interface."""
