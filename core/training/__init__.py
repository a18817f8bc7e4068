"""Training a real torch MLP step by step: config, data, network, trainer and recorder, the diagnosis, the
one-click scenarios, and the remedies (clipping, regularisation, normalisation, initialisation, …)."""
