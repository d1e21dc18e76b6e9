"""lahan: make transformer text classifiers for low-resource languages small and fast."""

__version__ = "0.1.0"
