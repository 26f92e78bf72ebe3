"""DiPS Studio core: the method, the data model and storage. No Qt below this package."""
