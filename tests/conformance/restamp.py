"""Runs the ONNX backend node tests that libonnx-testdata stores with an
opset older than trainc imports (7), restamped to opset 7 where that changes
nothing: every node's operator has the same schema version at 7 as at the
model's own opset (Elu-6, Selu-6, HardSigmoid-6, Softplus-1, Softsign-1,
Not-1 ... are their ops' current definitions). Tests whose ops changed in
between are left out, not rewritten.

    restamp.py TC_CONFORMANCE EXPECTED_FAILURES OUT_DIR DATA_DIR...

Copies each qualifying test (model restamped, data sets as they are) under
OUT_DIR/<data dir name>/ and runs the conformance runner on those folders;
its exit status is this script's."""
import os
import shutil
import subprocess
import sys

import onnx
import onnx.defs

TARGET = 7


def unchanged_at_target(model):
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or opset >= TARGET:
        return False
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            return False
        try:
            old = onnx.defs.get_schema(node.op_type, opset).since_version
            new = onnx.defs.get_schema(node.op_type, TARGET).since_version
        except onnx.defs.SchemaError:
            return False
        if old != new:
            return False
    return True


def main():
    runner, expected, out = sys.argv[1:4]
    shutil.rmtree(out, ignore_errors=True)
    dirs = []
    for data in sys.argv[4:]:
        dest_root = os.path.join(out, os.path.basename(os.path.normpath(data)))
        count = 0
        for name in sorted(os.listdir(data)):
            src = os.path.join(data, name)
            path = os.path.join(src, "model.onnx")
            if not os.path.isfile(path):
                continue
            model = onnx.load(path)
            if not unchanged_at_target(model):
                continue
            for o in model.opset_import:
                if o.domain in ("", "ai.onnx"):
                    o.version = TARGET
            dest = os.path.join(dest_root, name)
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("model.onnx"))
            onnx.save(model, os.path.join(dest, "model.onnx"))
            count += 1
        print(f"{data}: {count} tests restamped to opset {TARGET}")
        if count:
            dirs.append(dest_root)
    sys.stdout.flush()
    return subprocess.call([runner, "--expected-failures", expected] + dirs)


if __name__ == "__main__":
    sys.exit(main())
