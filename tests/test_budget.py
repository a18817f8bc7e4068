"""Issue 16: one time budget every long action honours (each cut says what was done and how to go on), turns at
the server's cores taken in slices, first come first served, and memory counted before any work."""

from __future__ import annotations

import gc
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core import budget as budget_module
from core.app.limits import SERVER
from core.budget import Allowance, Budget, Cores, Deadline, MemoryPool
from core.training.config import ConfigError, TrainConfig
from core.training.trainer import Run
from tests.test_deep_links import open_with

SMALL = TrainConfig(depth=3, width=6, n_samples=64, batch_size=16)
ADVERSARIAL = TrainConfig(depth=50, width=256, n_samples=5000, batch_size=5000)  # the issue's link


@pytest.fixture
def busy_clock(monkeypatch):
    """Every reading of the clock is 1,000 s after the last: a very busy machine. Any deadline expires at once."""
    clock = iter(range(0, 10**9, 1_000))
    monkeypatch.setattr(budget_module.time, "monotonic", lambda: next(clock))


# ---------------------------------------------------------------- time


def test_a_comparison_stops_every_run_at_the_same_step_and_says_so(busy_clock):
    from core.training.remedies import compare

    outcomes = compare(SMALL, [("clip", ("clip_norm",)), ("He", ("he",))], 50, budget=Budget(seconds=60))
    steps = {o.run.steps_done for o in outcomes}
    assert len(steps) == 1 and 0 < steps.pop() < 50  # each run got its turn, all stopped at one step
    k = outcomes[0].run.steps_done
    assert all(o.cut == outcomes[0].cut for o in outcomes)
    assert f"Stopped after {k:,} of 50 steps per run" in outcomes[0].cut and "at most 60 s" in outcomes[0].cut
    assert compare(SMALL, [("clip", ("clip_norm",))], 20)[0].cut is None  # no budget: no hidden clock


def test_which_fix_works_says_where_the_time_limit_stopped_it(busy_clock):
    from core.training.remedies import rank_single_remedies

    base, rows = rank_single_remedies(SMALL, 40, budget=Budget(seconds=60))
    assert base.cut is not None and "of 40 steps per run" in base.cut
    assert {o.run.steps_done for o, _, _ in rows} | {base.run.steps_done} == {base.run.steps_done}


def test_the_butterfly_says_when_its_share_of_the_time_ran_out(busy_clock):
    from core.chaos.butterfly import butterfly

    first = butterfly(SMALL, 1e-8, 100, budget=Budget(seconds=60))
    assert first.cut is not None and "of 100 steps" in first.cut and len(first.loss_a) < 100
    assert butterfly(SMALL, 1e-8, 20).cut is None


def test_a_deadline_is_shared_fairly(monkeypatch):
    """Arithmetic on a hand-moved clock (no real time passes): a portion's end is part of what is left."""
    now = [0.0]
    monkeypatch.setattr(budget_module.time, "monotonic", lambda: now[0])
    limit = 60  # the request's limit, on the fake clock
    whole = Budget(seconds=limit).deadline()
    first = whole.portion(2)
    assert (first.end, first.seconds) == (limit / 2, limit)  # half of what is left; its messages name the whole limit
    now[0] = 10.0  # the first job finished early: the second gets everything that is left
    assert whole.portion(1).end == limit


def test_rnn_and_lstm_each_get_their_turn_and_report_their_own_steps(busy_clock):
    from core.recurrent.sequence import SeqConfig, SeqRun, train_together

    config = SeqConfig(seq_len=10, hidden=8, batch_size=8)
    rnn, lstm = SeqRun("rnn", config), SeqRun("lstm", config)
    cut = train_together((rnn, lstm), 200, budget=Budget(seconds=60))
    assert rnn.steps == lstm.steps >= 1  # the LSTM never starves behind the RNN
    assert f"the RNN {rnn.steps:,}, the LSTM {lstm.steps:,}" in cut and "train again to continue" in cut


def test_through_time_never_shows_the_loss_of_a_model_that_did_not_train(monkeypatch):
    import ui.through_time

    monkeypatch.setattr(ui.through_time, "SERVER", Budget(seconds=0))  # expires after the first round of steps
    at = open_with("pages/4_Through_time.py", tt_tab="③ RNN vs LSTM")
    next(b for b in at.button if b.label.startswith("Train")).click().run()
    metrics = {m.label: m.value for m in at.metric}
    runs = at.session_state["tt_runs"]
    assert runs[0].steps == runs[1].steps >= 1
    assert metrics["LSTM loss (recent mean)"] != "0"
    assert any("Stopped after" in w.value for w in at.warning)


def test_a_play_tick_takes_one_step_on_a_busy_machine_and_play_has_a_total(busy_clock):
    run = Run(SMALL)
    info = run.run(500, budget=SERVER, seconds=0.02)
    assert run.steps_done == 1 and info.cut_short is None  # a tick's end is not a cut
    play = Allowance(180)
    play.spend(100)
    assert not play.exhausted and play.left == 80
    play.spend(100)
    assert play.exhausted and play.left == 0


def test_a_ledger_replay_stops_says_how_far_it_got_and_continues_to_the_same_ledger(busy_clock):
    run = Run(SMALL)
    run.run(12)
    unlimited = Run(SMALL)
    unlimited.run(12)
    unlimited.retrack((1, 2, 3))
    cut = run.retrack((1, 2, 3), Budget(seconds=60))
    assert cut is not None and "replayed for steps 1–1 of 12" in cut and "Continue the replay" in cut
    assert run.ledger_known(1) and not run.ledger_known(2) and run.ledger_replayed == 1
    run.run(2)  # training goes on while the replay is unfinished: new steps follow the new weight
    assert run.ledger_known(14)
    while run.ledger_replayed is not None:
        run.continue_retrack(Budget(seconds=60))
    tracked = run.history.arrays()["tracked"]
    np.testing.assert_array_equal(tracked[:12], unlimited.history.arrays()["tracked"])
    assert np.isfinite(tracked).all()


def test_a_linked_replay_with_hand_set_weights_resumes_where_the_limit_stopped_it(busy_clock):
    from core.training.trainer import parse_edits

    edits = parse_edits("0:1.1.1=2.0;5:2.1.1=-1.0")
    direct = Run(SMALL)
    direct.replay(edits, 10)
    run = Run(SMALL)
    limited = Budget(seconds=60)  # busy_clock jumps 1,000 s a reading: the limit is spent after one step, always
    assert "Stopped after 1 of 10 steps" in run.replay(edits, 10, limited)
    while run.replay(edits, 10, limited) is not None:
        pass
    assert run.steps_done == 10 and run.edits == direct.edits
    np.testing.assert_array_equal(run.history.arrays()["loss"], direct.history.arrays()["loss"])


# ---------------------------------------------------------------- turns at the cores


def test_a_short_job_gets_a_turn_while_a_long_one_is_still_running():
    cores = Cores(slots=1, slice_seconds=0.01)
    started, done, seen = threading.Event(), [0], []

    def long_job() -> None:
        with cores.turns() as turn:
            for _ in range(400):
                turn()
                started.set()
                time.sleep(0.002)
                done[0] += 1

    worker = threading.Thread(target=long_job)
    worker.start()
    started.wait()
    with cores.turns() as turn:
        turn()
        seen.append(done[0])
        with cores.turns() as nested:  # a replay inside a run does not queue behind itself
            nested()
    worker.join()
    assert seen[0] < 400 and done[0] == 400  # the short job ran before the long one had finished


# ---------------------------------------------------------------- memory


def test_the_issues_link_is_refused_before_any_work_with_what_to_lower():
    run = Run(ADVERSARIAL)
    for attempt in (lambda: run.run(1, budget=SERVER), lambda: run.run(100, budget=SERVER),
                    lambda: run.run(10_000, budget=SERVER, seconds=0.02)):  # Step, Run, a Play tick
        with pytest.raises(ConfigError, match=r"lower the batch size from 5,000 to at most [\d,]+") as err:
            attempt()
    assert run.steps_done == 0
    suggested = int(str(err.value).split("at most ")[-1].rstrip(".").replace(",", ""))
    smaller = Run(ADVERSARIAL.with_(batch_size=suggested))
    smaller.check_budget(1, SERVER)  # the suggestion fits
    assert smaller.footprint(1).step <= SERVER.request_bytes < Run(ADVERSARIAL.with_(batch_size=suggested + 50)
                                                                  ).footprint(1).step


def test_a_session_keeping_too_much_is_told_how_many_steps_fit():
    config = TrainConfig(depth=50, width=256, n_samples=256, batch_size=16, optimizer="adam")
    run = Run(config)
    with pytest.raises(ConfigError, match=r"one session may keep .*train at most [\d,]+ steps"):
        run.run(10_000, budget=Budget(session_bytes=140 * 10**6))


def test_a_run_releases_its_scratch_between_requests():
    run = Run(TrainConfig(depth=4, width=32, n_samples=512, batch_size=512))
    run.run(3)
    assert run.recorder._scratch is None and run.recorder.last_tensors == ()  # no h_l, ∂L/∂h_l or step tensors
    grads = run.last_weight_grads  # the last step's ∂L/∂W_l are kept (one flat copy)
    assert [g.shape for g in grads] == [tuple(w.shape) for w in run.weights]
    np.testing.assert_array_equal(np.concatenate([g.ravel() for g in grads]),
                                  np.concatenate([w.grad.numpy().ravel() for w in run.weights]))
    run.run(2)
    assert run.steps_done == 5


def test_the_servers_pool_refuses_past_its_capacity_and_forgets_ended_sessions():
    mb = 10**6
    pool = MemoryPool(100 * mb)
    a, b = Run(SMALL), Run(SMALL)
    pool.claim(a, 60 * mb, "smaller")
    with pytest.raises(ConfigError, match="keeps 60 MB .*past the 100 MB"):
        pool.claim(b, 50 * mb, "smaller")
    pool.claim(a, 30 * mb, "smaller")  # an owner's new claim replaces its old one
    pool.claim(b, 50 * mb, "smaller")
    del a
    gc.collect()
    assert pool.held() == 50 * mb


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures the resident size through Linux's /proc")
@pytest.mark.parametrize("config", [
    {"depth": 20, "width": 256, "n_samples": 1000, "batch_size": 1000},
    {"depth": 10, "width": 128, "n_samples": 1000, "batch_size": 1000, "dtype": "float64", "residual": True,
     "layernorm": "pre", "optimizer": "adam"},
], ids=["plain-float32", "residual-layernorm-float64-adam"])
def test_the_memory_estimate_is_within_a_factor_of_two_of_what_a_process_really_uses(config):
    """A fresh Python trains the network; the growth of its resident size at the step's peak (VmHWM) and what it
    keeps after malloc_trim are compared with core.training.memory's estimate, made before any work."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_memory import measure

    m = measure(config, steps=3)
    assert 0.5 <= m["est_peak"] / m["peak"] <= 2.0, m
    assert 0.5 <= m["est_kept"] / m["kept"] <= 2.0, m
    assert m["peak"] > 2 * m["kept"]  # the batch's activations dominate the peak, and are not kept afterwards


def test_the_issues_link_is_refused_on_the_page_with_a_sentence():
    at = open_with("pages/2_Training_lab.py", lab_depth="50", lab_width="256", lab_n_samples="5000",
                   lab_batch_size="5000")
    next(b for b in at.button if b.label == "Step").click().run()
    assert not at.exception
    assert any("lower the batch size from 5,000 to at most" in w.value for w in at.warning)
    assert at.session_state["lab_run"].steps_done == 0


def test_play_stops_when_the_sessions_total_is_spent_and_says_so():
    at = open_with("pages/2_Training_lab.py", lab_depth="3", lab_width="6")
    at.session_state["lab_play_allowance"] = Allowance(0.001)  # what is left of this session's Play
    at.session_state["lab_playing"] = True
    at.run()  # one Play tick (AppTest never fires the timer: the run itself is the tick)
    assert not at.exception and at.session_state["lab_playing"] is False
    steps = at.session_state["lab_run"].steps_done
    assert steps >= 1 and any("Play stopped" in w.value and f"{steps:,} steps" in w.value for w in at.warning)


def test_the_ledgers_replay_is_bounded_on_the_page_and_continues_on_request(monkeypatch):
    import ui.lab

    at = open_with("pages/2_Training_lab.py", lab_depth="3", lab_width="6", lab_steps="10", lab_tab="Update ledger")
    monkeypatch.setattr(ui.lab, "SERVER", Budget(seconds=0))  # every replay stops after its first step
    at.number_input(key="lab_t_layer").set_value(2).run()
    run = at.session_state["lab_run"]
    assert run.track[0] == 1 and run.ledger_replayed == 1
    assert any("replayed for steps 1–1 of 10" in w.value for w in at.warning)
    assert any("not replayed yet" in i.value for i in at.info)  # the inspected step 10 has no ledger yet
    for _ in range(9):
        next(b for b in at.button if b.label == "Continue the replay").click().run()
    assert run.ledger_replayed is None and "W₂[1, 1] at step 10" in "\n".join(m.value for m in at.markdown)


def test_recurrent_nets_too_large_for_one_request_are_refused_with_the_batch_that_fits():
    from core.recurrent.sequence import SeqConfig, SeqConfigError, SeqRun, step_bytes, train_together

    config = SeqConfig(seq_len=200, hidden=128, batch_size=256)  # the largest the page allows: ≈ 0.6 GB a step
    runs = (SeqRun("rnn", config), SeqRun("lstm", config))
    with pytest.raises(SeqConfigError, match=r"lower the batch size from 256 to at most (\d+)") as err:
        train_together(runs, 1, budget=SERVER)
    assert runs[0].steps == runs[1].steps == 0
    fits = int(str(err.value).rsplit(" ", 1)[-1].rstrip("."))
    assert step_bytes("lstm", config.with_(batch_size=fits)) <= SERVER.request_bytes
    assert step_bytes("lstm", config.with_(batch_size=fits + 1)) > SERVER.request_bytes


def test_a_play_tick_counts_its_own_processor_time_not_its_wait_for_a_turn():
    """Thirty sessions playing at once wait for their turns; on the wall clock each tick would train one step and
    spend the rest drawing. The tick's deadline counts this thread's CPU time: waiting does not use it up, work does."""
    tick = Deadline(0.05, cpu=True)
    time.sleep(0.12)  # waiting (for the GIL, for a turn) costs this thread no processor time
    assert not tick.expired
    end = time.thread_time() + 0.06
    while time.thread_time() < end:
        pass
    assert tick.expired
    assert Deadline(0.01).clock is time.monotonic  # a request's own limit stays on the wall clock
