"""The Through time page through AppTest: the three sections, their key numbers, training, bad input."""

from tests.test_lab_page import all_text, button, metric, opened

PAGE = "pages/4_Through_time.py"


def page():
    return opened(PAGE)


def test_scalar_unit_shows_the_notes_rule_failing_for_tanh_and_holding_for_linear():
    at = page()
    assert metric(at, "the notes' rule") == "6.38 × 10⁸"  # 1.5⁵⁰
    assert "the gradient vanishes" in all_text(at)
    assert any("prod_{t=1}^{T} w_{rec}" in x.value for x in at.latex)
    next(s for s in at.selectbox if s.label == "activation f").set_value("linear").run()
    assert not at.exception
    assert metric(at, "∂h_T/∂h_0, measured") == metric(at, "the notes' rule") == "6.38 × 10⁸"
    assert "the gradient vanishes" not in all_text(at)


def test_matrix_section_states_the_pascanu_condition():
    at = page()
    assert "necessary condition for exploding" in all_text(at)
    next(s for s in at.slider if s.label == "scale").set_value(0.4).run()
    assert not at.exception
    assert "sufficient condition for vanishing holds" in all_text(at)
    assert float(metric(at, "largest singular value")) < 1


def test_rnn_and_lstm_train_through_the_buttons():
    at = page()
    assert "Press **Step** or **Train**" in all_text(at)
    next(s for s in at.slider if s.label == "sequence length").set_value(10).run()
    at.number_input(key="tt_n_steps").set_value(20).run()
    button(at, "Train 20 steps").click().run()
    assert not at.exception
    assert metric(at, "training steps") == "20"
    assert "constant error carousel" in all_text(at)
    button(at, "Step").click().run()
    assert metric(at, "training steps") == "21"
    at.toggle(key="tt_clip_on").set_value(True).run()  # settings changed: both start again
    button(at, "Step").click().run()
    assert not at.exception
    assert metric(at, "training steps") == "1"
    assert "shared with the Remedies page" in all_text(at)
    button(at, "Reset").click().run()
    assert "Press **Step** or **Train**" in all_text(at)
