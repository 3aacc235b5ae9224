"""Coverage-guided fuzzing of every shadowit entry point (atheris); see fuzz/README.md."""
