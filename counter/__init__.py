"""The counter console for clerks (/counter/) and the citizen rating tablet (/counter/rating)."""
