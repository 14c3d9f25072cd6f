"""Reading a campaign back: statistics, exports and the HTML report."""
