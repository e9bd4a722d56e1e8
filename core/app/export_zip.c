/* Zip archives of export folders through libzip (see export_zip.h). */
#include "app/export_zip.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#define ZIP_PATH_MAX 4096

static void say(char *err, size_t errlen, const char *what, const char *detail)
{
	snprintf(err, errlen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

/* Adds the regular files of dir/sub (sub "" for dir itself); recurses once. */
static int add_folder(zip_t *za, const char *dir, const char *sub, size_t *n, char *err,
                      size_t errlen)
{
	char path[ZIP_PATH_MAX], name[ZIP_PATH_MAX];
	snprintf(path, sizeof path, "%s%s%s", dir, *sub ? "/" : "", sub);
	DIR *d = opendir(path);
	if (!d) {
		say(err, errlen, path, strerror(errno));
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		struct stat sb;
		if (snprintf(name, sizeof name, "%s%s%s", sub, *sub ? "/" : "", e->d_name) >=
		        (int)sizeof name ||
		    snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
		    stat(path, &sb) < 0) {
			say(err, errlen, "a name too long or gone", e->d_name);
			rc = -1;
		} else if (S_ISDIR(sb.st_mode) && !*sub) {
			rc = add_folder(za, dir, name, n, err, errlen);
		} else if (S_ISREG(sb.st_mode)) {
			if (++*n > EXPORT_ZIP_MAX_ENTRIES) {
				say(err, errlen, "too many files for one archive", NULL);
				rc = -1;
				break;
			}
			zip_source_t *src = zip_source_file(za, path, 0, -1);
			zip_int64_t idx = src ? zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8) : -1;
			if (idx < 0) {
				zip_source_free(src);
				say(err, errlen, name, zip_strerror(za));
				rc = -1;
			} else if (*sub) {
				/* Files are mostly compressed already (images, PDFs). */
				zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
			}
		}
	}
	closedir(d);
	return rc;
}

int export_zip_write(const char *dir, const char *zip_path, char *err, size_t errlen)
{
	int zerr = 0;
	zip_t *za = zip_open(zip_path, ZIP_CREATE | ZIP_EXCL, &zerr);
	if (!za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		say(err, errlen, "cannot create the archive", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return -1;
	}
	size_t n = 0;
	if (add_folder(za, dir, "", &n, err, errlen) < 0) {
		zip_discard(za);
		return -1;
	}
	/* The files are read here, when the archive is written. */
	if (zip_close(za) < 0) {
		say(err, errlen, "cannot write the archive", zip_strerror(za));
		zip_discard(za);
		unlink(zip_path);
		return -1;
	}
	return 0;
}

/* A name an export can have: one or two parts of [A-Za-z0-9._-], none
 * starting with a dot (so no "..", no hidden files, no absolute path). */
static int name_ok(const char *name)
{
	size_t len = strlen(name);
	int parts = 1;
	if (len == 0 || len > EXPORT_ZIP_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '/') {
			if (++parts > 2 || i + 1 == len)
				return 0;
			continue;
		}
		if ((i == 0 || name[i - 1] == '/') && c == '.')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int extract_one(zip_t *za, zip_uint64_t i, const char *dir, const zip_stat_t *zs, char *err,
                       size_t errlen)
{
	char path[ZIP_PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, zs->name);
	char *slash = strrchr(path + strlen(dir) + 1, '/');
	if (slash) {
		*slash = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			say(err, errlen, path, strerror(errno));
			return -1;
		}
		*slash = '/';
	}
	zip_file_t *zf = zip_fopen_index(za, i, 0);
	int fd = zf ? open(path, O_WRONLY | O_CREAT | O_EXCL, 0600) : -1;
	if (fd < 0) {
		say(err, errlen, zs->name, zf ? strerror(errno) : zip_strerror(za));
		if (zf)
			zip_fclose(zf);
		return -1;
	}
	char buf[65536];
	zip_int64_t got;
	zip_uint64_t total = 0;
	int rc = 0;
	while ((got = zip_fread(zf, buf, sizeof buf)) > 0) {
		total += (zip_uint64_t)got;
		if (total > zs->size) {
			say(err, errlen, zs->name, "longer than its header says");
			rc = -1;
			break;
		}
		if (write(fd, buf, (size_t)got) != got) {
			say(err, errlen, zs->name, strerror(errno));
			rc = -1;
			break;
		}
	}
	if (rc == 0 && (got < 0 || total != zs->size)) {
		say(err, errlen, zs->name, got < 0 ? zip_file_strerror(zf) : "shorter than said");
		rc = -1;
	}
	zip_fclose(zf);
	if (close(fd) < 0 && rc == 0) {
		say(err, errlen, zs->name, strerror(errno));
		rc = -1;
	}
	return rc;
}

int export_zip_extract(const char *zip_path, const char *dir, size_t max_entries, int64_t max_bytes,
                       char *err, size_t errlen)
{
	int zerr = 0;
	zip_t *za = zip_open(zip_path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
	if (!za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		say(err, errlen, "not a readable zip archive", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return -1;
	}
	zip_int64_t n = zip_get_num_entries(za, 0);
	int rc = 0;
	if (n < 0 || (zip_uint64_t)n > max_entries) {
		say(err, errlen, "too many entries", NULL);
		rc = -1;
	}
	/* Every name and size first: nothing is written for a bad archive. */
	zip_uint64_t sum = 0;
	for (zip_int64_t i = 0; rc == 0 && i < n; i++) {
		zip_stat_t zs;
		if (zip_stat_index(za, (zip_uint64_t)i, 0, &zs) < 0 ||
		    !(zs.valid & ZIP_STAT_NAME) || !(zs.valid & ZIP_STAT_SIZE)) {
			say(err, errlen, "an entry without name or size", NULL);
			rc = -1;
		} else if (zs.name[strlen(zs.name) - 1] == '/' && strlen(zs.name) > 1) {
			continue; /* a folder entry */
		} else if (!name_ok(zs.name)) {
			say(err, errlen, "an entry name an export does not have", zs.name);
			rc = -1;
		} else if ((sum += zs.size) > (zip_uint64_t)max_bytes) {
			say(err, errlen, "the archive unpacks to more than the limit", NULL);
			rc = -1;
		}
	}
	if (rc == 0 && mkdir(dir, 0700) < 0) {
		say(err, errlen, dir, strerror(errno));
		rc = -1;
	}
	for (zip_int64_t i = 0; rc == 0 && i < n; i++) {
		zip_stat_t zs;
		zip_stat_index(za, (zip_uint64_t)i, 0, &zs);
		if (zs.name[strlen(zs.name) - 1] == '/')
			continue;
		rc = extract_one(za, (zip_uint64_t)i, dir, &zs, err, errlen);
	}
	zip_discard(za);
	return rc;
}

void export_dir_remove(const char *dir)
{
	char path[ZIP_PATH_MAX];
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat sb;
		if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			DIR *s = opendir(path);
			struct dirent *f;
			char inner[ZIP_PATH_MAX + 256];
			while (s && (f = readdir(s))) {
				if (!strcmp(f->d_name, ".") || !strcmp(f->d_name, ".."))
					continue;
				if (snprintf(inner, sizeof inner, "%s/%s", path, f->d_name) <
				    (int)sizeof inner)
					unlink(inner);
			}
			if (s)
				closedir(s);
			rmdir(path);
		} else {
			unlink(path);
		}
	}
	closedir(d);
	rmdir(dir);
}
