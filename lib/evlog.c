/* evlog.c - placeholder, being written */
