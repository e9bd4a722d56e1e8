/* Scheduled backups while the server runs (the config's backup section):
 * `parley backup` every `every` seconds into a new folder of `to`, named by
 * its UTC start time, keeping the newest `keep`. The last run shows in
 * /metrics; /readyz (still 200) carries a warning while no backup has
 * finished for two intervals. */
#ifndef PARLEY_BACKUP_SCHEDULE_H
#define PARLEY_BACKUP_SCHEDULE_H

struct config;

/* Starts the schedule (nothing when the config has no backup section).
 * After a restart the next backup is due one interval after the newest
 * finished one in `to`, not one interval after the start. */
void backup_schedule_start(const struct config *cfg);
/* Stops starting backups (server_stop); one running finishes or is
 * cancelled with the worker pool. */
void backup_schedule_stop(void);

#endif
