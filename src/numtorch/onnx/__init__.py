"""``torch.onnx``: export a model to ONNX, to run it without numtorch (ONNX Runtime …).

:func:`export` needs the ``onnx`` package (the optional extra ``numtorch[onnx]``, which also
brings ``onnxruntime``); importing this module does not.
"""

from ._export import OperatorExportTypes, TrainingMode, export, is_in_onnx_export
from ._trace import ExportError as OnnxExporterError
from ._trace import TracerWarning

__all__ = ["export", "is_in_onnx_export", "TrainingMode", "OperatorExportTypes",
           "OnnxExporterError", "TracerWarning"]
