"""A synthetic county: the five department systems as they really look, with ground truth.

`generate()` writes every source of legacy-systems.md §0–§5 plus truth/ and hub.yaml;
`hub.synth.server` serves the public-security API over HTTP.
"""

from hub.synth.generate import SynthSummary, generate

__all__ = ["SynthSummary", "generate"]
