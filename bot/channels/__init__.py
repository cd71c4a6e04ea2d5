"""Rasa input channels: thin adapters that apply `bot.inbound` checks."""
