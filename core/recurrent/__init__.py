"""Gradients through time: one recurrent unit derived by SymPy, a matrix W_rec against Pascanu et al.'s
conditions, and nn.RNN against nn.LSTM trained on long-memory tasks."""
