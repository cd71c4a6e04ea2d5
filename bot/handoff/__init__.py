"""Handing a visitor who clearly wants to buy to a human rep: contact details, the brief,
the lead and its notifications (committed together), and their delivery."""
