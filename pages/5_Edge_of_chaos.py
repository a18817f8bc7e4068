"""Edge of chaos: the butterfly effect, the order-to-chaos phase diagram, and the cliff in the loss landscape."""

import edge_ui
import ui

ui.tabbed_page(
    "edge", "Edge of chaos", ":material/cyclone:",
    "Edge of chaos: butterflies, phases and cliffs",
    "The notes draw a parallel between exploding gradients and chaos theory. Three ways to make it precise: how "
    "fast two nearly identical trainings separate, where a deep network sits between order and chaos, and the "
    "cliff that a recurrent unit's loss landscape hides.",
    [("① Butterfly effect", edge_ui.butterfly_section), ("② Order and chaos", edge_ui.phase_section),
     ("③ The cliff", edge_ui.cliff_section)])
