/* cvm_stub.c - stands in for cvm.c until that file is in the tree
 * (host/cocoon-verify/meson.build picks cvm.c when it exists). */
#include <stdio.h>

#include "verify.h"

int cocoon_verify_cvm(int argc, char **argv)
{
	fprintf(stderr, "cocoon-verify: cvm: not built in this tree (host/cocoon-verify/cvm.c)\n");
	return VERIFY_EXIT_SYSTEM;
}
