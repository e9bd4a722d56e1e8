/* notify_email: the e-mail notify provider.
 *
 * send() checks the address and names (no header injection), renders the
 * kind's templates, builds the whole message (message.c) and hands it to a
 * worker that writes it durably into the spool; only then is done(OK)
 * called. With `smtp` set the file lands in <spool>/queue/ and the outbox
 * delivers it through libcurl on the host's multi, with retries; without,
 * it lands in <spool>/ as an .eml for a person or another program to pick
 * up, and the log says where.
 *
 * Shutdown: a spool write still running on a worker when fini() comes
 * keeps the state alive (jobs counts them); the last one frees it. Queued
 * files stay on disk and go out after the next start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

#include "config.h"
#include "digest.h"
#include "message.h"
#include "outbox.h"
#include "spool.h"
#include "template.h"

#define EMAIL_RANDOM_BYTES (EMAIL_ID_HEX / 2)
#define EMAIL_EXTRA_VARS   4 /* server_name, public_url, name, email */
#define EMAIL_ERR_MAX      512
#define EMAIL_UNSUB_VAR    "unsubscribe_link"

struct email {
	const parley_host *host;
	parley_ctx *ctx;
	struct email_config cfg;
	struct outbox *outbox; /* smtp mode, serving only */
	parley_timer *recover_timer;
	parley_metric *spooled;
	struct digest *digest; /* offline digests, serving only */
	int jobs;              /* spool writes on workers */
	int closed;            /* fini ran; the last job frees */
};

/* One spool write: built on the loop, written on a worker. */
struct job {
	struct email *em;
	char id[EMAIL_ID_HEX + 1];
	char *data;
	size_t len;
	char dir[4096];
	int rc;
	char err[EMAIL_ERR_MAX];
	char to[EMAIL_ADDR_MAX + 1];
	parley_notify_done done;
	void *ud;
};

static void email_free(struct email *em)
{
	email_config_free(&em->cfg);
	free(em);
}

static int email_check(const parley_host *host, parley_ctx *ctx)
{
	return email_config_check(host, ctx);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void job_work(void *arg)
{
	struct job *j = arg;
	char name[EMAIL_ID_HEX + sizeof EMAIL_EML_EXT];
	snprintf(name, sizeof name, "%s%s", j->id, EMAIL_EML_EXT);
	j->rc = email_spool_write(j->dir, name, j->data, j->len, j->err, sizeof j->err);
}

static void job_done(void *arg, int cancelled)
{
	struct job *j = arg;
	struct email *em = j->em;
	em->jobs--;
	if (cancelled) {
		j->done(j->ud, PARLEY_EUNAVAIL, "the server is stopping");
	} else if (j->rc < 0) {
		if (!em->closed)
			em->host->log(em->ctx, PARLEY_LOG_ERROR, "mail_spool_error",
			              "cannot spool mail to %s: %s", j->to, j->err);
		j->done(j->ud, PARLEY_ERR, "cannot write the mail spool");
	} else if (em->closed) {
		/* Durable in the queue: it goes out after the next start. */
		j->done(j->ud, PARLEY_OK, NULL);
	} else if (em->outbox) {
		em->host->log(em->ctx, PARLEY_LOG_INFO, "mail_queued", "mail %s to %s queued in %s",
		              j->id, j->to, j->dir);
		j->done(j->ud, PARLEY_OK, NULL);
		if (em->outbox) /* done() may not stop us, but be sure */
			outbox_add(em->outbox, j->id);
	} else {
		em->host->log(em->ctx, PARLEY_LOG_INFO, "mail_spooled",
		              "no SMTP server configured: mail %s to %s written to %s/%s%s", j->id,
		              j->to, j->dir, j->id, EMAIL_EML_EXT);
		em->host->metric_add(em->spooled, 1);
		j->done(j->ud, PARLEY_OK, NULL);
	}
	free(j->data);
	free(j);
	if (em->closed && em->jobs == 0)
		email_free(em);
}

/* Refuses what could smuggle a header in, with a clear log line. */
static int refuse(struct email *em, const char *what, const char *value)
{
	em->host->log(
	    em->ctx, PARLEY_LOG_WARN, "mail_refused", "refused a notification: %s %s", what,
	    value && !email_header_safe(value) ? "contains CR, LF or another control character"
	                                       : "is not valid");
	return PARLEY_EINVAL;
}

/* 1 when name ends in "_html": such a value goes into the HTML part as
 * it is, so only the plugin's own (escaped) values may use it. */
static int raw_html_var(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n >= 5 && strcmp(name + n - 5, "_html") == 0;
}

static int email_deliver(void *self, const parley_notify_msg *msg, int trusted,
                         parley_notify_done done, void *ud)
{
	struct email *em = self;
	const parley_host *host = em->host;
	struct email_rendered r = {0};
	const char **vars = NULL;
	struct job *j = NULL;
	char err[EMAIL_ERR_MAX];
	int rc = PARLEY_ERR;

	if (!msg || !msg->kind || !email_kind_valid(msg->kind))
		return refuse(em, "the kind", msg ? msg->kind : NULL);
	if (!msg->to || !email_header_safe(msg->to) || !email_addr_valid(msg->to))
		return refuse(em, "the address (to)", msg->to);
	if (msg->to_name && !email_header_safe(msg->to_name))
		return refuse(em, "the name (to_name)", msg->to_name);
	if (msg->n_vars && !msg->vars)
		return PARLEY_EINVAL;
	for (size_t i = 0; !trusted && i < msg->n_vars; i++)
		if (raw_html_var(msg->vars[2 * i]))
			return refuse(em, "the variable", msg->vars[2 * i]);

	/* The message's own variables first: they win over the defaults. */
	size_t n = msg->n_vars + EMAIL_EXTRA_VARS;
	vars = calloc(2 * n, sizeof *vars);
	if (!vars)
		return PARLEY_ENOMEM;
	for (size_t i = 0; i < 2 * msg->n_vars; i++)
		vars[i] = msg->vars[i];
	const char **extra = vars + 2 * msg->n_vars;
	extra[0] = "server_name", extra[1] = host->server_name(em->ctx);
	extra[2] = "public_url", extra[3] = host->public_url(em->ctx);
	extra[4] = "name", extra[5] = msg->to_name ? msg->to_name : msg->to;
	extra[6] = "email", extra[7] = msg->to;

	if (email_template_render(em->cfg.templates, msg->kind, vars, n, &r, err, sizeof err) < 0) {
		host->log(em->ctx, PARLEY_LOG_ERROR, "mail_template", "%s", err);
		goto done;
	}
	if (!email_header_safe(r.subject) || !*r.subject) {
		rc = refuse(em, "the subject", r.subject);
		goto done;
	}
	const char *unsub = NULL;
	for (size_t i = 0; i < msg->n_vars; i++)
		if (msg->vars[2 * i] && strcmp(msg->vars[2 * i], EMAIL_UNSUB_VAR) == 0)
			unsub = msg->vars[2 * i + 1];
	if (unsub && (!email_header_safe(unsub) || strchr(unsub, '>'))) {
		rc = refuse(em, "the unsubscribe link", unsub);
		goto done;
	}

	unsigned char rnd[2 * EMAIL_RANDOM_BYTES];
	char seed[EMAIL_ID_HEX + 1];
	if (!(j = calloc(1, sizeof *j)) || host->random(rnd, sizeof rnd) != 0) {
		rc = j ? PARLEY_ERR : PARLEY_ENOMEM;
		goto done;
	}
	hex(rnd, EMAIL_RANDOM_BYTES, j->id);
	hex(rnd + EMAIL_RANDOM_BYTES, EMAIL_RANDOM_BYTES, seed);
	struct email_parts parts = {
	    .from_name = em->cfg.from_name,
	    .from_addr = em->cfg.from_addr,
	    .to_name = msg->to_name,
	    .to_addr = msg->to,
	    .subject = r.subject,
	    .text = r.text,
	    .html = r.html,
	    .id = j->id,
	    .boundary_seed = seed,
	    .list_unsubscribe = unsub,
	    .date_ms = host->now_ms(),
	};
	if (!(j->data = email_message_build(&parts, &j->len))) {
		rc = PARLEY_ENOMEM;
		goto done;
	}
	j->em = em;
	j->done = done;
	j->ud = ud;
	snprintf(j->to, sizeof j->to, "%s", msg->to);
	if (em->cfg.smtp)
		snprintf(j->dir, sizeof j->dir, "%s/%s", em->cfg.spool, EMAIL_QUEUE_DIR);
	else
		snprintf(j->dir, sizeof j->dir, "%s", em->cfg.spool);
	if (host->submit(em->ctx, job_work, job_done, j) != PARLEY_OK) {
		rc = PARLEY_EUNAVAIL;
		goto done;
	}
	em->jobs++;
	j = NULL;
	rc = PARLEY_PENDING;
done:
	if (j)
		free(j->data);
	free(j);
	email_rendered_free(&r);
	free(vars);
	return rc;
}

static int email_send(void *self, const parley_notify_msg *msg, parley_notify_done done, void *ud)
{
	return email_deliver(self, msg, 0, done, ud);
}

static const parley_notify_vtable email_vtable = {
    .struct_size = sizeof(parley_notify_vtable),
    .send = email_send,
};

/* The first loop turn after start: send what an earlier run left queued. */
static void recover_fire(void *arg)
{
	struct email *em = arg;
	em->recover_timer = NULL; /* one-shot: freed by the host after this call */
	int n = outbox_recover(em->outbox);
	if (n > 0)
		em->host->log(em->ctx, PARLEY_LOG_INFO, "mail_recovered",
		              "%d queued mail(s) from an earlier run to send", n);
}

static int email_init(const parley_host *host, parley_ctx *ctx, void **state)
{
	struct email *em = calloc(1, sizeof *em);
	if (!em)
		return PARLEY_ENOMEM;
	em->host = host;
	em->ctx = ctx;
	if (email_config_load(host, ctx, &em->cfg) != PARLEY_OK) {
		free(em);
		return PARLEY_ENOMEM;
	}
	/* Admin commands (parley user add …) send no mail. */
	if (host->is_admin_command(ctx)) {
		*state = em;
		return PARLEY_OK;
	}
	if (email_spool_prepare(em->cfg.spool) < 0) {
		host->log(ctx, PARLEY_LOG_ERROR, "mail_spool_error", "cannot create the spool %s",
		          em->cfg.spool);
		goto error;
	}
	em->spooled = host->counter(ctx, "mail_spooled",
	                            "Mail written to the spool folder "
	                            "(no SMTP server configured)");
	if (em->cfg.smtp) {
		em->outbox = outbox_new(host, ctx, &em->cfg);
		em->recover_timer =
		    em->outbox ? host->timer_start(ctx, 0., 0., recover_fire, em) : NULL;
		if (!em->recover_timer)
			goto error;
	}
	if (host->provide(ctx, PARLEY_PROVIDE_NOTIFY, &email_vtable, em) != PARLEY_OK)
		goto error;
	em->digest = digest_new(host, ctx, em->cfg.digest_delay, email_deliver, em);
	if (!em->digest || digest_start(em->digest) != PARLEY_OK)
		goto error;
	if (em->cfg.smtp)
		host->log(ctx, PARLEY_LOG_INFO, "mail_ready",
		          "mail goes out through %s (starttls %s), queued in %s/%s",
		          strchr(em->cfg.smtp, '@') ? "the configured SMTP server" : em->cfg.smtp,
		          em->cfg.starttls == EMAIL_TLS_REQUIRED        ? "required"
		          : em->cfg.starttls == EMAIL_TLS_OPPORTUNISTIC ? "opportunistic"
		                                                        : "off",
		          em->cfg.spool, EMAIL_QUEUE_DIR);
	else
		host->log(ctx, PARLEY_LOG_INFO, "mail_ready",
		          "no SMTP server configured: mail is written as .eml files to %s",
		          em->cfg.spool);
	*state = em;
	return PARLEY_OK;
error:
	digest_free(em->digest);
	if (em->recover_timer)
		host->timer_stop(em->recover_timer);
	outbox_free(em->outbox);
	email_free(em);
	return PARLEY_ERR;
}

static void email_fini(void *state)
{
	struct email *em = state;
	if (!em)
		return;
	if (em->recover_timer)
		em->host->timer_stop(em->recover_timer);
	em->recover_timer = NULL;
	digest_free(em->digest);
	em->digest = NULL;
	outbox_free(em->outbox);
	em->outbox = NULL;
	em->closed = 1;
	if (em->jobs == 0)
		email_free(em);
}

static const parley_plugin email_plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "notify_email",
    .version = "0.1.0",
    .check = email_check,
    .init = email_init,
    .fini = email_fini,
};

PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(email_plugin)
