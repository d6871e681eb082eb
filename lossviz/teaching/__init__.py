"""Teaching aids built on the core: quiz rounds and their explanations, the reference
implementations people copy (checked beside the core), "Copy as code" scripts and the
formulas with a scene's numbers.

It may import the loss core, the batches, training and the standard library (and torch,
numpy); never Streamlit or Plotly.
"""
