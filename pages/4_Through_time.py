"""Through time: recurrent nets, W_rec, and why LSTMs help — gradients through time, derived and measured."""

import streamlit as st

import through_time_ui as tt
import ui

ui.setup_page("Through time", ":material/history:")
st.title("Through time: W_rec, exploding RNNs, and why LSTMs help")
st.markdown("A recurrent net applies the same weights at every time step, so back-propagation through time "
            "multiplies by the recurrent weight W_rec once per step: the notes' exploding and vanishing gradients, "
            "with depth replaced by time.")
one, many, lstm = st.tabs(["① One recurrent unit", "② A matrix W_rec", "③ RNN vs LSTM"])
with one:
    tt.scalar_section()
with many:
    tt.matrix_section()
with lstm:
    tt.rnn_lstm_section()
