"""`partilha probe`: every guest tries every other guest's ports; expected against observed."""
