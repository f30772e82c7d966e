// fixture: a student file
