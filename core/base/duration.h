/* Durations as people write them: "3600" (seconds), "90s", "15m", "12h",
 * "30d", "2w". Shared by the command line (--ttl, --older-than) and the config
 * (retention). */
#ifndef PARLEY_DURATION_H
#define PARLEY_DURATION_H

/* Seconds, or -1 when s is not a duration (or overflows). */
long long duration_parse(const char *s);

#endif
