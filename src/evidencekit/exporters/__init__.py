"""Writers of the formats other tools read: spreadsheets, DFXML, Timesketch, l2tcsv, CASE/UCO."""
