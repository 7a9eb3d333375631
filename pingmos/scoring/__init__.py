"""Scoring models: map a hop's window of samples to an R factor and a MOS."""

from pingmos.scoring.score import Score, r_to_mos

__all__ = ["Score", "r_to_mos"]
