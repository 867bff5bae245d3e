"""The quality benchmark: the FORMAT.md protocol, its metrics and the peers' baselines."""
