/* The thin main: everything lives in the core library (core/cli.c). */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
