"""shadowit: find the workarounds staff build when IT support fails them."""

__version__ = "0.1.0"
