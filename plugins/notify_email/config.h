/* notify_email's config section: validated by check(), read by init(). */
#ifndef EMAIL_CONFIG_H
#define EMAIL_CONFIG_H

#include <parley/plugin.h>

enum email_starttls { EMAIL_TLS_REQUIRED = 0, EMAIL_TLS_OPPORTUNISTIC, EMAIL_TLS_OFF };

#define EMAIL_DEFAULT_FROM       "parley@localhost"
#define EMAIL_DEFAULT_SPOOL      "mail"
#define EMAIL_DEFAULT_TIMEOUT    30 /* s per SMTP transaction */
#define EMAIL_DEFAULT_RETRIES    5  /* failed attempts before spool/failed */
#define EMAIL_DEFAULT_RETRY_BASE 2. /* s before the first retry; doubles */
#define EMAIL_TIMEOUT_MAX        600
#define EMAIL_RETRIES_MAX        50
#define EMAIL_RETRY_BASE_MAX     3600.
#define EMAIL_DEFAULT_DIGEST     600 /* s offline before a digest; 0: none */
#define EMAIL_DIGEST_MAX         (7 * 24 * 3600)

struct email_config {
	char *smtp; /* NULL: spool-only mode */
	int starttls;
	char *username, *password;
	char *from_name; /* the display part of `from`, may be NULL */
	char *from_addr; /* the addr-spec of `from` */
	char *ca_file;
	long timeout, retries;
	double retry_base;
	char *spool;     /* absolute, resolved against data_dir */
	char *templates; /* absolute folder */
	long digest_delay;
};

/* check(): validates the section, reporting with host->conf_error. */
int email_config_check(const parley_host *host, parley_ctx *ctx);
/* init(): fills cfg from the (checked) section; PARLEY_OK or ENOMEM. */
int email_config_load(const parley_host *host, parley_ctx *ctx, struct email_config *cfg);
void email_config_free(struct email_config *cfg);

#endif
