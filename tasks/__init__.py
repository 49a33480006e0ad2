"""Tasks: data generators, LightningModules and LightningDataModules; nothing here knows a model's insides."""
