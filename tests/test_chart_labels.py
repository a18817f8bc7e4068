"""Log axes and legends read as a person writes numbers: 10ᵏ at whole powers, the value itself between them,
m × 10ⁿ far from 1 — never 3e+19 — checked on the SVG that Vega itself draws."""

import json
import math
import re

import numpy as np
import pytest

from core.charts import training as tc
from core.charts.style import MARK_CONTRAST, ON_MAP, STYLES, TEXT_CONTRAST, contrast, ramp_samples, themed
from core.charts.template import Filled, power_of_ten


def drawn_text(chart) -> list[str]:
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_dict())
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]


def test_whole_powers_read_as_ten_to_the_k():
    texts = drawn_text(tc.loss_chart(np.logspace(3, -2, 30), None, 10))
    assert {power_of_ten(k) for k in (-2, 0, 3)} <= set(texts), texts
    assert not [t for t in texts if re.search(r"\de[+-]?\d", t)], texts


def test_a_narrow_axis_and_a_legend_end_read_as_values_not_e_notation():
    texts = drawn_text(tc.loss_chart(np.linspace(0.7, 0.5, 30), None, 10))
    assert any(re.fullmatch(r"0\.\d+", t) for t in texts), texts
    values = np.full((20, 3), 2.0)
    values[0, 0] = 3e19
    texts = drawn_text(tc.heatmap(values, "‖∂L/∂W_l‖", 5))
    # the heat map's colours are anchored: 1 in the middle, the same ends in every run
    d = power_of_ten(tc.HEAT_DECADES)
    assert {"1", "≥ " + d, "≤ " + power_of_ten(-tc.HEAT_DECADES)} <= set(texts), texts
    assert not [t for t in texts if re.search(r"\de[+-]?\d", t)], texts


def test_exponents_with_repeated_digits_are_superscript_throughout():
    texts = drawn_text(tc.loss_chart(np.logspace(-11, 11, 30), None, 10))
    assert not [t for t in texts if t.startswith("10") and re.search(r"\d", t[2:])], texts  # e.g. 10⁻¹1
    assert {power_of_ten(-10), power_of_ten(10)} <= set(texts), texts


# ------------------------------------------------------------------------------------------------ every chart, both themes
# The specs the app sends (`ui.chart` → `core.charts.style.themed`), built by the page's builders from real
# computations (small ones), checked for: text that fits, colours that stand out from the theme's background,
# 10ᵏ labels on every log axis and legend, whole numbers on every step axis.


EM = 0.6  # a character's width, in em (a generous average for the app's sans-serif font)
LAB_COLUMN, PAGE_COLUMN = 270, 520  # px: a chart in the lab's top row / in half the main column, at 1280 × 720
STEP_FIELDS = {"step", "depth", "layer", "T", "t", "lag"}  # … and any axis titled "step" (the heat map's x0)
#: charts whose colour scale tiles the whole plot (a map: cells border cells, not the background)
AREA_MAPS = {"phase", "cliff surface", "surface"}


def _app_charts() -> list[tuple[str, int, object]]:
    from fractions import Fraction

    from core.chain import products as ch
    from core.chain.products import Network, given_chain, network_chain
    from core.chaos.butterfly import butterfly
    from core.chaos.cliff import B0_DEFAULT, LR_DEFAULT, bistable_band, descend, loss
    from core.chaos.mean_field import phase_diagram
    from core.chaos.residual import gains_through_depth
    from core.charts import chain as chc
    from core.charts import chaos as cc
    from core.charts import recurrent as rc
    from core.charts import remedies as rm
    from core.charts.network import network_frames, network_spec
    from core.recurrent.matrix import gradient_through_time, init_w_rec
    from core.recurrent.scalar import scalar_chain
    from core.recurrent.sequence import SeqConfig, SeqRun
    from core.training.remedies import classify, compare, evidence
    from core.training.scenarios import SCENARIOS
    from core.training.surface import surface
    from core.training.trainer import Run

    charts: list[tuple[str, int, object]] = []
    run = Run(SCENARIOS["relu_nan"].config)  # diverges: inf/NaN markers, the divergence label
    run.run(12)
    main = tc.main_charts(run, heat="grad_w")
    charts += [("loss", LAB_COLUMN, main["loss"]), ("flow", LAB_COLUMN, main["flow"]),
               ("heat", LAB_COLUMN + 60, main["heat"])]
    charts += [(name, PAGE_COLUMN * 2, tc.detail_chart(run, name, run.steps_done)) for name in ("weights", "ratio",
                                                                                                  "hist")]
    charts.append(("surface", PAGE_COLUMN, tc.surface_chart(surface(run), height=320)))
    h = run.history.arrays()
    sizes = [int(run.weights[0].shape[1])] + [int(w.shape[0]) for w in run.weights]
    data = network_frames(h["grad_w"][-1], h["grad_h"][-1], sizes, step=run.steps_done, nonfinite=run.nonfinite)
    for theme in STYLES:
        charts.append((f"network {theme}", PAGE_COLUMN * 2,
                       Filled(network_spec(sizes, data.unit_level, theme), data.frames, theme=theme)))
    # the baseline overflows while both remedies train: the overlays clip it and say so
    outcomes = compare(SCENARIOS["big_lr"].config, [("gradient clipping", ("clip_norm",)),
                                                    ("smaller learning rate", ("smaller_lr",))], 20)
    charts += [("remedies loss", PAGE_COLUMN * 2, rm.loss_overlay(outcomes)),
               ("remedies norm", PAGE_COLUMN * 2, rm.grad_norm_overlay(outcomes)),
               ("remedies flow", PAGE_COLUMN * 2, rm.flow_overlay(outcomes))]
    base = outcomes[0]
    rows = [(o, classify(o, base), evidence(o, base, classify(o, base))) for o in outcomes[1:]]
    charts.append(("ranking", PAGE_COLUMN * 2, rm.ranking_chart(rows)))
    chain = given_chain((150, 100, 125, 50), 500, Fraction("0.01"))
    net = Network()
    charts += [("factors", PAGE_COLUMN, chc.factor_chart(chain)),
               ("depth", PAGE_COLUMN, chc.depth_chart(ch.depth_sweep(net), net.activation, "500",
                                                      network_chain(net).depth))]
    c = scalar_chain(1.5, 50, "tanh")
    charts += [("scalar product", PAGE_COLUMN, rc.scalar_product_chart(c)), ("factor", PAGE_COLUMN, rc.factor_chart(c)),
               ("lag", PAGE_COLUMN * 2, rc.lag_chart(gradient_through_time(init_w_rec(8, "orthogonal", 1.0), "tanh",
                                                                             30)))]
    config = SeqConfig(seq_len=10, hidden=8).validated()
    rnn, lstm = SeqRun("rnn", config), SeqRun("lstm", config)
    rnn.run(3)
    lstm.run(3)
    charts += [("rnn lstm lag", PAGE_COLUMN, rc.rnn_lstm_lag_chart(rnn, lstm)),
               ("rnn lstm loss", PAGE_COLUMN, rc.rnn_lstm_loss_chart(rnn, lstm))]
    pair = [("A: He ReLU", butterfly(SCENARIOS["he_relu"].config, 1e-9, 15)),
            ("B: ReLU → NaN", butterfly(SCENARIOS["relu_nan"].config, 1e-8, 15))]
    charts += [("butterfly", PAGE_COLUMN, cc.butterfly_chart(pair)), ("loss gap", PAGE_COLUMN, cc.loss_gap_chart(pair)),
               ("phase", PAGE_COLUMN, cc.phase_chart(phase_diagram("tanh", 20, 20), (1.0, 0.0, "the edge"))),
               ("residual gain", PAGE_COLUMN, cc.residual_gain_chart(gains_through_depth("relu", math.sqrt(2), 0.0,
                                                                                         depths=(1, 2, 4), width=16)))]
    grid = np.linspace(-4, 4, 200)
    paths = [("no clipping", descend(5.0, B0_DEFAULT, LR_DEFAULT, 30)),
             ("clipped at τ = 1", descend(5.0, B0_DEFAULT, LR_DEFAULT, 30, clip_norm=1.0))]
    w, b = np.linspace(4, 6, 20), np.linspace(-4, 4, 20)
    charts += [("cliff", PAGE_COLUMN, cc.cliff_curve_chart(grid, loss(5.0, grid), None, bistable_band(5.0))),
               ("cliff surface", PAGE_COLUMN, cc.cliff_surface_chart(w, b, loss(w[None, :], b[:, None]), paths))]
    return charts


@pytest.fixture(scope="module")
def app_specs() -> dict[tuple[str, str], tuple[int, dict]]:
    """(chart, theme) → (the width it gets, the spec ui.chart sends in that theme)."""
    from core.app.export import chart_spec

    out = {}
    for name, width, chart in _app_charts():
        for theme in STYLES:
            if isinstance(chart, Filled):
                if chart.theme not in (None, theme):
                    continue
                spec = themed(chart.to_dict(), theme, recolour=chart.theme is None)
            else:
                spec = themed(chart_spec(chart), theme)
            out[(name, theme)] = (width, spec)
    return out


def _views(spec: dict):
    yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            yield from _views(child)


def _texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return _texts(value.get("text"))
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _colours(spec: dict, name: str) -> list[tuple[str, float, str]]:
    """(colour, the contrast it needs, where) for every colour the spec draws on the background."""
    found = []
    config = spec.get("config", {})
    for part, keys in (("title", ("color", "subtitleColor")), ("axis", ("labelColor", "titleColor")),
                       ("legend", ("labelColor", "titleColor")), ("text", ("color",))):
        found += [(config[part][k], TEXT_CONTRAST, f"config.{part}.{k}") for k in keys if k in config.get(part, {})]
    title = spec.get("title")
    if isinstance(title, dict):
        found += [(title[k], TEXT_CONTRAST, f"title.{k}") for k in ("color", "subtitleColor") if k in title]
    for view in _views(spec):
        mark = view.get("mark")
        mark = {"type": mark} if isinstance(mark, str) else (mark or {})
        kind = mark.get("type")
        need = TEXT_CONTRAST if kind == "text" else MARK_CONTRAST
        for k in ("color", "fill", "stroke"):
            value = mark.get(k)
            if isinstance(value, str) and not (kind == "text" and k == "stroke"):  # a text's stroke is its halo
                if not (k == "stroke" and kind in ("circle", "point")):  # a point's outline: its halo
                    found.append((value, need, f"{kind}.{k}"))
        for channel, enc in view.get("encoding", {}).items():
            if channel not in ("color", "fill", "stroke") or not isinstance(enc, dict):
                continue
            if isinstance(enc.get("value"), str):
                found.append((enc["value"], need, f"{kind}.{channel} value"))
            scale = enc.get("scale") or {}
            legend = enc.get("legend") or {}
            found += [(legend[k], TEXT_CONTRAST, f"legend.{k}") for k in ("labelColor", "titleColor") if k in legend]
            if name in AREA_MAPS:
                continue
            assert "scheme" not in scale, f"{name}: a named scheme's colours are not the theme's: {scale}"
            rng = scale.get("range")
            if isinstance(rng, list) and all(isinstance(c, str) for c in rng):
                samples = ramp_samples(rng) if enc.get("type") == "quantitative" else rng
                found += [(c, MARK_CONTRAST, f"{kind}.{channel} scale") for c in samples]
    return [(c, need, where) for c, need, where in found if c.upper() not in {v.upper() for v in ON_MAP.values()}
            or name not in AREA_MAPS]


def test_the_catalogue_covers_every_chart_builder_the_pages_call():
    """The charts checked below are the ones the pages draw: every builder ui/ calls is in the catalogue."""
    import pathlib
    import re as regex

    called = set()
    for path in pathlib.Path(__file__).resolve().parents[1].joinpath("ui").glob("*.py"):
        called |= set(regex.findall(r"\b(?:tc|cc|rc)\.(\w+_chart|\w+_overlay|detail_chart|main_charts)\(",
                                    path.read_text()))
        called |= set(regex.findall(r"\b(factor_chart|depth_chart)\(", path.read_text()))
    source = pathlib.Path(__file__).read_text()
    missing = {f for f in called if f"{f}(" not in source.split("def _app_charts", 1)[1]}
    assert not missing, missing


def test_every_colour_stands_out_from_its_themes_background(app_specs):
    failures = []
    for (name, theme), (_, spec) in app_specs.items():
        background = STYLES[theme].background
        assert spec["config"]["background"] == background
        for colour, need, where in _colours(spec, name):
            ratio = contrast(colour, background)
            if ratio < need:
                failures.append(f"{name} ({theme}) {where}: {colour} is {ratio:.2f}:1, needs {need}:1")
    assert not failures, "\n".join(failures)


def test_no_light_only_colour_reaches_the_dark_theme(app_specs):
    """Every colour a builder writes has a role in both themes, so the dark spec holds none of the light
    theme's background-dependent colours (black text on navy, the light theme's darkest ramp)."""
    from core.charts.style import LIGHT, _colour_map

    dark = {d.upper() for d in _colour_map(STYLES["dark"], STYLES["dark"]).values()}
    light_only = set(_colour_map(LIGHT, STYLES["dark"])) - dark
    for (name, theme), (_, spec) in app_specs.items():
        if theme != "dark":
            continue
        text = json.dumps({k: v for k, v in spec.items() if k != "datasets"}).upper()
        left = sorted(c for c in light_only if c in text)
        assert not left, f"{name}: {left}"


def test_log_axes_read_ten_to_the_k_and_step_axes_whole_numbers(app_specs):
    for (name, theme), (_, spec) in app_specs.items():
        if theme != "light":
            continue
        log_channels, labelled = set(), set()  # layers share their axes: one layer's guide labels them all
        for view in _views(spec):
            for channel, enc in view.get("encoding", {}).items():
                if isinstance(enc, dict) and str(enc.get("field", "")).startswith("log10") and channel in ("x", "y",
                                                                                                            "color"):
                    log_channels.add(channel)
                guide = enc.get("legend" if channel == "color" else "axis") if isinstance(enc, dict) else None
                if isinstance(guide, dict) and "'10' +" in guide.get("labelExpr", ""):
                    labelled.add(channel)
        assert log_channels <= labelled, f"{name}: {log_channels - labelled} on log₁₀ values without 10ᵏ labels"
        for view in _views(spec):
            for channel, enc in view.get("encoding", {}).items():
                if not isinstance(enc, dict) or "field" not in enc:
                    continue
                field = str(enc["field"])
                guide = enc.get("legend") if channel in ("color", "fill", "stroke") else enc.get("axis")
                title = enc.get("title") or (guide or {}).get("title") or ""
                assert "log₁₀" not in " ".join(_texts(title)), f"{name}: {title}"
                if field.startswith("log10") and guide is not None and channel in ("x", "y", "color"):
                    assert "'10' +" in guide.get("labelExpr", ""), f"{name}: {channel} on {field} lacks 10ᵏ labels"
                steps = field in STEP_FIELDS or " ".join(_texts(title)).startswith("step")
                if steps and channel in ("x", "y") and enc.get("type") == "quantitative" and guide:
                    assert guide.get("tickMinStep") == 1 and guide.get("format") == "d", f"{name}: {channel} {guide}"


def test_every_title_label_and_legend_fits_the_width_it_gets(app_specs):
    failures = []
    for (name, theme), (width, spec) in app_specs.items():
        if theme != "light":
            continue
        config = spec["config"]
        size = {"title": config["title"]["fontSize"], "subtitle": config["title"]["subtitleFontSize"],
                "axis": config["axis"]["titleFontSize"], "label": config["legend"]["labelFontSize"]}
        title = spec.get("title")
        if isinstance(title, dict):  # a title's own font sizes win over the config's
            size |= {k: title[f] for k, f in (("title", "fontSize"), ("subtitle", "subtitleFontSize")) if f in title}
        if isinstance(spec.get("width"), int):
            width = min(width, spec["width"])
        lines = [(t, size["title"]) for t in _texts(title)]
        if isinstance(title, dict):
            lines += [(t, size["subtitle"]) for t in _texts(title.get("subtitle"))]
        height = spec.get("height") if isinstance(spec.get("height"), int) else 300
        for view in _views(spec):
            for channel, enc in view.get("encoding", {}).items():
                if not isinstance(enc, dict):
                    continue
                axis = enc.get("axis") if isinstance(enc.get("axis"), dict) else {}
                legend = enc.get("legend") if isinstance(enc.get("legend"), dict) else {}
                for t in _texts(enc.get("title") or axis.get("title")):
                    room = height - 40 if channel == "y" else width
                    if EM * size["axis"] * len(t) > room:
                        failures.append(f"{name}: axis title {t!r} is wider than its {room} px")
                for t in _texts(legend.get("title")):
                    lines.append((t, size["axis"]))
                domain = (enc.get("scale") or {}).get("domain")
                if enc.get("type") == "nominal" and isinstance(domain, list) and enc.get("legend") is not None:
                    limit = legend.get("labelLimit", config["legend"].get("labelLimit", 160))
                    for t in domain:
                        est = EM * size["label"] * len(str(t)) + 30  # + the symbol
                        if est > width or (limit and est - 30 > limit):
                            failures.append(f"{name}: legend label {t!r} ≈ {est:.0f} px (limit {limit}, width {width})")
        for t, px in lines:
            if EM * px * len(t) > width:
                failures.append(f"{name}: {t!r} ≈ {EM * px * len(t):.0f} px in a {width} px chart")
    assert not failures, "\n".join(failures)


def test_one_run_far_beyond_the_others_is_clipped_with_a_mark():
    """The remedies' overlays: a baseline spiking to 10¹⁶ no longer sets the y range of four remedies."""
    import pandas as pd

    from core.charts.remedies import _annotate, y_range

    steps = np.arange(1, 21)
    frames = [pd.DataFrame({"variant": "baseline", "step": steps, "value": np.logspace(0, 16, 20)})]
    frames += [pd.DataFrame({"variant": f"remedy {i}", "step": steps, "value": np.linspace(2.0, 0.1 * i, 20)})
               for i in range(1, 5)]
    df = _annotate(pd.concat(frames, ignore_index=True))
    lo, hi, over, under = y_range(df)
    assert over == ["baseline"] and not under
    assert hi < 2 and lo < math.log10(0.1)
    same = _annotate(pd.concat(frames[1:], ignore_index=True))
    assert y_range(same)[2:] == ([], [])


def test_the_overflow_is_drawn_and_named(app_specs):
    """A baseline far above the remedies is drawn as a triangle at the top edge and named in the subtitle."""
    for name in ("remedies loss", "remedies norm"):
        _, spec = app_specs[(name, "light")]
        subtitle = " ".join(_texts(spec["title"].get("subtitle")))
        assert re.search(r"▲ off the chart \(top\): baseline reaches 10[⁰¹²³⁴⁵⁶⁷⁸⁹]+", subtitle), (name, subtitle)
        shapes = [v["mark"].get("shape") for v in _views(spec) if isinstance(v.get("mark"), dict)]
        assert "triangle-up" in shapes, name

