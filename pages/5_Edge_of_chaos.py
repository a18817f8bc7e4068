"""Edge of chaos: the butterfly effect, the order-to-chaos phase diagram, and the cliff in the loss landscape."""

import ui
from core.app.page_views import EDGE_TABS
from ui import edge

ui.tabbed_page(
    "edge", "Edge of chaos", ":material/cyclone:",
    "Edge of chaos: butterflies, phases and cliffs",
    "The notes draw a parallel between exploding gradients and chaos theory. Three ways to make it precise: how "
    "fast two nearly identical trainings separate, where a deep network sits between order and chaos, and the "
    "cliff that a recurrent unit's loss landscape hides.",
    [(EDGE_TABS[0], edge.butterfly_section), (EDGE_TABS[1], edge.phase_section),
     (EDGE_TABS[2], edge.cliff_section)],
    tab_key="edge_tab")
