"""Running a real Triton server with the ovtriton backend installed."""

from ovtriton.server.installation import TritonInstallation, find_installation
from ovtriton.server.process import ServerAddress, TritonProcess

__all__ = ["ServerAddress", "TritonInstallation", "TritonProcess", "find_installation"]
