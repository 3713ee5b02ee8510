"""OpenVINO side of the stub: reading, preparing and compiling models, and running them."""
