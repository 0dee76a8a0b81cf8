"""CATS Companion: a local-first bridge between a recruiter's browser and the CATS ATS."""

__version__ = "0.1.0"
