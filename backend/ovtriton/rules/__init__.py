"""Pure rule logic (grammars and shape math). Imports neither OpenVINO nor Triton."""
