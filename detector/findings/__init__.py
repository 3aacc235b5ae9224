"""What a scan concludes: the finding kinds (one typed, frozen class each, by family) and the envelope `Finding[A]`."""
