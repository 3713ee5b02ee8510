"""Hand-written Triton Python-backend models, copied into a repository as ``1/model.py``.

They import ``triton_python_backend_utils``, which exists only inside Triton's
Python backend stub: never import these modules here.
"""
