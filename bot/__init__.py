"""Lantern: a Rasa website assistant that educates visitors instead of selling to them."""
