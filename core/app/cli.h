/* The command line of DESIGN.md ("Configuration and command line"). */
#ifndef PARLEY_CLI_H
#define PARLEY_CLI_H

/* Parses argv, loads the config, runs the subcommand; the exit code. */
int cli_main(int argc, char **argv);
/* Parses a duration "30d", "12h", "15m", "90s", "3600" into seconds; -1 on error. */
long long cli_parse_duration(const char *s);

#endif
