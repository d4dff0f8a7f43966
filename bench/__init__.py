"""leadflow's benchmark: every hot path beside its physical floor (`make bench SCALE=...`)."""
