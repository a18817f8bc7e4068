"""Through time: recurrent nets, W_rec, and why LSTMs help — gradients through time, derived and measured."""

import ui
from core.app.page_views import TT_TABS
from ui import through_time as tt

ui.tabbed_page(
    "through_time", "Through time", ":material/history:",
    "Through time: W_rec, exploding RNNs, and why LSTMs help",
    "A recurrent net applies the same weights at every time step, so back-propagation through time multiplies by "
    "the recurrent weight W_rec once per step: the notes' exploding and vanishing gradients, with depth replaced "
    "by time.",
    [(TT_TABS[0], tt.scalar_section), (TT_TABS[1], tt.matrix_section),
     (TT_TABS[2], tt.rnn_lstm_section)],
    tab_key="tt_tab")
