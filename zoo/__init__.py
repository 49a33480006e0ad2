"""mambazoo: Mamba variants from the survey's taxonomy, built on one selective-scan core."""
