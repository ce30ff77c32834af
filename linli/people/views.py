"""Views for residents, households and organizations."""
