"""Rasa input channels: thin adapters that apply `bot.channels.inbound` checks."""
