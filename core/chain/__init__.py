"""The chain rule: activations and their derivative bounds, chains of local factors (exact), the update ledger,
the check against torch autograd, and the chain drawn as a diagram."""
