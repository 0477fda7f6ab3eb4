"""The only Streamlit code in lib/: the app's frame, the fleet grid, widgets and formatting that
pages share. Pages (app_pages/) stay thin and call these.

May import: everything below it (reports, actions, judge, store reads), and streamlit.
"""
