# lit configuration: FileCheck tests over `trainc inspect` output.
import lit.formats

config.name = "trainc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test"]
config.test_source_root = __file__.rsplit("/", 1)[0]
params = lit_config.params
config.substitutions.append(("%trainc", params["trainc"]))
config.substitutions.append(("%models", params["source_dir"] + "/models"))
config.substitutions.append(("%inputs", config.test_source_root + "/Inputs"))
config.substitutions.append(("FileCheck", params["filecheck"]))
config.substitutions.append(("%python", params["python"]))
