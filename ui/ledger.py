"""The update ledger w_new = w_old − α·∂L/∂w, rendered with its verdict."""

from __future__ import annotations

import streamlit as st

from core.chain.ledger import Update
from ui.exports import latex_download
from ui.lecture_mode import lecture


def render_ledger(update: Update, weight_latex: str = "w") -> None:
    """w_new = w_old − α·∂L/∂w with the real numbers, and a flag for overshoot or sign flip."""
    aligned = (r"\begin{aligned}" + r"\\".join(("&" + line if i else line.replace("=", "&=", 1))
                                                  for i, line in enumerate(update.latex_lines(weight_latex)))
               + r"\end{aligned}")
    st.latex(aligned)
    st.markdown(f"**In one line:** `{update.equation_text()}`")
    if not lecture():
        latex_download("Ledger as LaTeX", "The update ledger", [aligned], "ledger.tex",
                       key=f"_tex_ledger_{weight_latex}", notes=update.equation_text())
    verdict = update.verdict()
    if update.overshoot or update.sign_flip:
        st.error(verdict, icon=":material/warning:")
    elif "frozen" in verdict or update.step == 0:
        st.warning(verdict, icon=":material/ac_unit:")
    else:
        st.success(verdict, icon=":material/check_circle:")
    if not update.exact:
        st.caption("≈: the gradient involves e^z, so it is carried to 50 significant digits and shown rounded.")
