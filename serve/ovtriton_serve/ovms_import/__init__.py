"""Convert an OpenVINO Model Server ``config.json`` into a Triton model repository.

``schema`` checks the document as OVMS would, ``mapping`` turns entries into Triton
configs (pure), ``discovery`` reads base paths, ``tensors`` reads a model's served
tensors with the backend's own rules, and ``convert`` puts it together and writes the
repository in one rename.
"""

from ovtriton_serve.ovms_import.convert import import_ovms
from ovtriton_serve.ovms_import.errors import OvmsImportError

__all__ = ["OvmsImportError", "import_ovms"]
