/* The thin main: everything lives in the core library (core/cli.c). */
#include "app/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
