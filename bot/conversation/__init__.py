"""The conversation's own logic, without Rasa: discovery (what the visitor's problem is),
teaching (which passages explain it) and the buying-intent gate (when to offer a rep)."""
