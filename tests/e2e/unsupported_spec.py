"""Spec features trainc parses but does not implement yet are refused with
a clear error (exit 2, the JSON path named), never silently ignored.

usage: /usr/bin/python3 unsupported_spec.py TRAINC SOURCE_DIR
"""
import os
import subprocess
import sys

CASES = [
    (["--data.transforms", '[{"type": "ToTensor"}, {"type": "RandomRotation", "degrees": 5, '
      '"interpolation": "bicubic"}]'], "transforms[1] (RandomRotation)", "not supported"),
    (["--loss.type", "L1Loss"], "L1Loss", "of one shape and dtype (input f32[N,10], target i64[N])"),
    (["--optimizer.param_groups", '[{"params": ["fc*"]}, {"params": ["fc1.*"]}]'],
     "$.optimizer.param_groups[1].params", "already in param_groups[0]"),
]


def main():
    trainc, source = sys.argv[1], sys.argv[2]
    model = os.path.join(source, "models", "lenet5.onnx")
    passed = failed = 0
    for args, place, words in CASES:
        r = subprocess.run([trainc, "train", model, "--epochs", "1"] + args,
                           capture_output=True, text=True, timeout=120)
        ok = r.returncode == 2 and place in r.stderr and words in r.stderr
        print(("ok   " if ok else "FAIL ") + " ".join(args) +
              ("" if ok else f": exit {r.returncode}, {r.stderr.strip()[-300:]}"))
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
