"""Running a real Triton server with the ovtriton backend installed."""

from ovtriton_serve.server.installation import TritonInstallation, find_installation
from ovtriton_serve.server.process import ServerAddress, TritonProcess

__all__ = ["ServerAddress", "TritonInstallation", "TritonProcess", "find_installation"]
