"""One thin router per resource of the API."""
