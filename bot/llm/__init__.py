"""The model: the only package that imports openai. A client wrapper, tool specs and the tool loop."""
