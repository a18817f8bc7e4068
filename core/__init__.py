"""Gradient explorer core: plain-Python computations behind the Streamlit pages.

Nothing in this package imports streamlit. Torch is imported lazily, only by the
modules that need it, so `import core` stays cheap for the home page.
"""
