"""The lecture path: the notes' story as scenes, with next/previous bound to a presenter's clicker."""

import ui
from ui import lecture_path

ui.setup_page("Lecture", ":material/co_present:")
ui.deep_link("lecture_path")
lecture_path.scene()
ui.finish_page("lecture_path")
