/* gitignore.c - placeholder, being written */
