"""Session reasoning: a text model summarises each raid from its events and window labels, then the whole
session by chunk-and-summarize (labeling/reasoning/summarize.py). Also the shared pieces of any JSON task
sent through the VLM backends outside the window analyst: versioned prompts (prompts.py) and one request
with one repair and the answer cache (answers.py), which the detector cross-check uses too.
"""
