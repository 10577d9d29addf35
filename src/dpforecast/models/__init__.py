"""Forecasters: (bi)recurrent networks and the persistence baseline."""
