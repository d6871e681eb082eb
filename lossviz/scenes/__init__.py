"""What a page shows, as data: each page's scene (its controls' fields with their default,
range, options, label and help, and the link format), the playground's presets and the
lesson's steps with the task each one checks.

It may import every subject below it (core, batches, training, teaching) and the standard
library; never Streamlit or Plotly.
"""
