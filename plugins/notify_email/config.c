/* notify_email's configuration.
 *
 * check() reads every key (the host reports the ones it did not read as
 * unknown) and validates them; load() reads them again into a struct,
 * trusting check. Secrets come from the config file, where env("NAME")
 * supplies them from the environment. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "message.h"

#define EMAIL_TEMPLATES_DEFAULT_SRC PARLEY_EMAIL_SOURCE_DIR "/config/templates"

static const char *const starttls_names[] = {"required", "opportunistic", "off"};

static int starttls_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof starttls_names / sizeof starttls_names[0]); i++)
		if (strcmp(s, starttls_names[i]) == 0)
			return i;
	return -1;
}

static int is_dir(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The project's templates: the source tree's when run from the build
 * folder, else the installed share folder (as the core finds web/). */
static const char *default_templates(void)
{
	return is_dir(EMAIL_TEMPLATES_DEFAULT_SRC) ? EMAIL_TEMPLATES_DEFAULT_SRC
	                                           : PARLEY_EMAIL_INSTALL_TEMPLATES;
}

/* A string key: -1 on a wrong type (reported), 0 absent, 1 present. */
static int str_key(const parley_host *host, const parley_conf *c, const char *key, const char **out)
{
	int found = host->conf_str(c, key, out);
	if (found == 1 && !email_header_safe(*out)) {
		host->conf_error(c, key, "must not contain control characters");
		return -1;
	}
	return found;
}

static int int_key(const parley_host *host, const parley_conf *c, const char *key, int64_t min,
                   int64_t max)
{
	int64_t v;
	int found = host->conf_int(c, key, &v);
	if (found == 1 && (v < min || v > max)) {
		host->conf_error(c, key, "must be %lld to %lld", (long long)min, (long long)max);
		return -1;
	}
	return found;
}

int email_config_check(const parley_host *host, parley_ctx *ctx)
{
	const parley_conf *c = host->conf(ctx);
	const char *smtp = NULL, *starttls = NULL, *from = NULL, *s;
	int bad = 0;
	int has_smtp = str_key(host, c, "smtp", &smtp);
	if (has_smtp < 0)
		bad = 1;
	else if (has_smtp == 1 && strncmp(smtp, "smtp://", 7) != 0 &&
	         strncmp(smtp, "smtps://", 8) != 0) {
		host->conf_error(c, "smtp", "expected a smtp:// or smtps:// URL");
		bad = 1;
	}
	int found = str_key(host, c, "starttls", &starttls);
	if (found < 0 || (found == 1 && starttls_parse(starttls) < 0)) {
		if (found == 1)
			host->conf_error(c, "starttls",
			                 "expected \"required\", "
			                 "\"opportunistic\" or \"off\"");
		bad = 1;
	}
	found = str_key(host, c, "from", &from);
	if (found < 0) {
		bad = 1;
	} else if (found == 1) {
		char *name = NULL, *addr = NULL;
		if (email_mailbox_split(from, &name, &addr) < 0) {
			host->conf_error(c, "from",
			                 "expected \"addr@domain\" or \"Name "
			                 "<addr@domain>\"");
			bad = 1;
		}
		free(name);
		free(addr);
	} else if (has_smtp == 1) {
		host->conf_error(c, "from", "is required when smtp is set");
		bad = 1;
	}
	if (str_key(host, c, "username", &s) < 0 || str_key(host, c, "password", &s) < 0 ||
	    str_key(host, c, "ca_file", &s) < 0)
		bad = 1;
	found = str_key(host, c, "spool", &s);
	if (found < 0 || (found == 1 && !*s)) {
		if (found == 1)
			host->conf_error(c, "spool", "must not be empty");
		bad = 1;
	}
	if (int_key(host, c, "timeout", 1, EMAIL_TIMEOUT_MAX) < 0 ||
	    int_key(host, c, "retries", 1, EMAIL_RETRIES_MAX) < 0 ||
	    int_key(host, c, "digest_delay", 0, EMAIL_DIGEST_MAX) < 0)
		bad = 1;
	double base;
	found = host->conf_num(c, "retry_base", &base);
	if (found < 0 || (found == 1 && !(base > 0 && base <= EMAIL_RETRY_BASE_MAX))) {
		if (found == 1)
			host->conf_error(c, "retry_base", "must be over 0 and at most %g s",
			                 EMAIL_RETRY_BASE_MAX);
		bad = 1;
	}
	found = str_key(host, c, "templates", &s);
	if (found < 0) {
		bad = 1;
	} else {
		char *dir = found == 1 ? host->data_path(ctx, s) : NULL;
		if (!is_dir(found == 1 ? dir : default_templates())) {
			host->conf_error(c, "templates", "no templates folder at %s",
			                 found == 1 ? (dir ? dir : s) : default_templates());
			bad = 1;
		}
		host->free(ctx, dir);
	}
	return bad ? PARLEY_EINVAL : PARLEY_OK;
}

static int dup_key(const parley_host *host, const parley_conf *c, const char *key, const char *def,
                   char **out)
{
	const char *s = def;
	host->conf_str(c, key, &s);
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -1 : 0;
}

int email_config_load(const parley_host *host, parley_ctx *ctx, struct email_config *cfg)
{
	const parley_conf *c = host->conf(ctx);
	const char *s = NULL;
	int64_t v;
	double d;
	memset(cfg, 0, sizeof *cfg);
	cfg->starttls = EMAIL_TLS_REQUIRED;
	if (host->conf_str(c, "starttls", &s) == 1)
		cfg->starttls = starttls_parse(s);
	cfg->timeout = host->conf_int(c, "timeout", &v) == 1 ? (long)v : EMAIL_DEFAULT_TIMEOUT;
	cfg->retries = host->conf_int(c, "retries", &v) == 1 ? (long)v : EMAIL_DEFAULT_RETRIES;
	cfg->retry_base = host->conf_num(c, "retry_base", &d) == 1 ? d : EMAIL_DEFAULT_RETRY_BASE;
	cfg->digest_delay =
	    host->conf_int(c, "digest_delay", &v) == 1 ? (long)v : EMAIL_DEFAULT_DIGEST;
	if (dup_key(host, c, "smtp", NULL, &cfg->smtp) < 0 ||
	    dup_key(host, c, "username", NULL, &cfg->username) < 0 ||
	    dup_key(host, c, "password", NULL, &cfg->password) < 0 ||
	    dup_key(host, c, "ca_file", NULL, &cfg->ca_file) < 0)
		goto error;
	s = EMAIL_DEFAULT_FROM;
	host->conf_str(c, "from", &s);
	if (email_mailbox_split(s, &cfg->from_name, &cfg->from_addr) < 0)
		goto error;
	s = EMAIL_DEFAULT_SPOOL;
	host->conf_str(c, "spool", &s);
	char *spool = host->data_path(ctx, s);
	cfg->spool = spool ? strdup(spool) : NULL;
	host->free(ctx, spool);
	if (!cfg->spool)
		goto error;
	if (host->conf_str(c, "templates", &s) == 1) {
		char *dir = host->data_path(ctx, s);
		cfg->templates = dir ? strdup(dir) : NULL;
		host->free(ctx, dir);
	} else {
		cfg->templates = strdup(default_templates());
	}
	if (!cfg->templates)
		goto error;
	return PARLEY_OK;
error:
	email_config_free(cfg);
	return PARLEY_ENOMEM;
}

void email_config_free(struct email_config *cfg)
{
	free(cfg->smtp);
	free(cfg->username);
	free(cfg->password);
	free(cfg->from_name);
	free(cfg->from_addr);
	free(cfg->ca_file);
	free(cfg->spool);
	free(cfg->templates);
	memset(cfg, 0, sizeof *cfg);
}
