"""Run the synthesized stack on an in-process AWS emulator (moto): the demo and the e2e tests."""

import os

# jsii prints a Node end-of-life banner on every start; it says nothing about this project.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
