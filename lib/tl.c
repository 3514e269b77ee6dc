/* tl.c - placeholder, being written */
