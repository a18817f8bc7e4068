"""Through time: recurrent nets, W_rec, and why LSTMs help — gradients through time, derived and measured."""

import ui
from ui import through_time as tt

ui.tabbed_page(
    "through_time", "Through time", ":material/history:",
    "Through time: W_rec, exploding RNNs, and why LSTMs help",
    "A recurrent net applies the same weights at every time step, so back-propagation through time multiplies by "
    "the recurrent weight W_rec once per step: the notes' exploding and vanishing gradients, with depth replaced "
    "by time.",
    [("① One recurrent unit", tt.scalar_section), ("② A matrix W_rec", tt.matrix_section),
     ("③ RNN vs LSTM", tt.rnn_lstm_section)])
