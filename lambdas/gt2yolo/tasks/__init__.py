"""One package per task type; `registry` names them (adding a task: a folder and one line there).

Each package holds its reader (Ground Truth lines -> typed records) and its writers with the
pass that feeds them; the shared run (survey, names, split, batching, fan-out, versions) finds a
task only through `registry.task_of`.
"""
