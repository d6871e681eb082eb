"""The instruments several pages show, each built once: the triplet plane, the pair plane,
a shared training run and a quiz question. A page (or the lesson) hands one its scene and
the reading it computed; the instrument assembles the component and its read-outs.
"""
