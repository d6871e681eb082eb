"""Training runs and their sharing: the collapse demo's encoder and its training loop,
two runs in lockstep, the process-wide registry that computes each configuration once for
every viewer, the frames' encoding for the browser and the run as a GIF.

It may import the loss core, the batches (its data), torch, numpy, Pillow (the GIF) and the
standard library.
"""
