"""The app's plumbing that computes: URL view schemas, the lecture's scenes, exports, and the shared server's
limits. No Streamlit here either; `ui/` wires these to widgets."""
