"""Pure Altair chart builders, one module per subject: data in, a chart out; no Streamlit."""
