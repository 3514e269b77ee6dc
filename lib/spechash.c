/* spechash.c - placeholder, being written */
