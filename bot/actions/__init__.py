"""Rasa SDK actions: thin adapters from the tracker to Lantern's domain modules.

`rasa run actions --actions bot.actions` imports every module of this package.
"""
