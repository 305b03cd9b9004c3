"""Lambda entry points: wire Powertools and adapters, parse the event, call one workflow step."""
