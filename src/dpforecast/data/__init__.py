"""The raw data set: its schema and how it is read into a typed table."""
