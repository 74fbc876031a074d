"""mlflow-ts scoring worker: loads one model and answers predict requests, one JSON line each way.

Started by mlflow-ts (src/serving/python-worker-pool.ts) as `python worker.py <config-json>`. It writes
{"ready": true, "loader": ...} once the model is loaded, then for each request line
{"id", "input", "params"} one answer line {"id", "ok": true, "predictions": "<json text>"} or
{"id", "ok": false, "error_code", "message"}. Where the mlflow package is importable the model is loaded
through it; otherwise sklearn (pickle / cloudpickle), custom loader_module and onnx (with onnxruntime)
models are loaded here.
"""

import base64
import datetime
import importlib
import inspect
import json
import os
import sys
import traceback

# The protocol owns the real stdout; anything the model prints goes to stderr instead.
_PROTOCOL = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
sys.stdout = sys.stderr


def _send(message):
    _PROTOCOL.write(json.dumps(message) + "\n")
    _PROTOCOL.flush()


def _load_with_mlflow(model_dir):
    import mlflow.pyfunc  # noqa: F401  (ImportError means: load it ourselves)

    model = mlflow.pyfunc.load_model(model_dir)
    return model, "mlflow"


def _load_sklearn(config):
    path = os.path.join(config["model_dir"], config["pickled_model"])
    if config.get("serialization_format", "cloudpickle") == "cloudpickle":
        import cloudpickle as serializer
    else:
        import pickle as serializer
    with open(path, "rb") as f:
        model = serializer.load(f)
    predict_fn = getattr(model, config.get("predict_fn") or "predict")

    class _Sklearn:
        def predict(self, data, params=None):
            return predict_fn(data)

    return _Sklearn(), "sklearn"


def _load_custom(config):
    model_dir = config["model_dir"]
    if config.get("code"):
        sys.path.insert(0, os.path.join(model_dir, config["code"]))
    module = importlib.import_module(config["loader_module"])
    data = os.path.join(model_dir, config["data"]) if config.get("data") else model_dir
    return module._load_pyfunc(data), "loader_module"


# onnxruntime's input types to numpy's, to cast what the request holds (JSON numbers arrive as float64).
_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def _load_onnx(config):
    try:
        import onnxruntime
    except ImportError:
        raise RuntimeError(
            "This onnx model needs onnxruntime (or mlflow) in the model's environment: add onnxruntime "
            "to its requirements.txt"
        ) from None
    import numpy as np
    import pandas as pd

    path = os.path.join(config["model_dir"], config["data"])
    available = set(onnxruntime.get_available_providers())
    providers = [p for p in config.get("providers") or [] if p in available] or ["CPUExecutionProvider"]
    session = onnxruntime.InferenceSession(path, providers=providers)
    inputs = session.get_inputs()
    names = [o.name for o in session.get_outputs()]

    def cast(spec, value):
        dtype = _ONNX_TYPES.get(spec.type)
        return np.asarray(value) if dtype is None else np.asarray(value).astype(dtype)

    class _Onnx:
        # As MLflow's onnx pyfunc: a dict feeds inputs by name, an array the only input; a DataFrame
        # feeds its columns by name when there are several inputs, else its values as one matrix.
        def predict(self, data, params=None):
            if isinstance(data, dict):
                missing = [i.name for i in inputs if i.name not in data]
                if missing:
                    raise ValueError("The ONNX model needs an input named '%s'." % missing[0])
                feeds = {i.name: cast(i, data[i.name]) for i in inputs}
            elif isinstance(data, pd.DataFrame) and len(inputs) > 1:
                feeds = {i.name: cast(i, data[i.name].values.reshape(-1, 1)) for i in inputs}
            elif isinstance(data, pd.DataFrame):
                feeds = {inputs[0].name: cast(inputs[0], data.values)}
            else:
                feeds = {inputs[0].name: cast(inputs[0], data)}
            outputs = dict(zip(names, session.run(names, feeds)))
            if not isinstance(data, pd.DataFrame):
                return outputs
            # One record per row, each output's row i, as mlflow-ts's Node runtime answers.
            return [{k: v[i] for k, v in outputs.items()} for i in range(len(data))]

    return _Onnx(), "onnx"


def load(config):
    if not config.get("without_mlflow"):
        try:
            return _load_with_mlflow(config["model_dir"])
        except ImportError:
            pass
    if config["loader"] == "sklearn":
        return _load_sklearn(config)
    if config["loader"] == "loader_module":
        return _load_custom(config)
    if config["loader"] == "onnx":
        return _load_onnx(config)
    raise RuntimeError(
        "This model needs the mlflow package to load (its loader is %s); install mlflow in the "
        "model's environment" % config.get("loader_module")
    )


def _column(column):
    import numpy as np
    import pandas as pd

    dtype, values = column["dtype"], column["values"]
    if dtype == "bytes":
        return pd.Series([None if v is None else base64.b64decode(v) for v in values], dtype=object)
    if dtype.startswith("datetime64"):
        return pd.to_datetime(pd.Series(values, dtype=object))
    if dtype.startswith("float"):
        return pd.Series([np.nan if v is None else v for v in values], dtype=dtype)
    return pd.Series(values, dtype=dtype)


def to_model_input(payload):
    import numpy as np
    import pandas as pd

    kind = payload["kind"]
    if kind == "frame":
        return pd.DataFrame({c["name"]: _column(c) for c in payload["columns"]})

    def tensor(t):
        dtype = t["dtype"]
        data = [np.nan if v is None and dtype.startswith("float") else v for v in t["data"]]
        return np.array(data, dtype=None if dtype == "object" else dtype).reshape(t["shape"])

    if kind == "tensor":
        return tensor(payload["tensor"])
    return {name: tensor(t) for name, t in payload["tensors"].items()}


class _Encoder(json.JSONEncoder):
    def default(self, o):
        import numpy as np

        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, (datetime.date, datetime.datetime)):
            return o.isoformat()
        if isinstance(o, bytes):
            return base64.b64encode(o).decode("ascii")
        if hasattr(o, "isoformat"):
            return o.isoformat()
        return super().default(o)


def jsonable(predictions):
    import numpy as np
    import pandas as pd

    if isinstance(predictions, np.ndarray):
        return predictions.tolist()
    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if isinstance(predictions, pd.Series):
        return pd.DataFrame(predictions).to_dict(orient="records")
    return predictions


def main():
    config = json.loads(sys.argv[1])
    try:
        model, loader = load(config)
    except Exception as e:  # the pool reports why the model could not load, then stops
        _send({"ready": False, "message": "%s: %s" % (type(e).__name__, e), "trace": traceback.format_exc()})
        return 1
    try:
        takes_params = "params" in inspect.signature(model.predict).parameters
    except (TypeError, ValueError):
        takes_params = False
    _send({"ready": True, "loader": loader, "pid": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            data = to_model_input(request["input"])
            params = request.get("params")
            if takes_params and params is not None:
                raw = model.predict(data, params=params)
            else:
                raw = model.predict(data)
            text = json.dumps(jsonable(raw), cls=_Encoder)
            _send({"id": request["id"], "ok": True, "predictions": text})
        except Exception as e:
            code = getattr(e, "error_code", None)
            _send(
                {
                    "id": request["id"],
                    "ok": False,
                    "error_code": code if isinstance(code, str) else None,
                    "message": getattr(e, "message", None) or "%s: %s" % (type(e).__name__, e),
                    "trace": traceback.format_exc(),
                }
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
