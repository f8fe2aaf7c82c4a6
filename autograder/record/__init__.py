"""Record: the results record, and writing it to the gradebook, the files and the journal."""
