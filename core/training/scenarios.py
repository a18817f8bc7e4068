"""One-click training-lab scenarios: each is a config, a number of steps, and what it should show."""

from __future__ import annotations

from dataclasses import dataclass

from core.training.config import TrainConfig


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    label: str  # short, for a button
    config: TrainConfig
    steps: int  # trained at once when the scenario is opened
    expect: str  # the diagnosis verdict it demonstrates
    story: str
    track: tuple[int, int, int] = (0, 0, 0)


SCENARIOS: dict[str, Scenario] = {s.key: s for s in (
    Scenario(
        "notes", "The notes' example: w = 500, sigmoid", "Notes: w = 500",
        TrainConfig(depth=3, width=1, activation="sigmoid", init="constant", init_scale=500.0, bias_init=0.0,
                    dataset="regression", n_samples=64, batch_size=64, lr=0.01, optimizer="sgd"),
        steps=20, expect="vanishing",
        story="Every weight is 500, as in the notes, and each neuron is one sigmoid. The notes' bound "
              "σ'(z)·w ≤ ¼·500 = 125 per layer assumes z = 0; here z = 500·x is far from 0, the sigmoids "
              "saturate (σ'(z) ≈ 0) and the gradient vanishes instead of exploding. The chain-rule page "
              "shows the configuration in which 125 per layer really happens."),
    Scenario(
        "relu_big_init", "Deep ReLU net, initialisation too large", "ReLU, init too large",
        TrainConfig(depth=20, width=32, activation="relu", init="normal", init_scale=0.4, dataset="spirals",
                    n_samples=256, batch_size=64, lr=1e-4, optimizer="sgd"),
        steps=20, expect="exploding",
        story="20 ReLU layers with weights N(0, 0.4²). He initialisation would use σ = √(2/32) = 0.25; with 0.4 "
              "each layer multiplies the signal by about √(32·0.4²/2) = 1.6, so the gradient reaching layer 1 is "
              "thousands of times the one at layer 20. Even with learning rate 10⁻⁴ the gradient norm is in the "
              "thousands; raise it to 10⁻³ and the run turns into NaN within a few steps."),
    Scenario(
        "relu_nan", "Deep ReLU net that explodes into NaN", "ReLU → NaN",
        TrainConfig(depth=10, width=32, activation="relu", init="normal", init_scale=0.5, dataset="spirals",
                    n_samples=256, batch_size=64, lr=0.01, optimizer="sgd"),
        steps=20, expect="exploding",
        story="10 ReLU layers with weights N(0, 0.5²), twice He's σ = 0.25: each layer doubles the signal "
              "(√(32·0.5²/2) = 2), so the gradient at layer 1 is about 2¹⁰ ≈ 1,000 times the one at the top. "
              "With learning rate 0.01 the first updates are enormous, the loss shoots up and within a few "
              "steps the numbers overflow to inf and NaN. This is the remedies lab's default baseline."),
    Scenario(
        "sigmoid_default", "Deep sigmoid net, PyTorch default init", "Deep sigmoid",
        TrainConfig(depth=20, width=32, activation="sigmoid", init="default", dataset="spirals", n_samples=256,
                    batch_size=64, lr=0.1, optimizer="sgd"),
        steps=20, expect="vanishing",
        story="σ'(z) ≤ ¼, and with PyTorch's default weights (|w| ≤ 1/√32) each layer multiplies the "
              "back-propagated signal by far less than 1: after 20 layers almost nothing reaches the input."),
    Scenario(
        "deep_plain", "A 50-layer tanh net, plain (compare: with residual connections)", "50 layers, plain",
        TrainConfig(depth=50, width=32, activation="tanh", init="default", dataset="spirals", n_samples=256,
                    batch_size=64, lr=0.01, optimizer="sgd"),
        steps=100, expect="vanishing",
        story="50 tanh layers with PyTorch's default weights, Var(w) = 1/(3·32): mean-field theory predicts that each "
              "layer multiplies the back-propagated signal by about √(32·1/96) = 1/√3, so after 49 layers almost "
              "nothing reaches layer 1 and the loss stays at the no-learning level. The next scenario is the very "
              "same network, the same initial W_l, with residual connections."),
    Scenario(
        "deep_residual", "The same 50-layer tanh net with residual connections", "50 layers + residual",
        TrainConfig(depth=50, width=32, activation="tanh", init="default", dataset="spirals", n_samples=256,
                    batch_size=64, lr=0.01, optimizer="sgd", residual=True),
        steps=100, expect="healthy",
        story="The same 50 layers and the same initial W_l, now with h_{l+1} = h_l + tanh(W_l h_l + b_l) (a trained "
              "projection carries the 2 inputs into the 32-unit stream). The layer's Jacobian becomes "
              "I + diag(tanh'(z_l))·W_l: the identity carries the gradient back to layer 1 although every W_l is "
              "small, and the loss goes down. Compare ‖∂L/∂h_l‖ with the plain net's. Residuals are no cure for "
              "large weights: switch to ReLU with He initialisation and the stream's variance doubles at every "
              "layer, and the gradient explodes."),
    Scenario(
        "he_relu", "Healthy: He-initialised ReLU net", "Healthy He-ReLU",
        TrainConfig(depth=6, width=32, activation="relu", init="he_normal", dataset="spirals", n_samples=256,
                    batch_size=64, lr=0.05, optimizer="sgd"),
        steps=100, expect="healthy",
        story="He et al. (2015) chose Var(w) = 2/fan_in so that a ReLU layer keeps the signal's size: the "
              "gradient norms stay within a small factor across layers and the loss goes down."),
    Scenario(
        "big_lr", "Learning rate too large (not an exploding gradient)", "LR too large",
        TrainConfig(depth=2, width=16, activation="tanh", init="xavier_normal", dataset="regression",
                    n_samples=256, batch_size=64, lr=3.0, optimizer="sgd"),
        steps=30, expect="diverging",
        story="A shallow tanh net whose gradients are perfectly ordinary, trained with learning rate 3: each "
              "step overshoots the minimum. The loss jumps around or rises, but the back-propagated signal "
              "does not grow with depth. The cure is a smaller learning rate, not clipping or initialisation."),
)}
