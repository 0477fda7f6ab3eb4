"""Driftlight app entry point (placeholder until the app issue lands)."""
import streamlit as st

st.set_page_config(page_title="Driftlight", page_icon="🚦", layout="wide")
st.title("Driftlight")
st.info("The fleet grid is being built. Meanwhile: `python -m lib evaluate --format table`.")
