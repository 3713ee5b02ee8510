"""ovtriton: serve OpenVINO models on Triton Inference Server with OVMS's reshape rules."""

__version__ = "0.1.0"
