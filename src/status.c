/*
 * status.c -- "azblobfs status MOUNTPOINT [--watch]": the pending copies
 * and uploads of a mount, read from its control directory (copies,
 * uploads), with a progress bar each on a terminal (bytes, percent, rate,
 * time left) and plain lines otherwise. --watch refreshes until nothing
 * is pending. Exit status: 0 when every copy and upload ended well, 1
 * when a copy failed or was aborted or an upload is stuck, 2 when
 * MOUNTPOINT is not an azblobfs mount.
 *
 * Layer: the top (main). Reads files only; no request of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "status.h"

#define MAX_ITEMS 4096
#define BAR 30

struct item {
	int upload;            /* 0: a copy */
	char state[16];        /* pending, success, failed, aborted, stuck */
	long long bytes, total; /* -1: unknown */
	char path[PATH_MAX];
	double rate;           /* bytes/s, < 0: unknown */
};

struct view {
	struct item it[MAX_ITEMS];
	size_t n;
};

/* fstype_of: the file system type of the mount at dir, from mountinfo */
static int fstype_of(const char *dir, char *type, size_t len)
{
	char line[8192], mnt[PATH_MAX], fst[256];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTS */
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash + 3, "%255s", fst) != 1)
			continue;
		if (strcmp(mnt, dir) == 0) {
			snprintf(type, len, "%s", fst); /* the last mount wins */
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

/* read_file: dir/name into a malloc'd string, NULL on failure */
static char *read_file(const char *dir, const char *name)
{
	char path[PATH_MAX * 2], *data = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (len + 4096 + 1 > cap) {
			char *nd = realloc(data, cap = cap ? cap * 2 : 65536);

			if (!nd)
				break;
			data = nd;
		}
		got = fread(data + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	if (data)
		data[len] = '\0';
	return data;
}

/* fields: splits line at tabs into at most max fields */
static int fields(char *line, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

/* load: the copies and uploads of the control directory ctl into v. 0,
 * or -1 when they cannot be read */
static int load(const char *ctl, struct view *v)
{
	char *copies = read_file(ctl, "copies"), *uploads = read_file(ctl, "uploads");
	char *line, *save = NULL, *f[8];
	int rc = copies && uploads ? 0 : -1;

	v->n = 0;
	for (line = copies ? strtok_r(copies, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct item *it = &v->it[v->n];

		if (strncmp(line, "status\t", 7) == 0 || fields(line, f, 8) < 4 ||
		    v->n == MAX_ITEMS)
			continue;
		memset(it, 0, sizeof(*it));
		snprintf(it->state, sizeof(it->state), "%s", f[0]);
		if (sscanf(f[1], "%lld/%lld", &it->bytes, &it->total) != 2)
			it->bytes = it->total = -1;
		snprintf(it->path, sizeof(it->path), "%s", f[3]);
		it->rate = -1;
		v->n++;
	}
	for (line = uploads ? strtok_r(uploads, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct item *it = &v->it[v->n];
		int nf = fields(line, f, 4);

		if (nf < 2 || v->n == MAX_ITEMS)
			continue;
		memset(it, 0, sizeof(*it));
		it->upload = 1;
		snprintf(it->state, sizeof(it->state), "%s",
			 nf >= 4 && *f[3] ? "stuck" : "pending");
		it->bytes = -1;
		it->total = strtoll(f[1], NULL, 10);
		snprintf(it->path, sizeof(it->path), "%s", f[0]);
		it->rate = -1;
		v->n++;
	}
	free(copies);
	free(uploads);
	return rc;
}

/* rates: the rate of each pending item of now from then, dt s earlier */
static void rates(struct view *now, const struct view *then, double dt)
{
	size_t i, k;

	for (i = 0; i < now->n && dt > 0; i++) {
		for (k = 0; k < then->n; k++) {
			if (now->it[i].upload == then->it[k].upload &&
			    strcmp(now->it[i].path, then->it[k].path) == 0 &&
			    now->it[i].bytes >= 0 && then->it[k].bytes >= 0) {
				now->it[i].rate = (double)(now->it[i].bytes - then->it[k].bytes) / dt;
				break;
			}
		}
	}
}

static void human(double b, char *out, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(out, len, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/* show: one line per item; with a bar on a terminal */
static void show(const struct view *v, int tty)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct item *it = &v->it[i];
		double pc = it->total > 0 && it->bytes >= 0 ? 100.0 * (double)it->bytes / (double)it->total
			: strcmp(it->state, "success") == 0 ? 100.0 : 0.0;
		char done[32] = "-", total[32] = "-", rate[32] = "-", eta[32] = "-";
		char bar[BAR + 1];
		int k, fill = (int)(pc * BAR / 100.0);

		if (it->bytes >= 0)
			human((double)it->bytes, done, sizeof(done));
		if (it->total >= 0)
			human((double)it->total, total, sizeof(total));
		if (it->rate > 0) {
			human(it->rate, rate, sizeof(rate));
			strcat(rate, "/s");
			if (it->total >= it->bytes && it->bytes >= 0) {
				long s = (long)((double)(it->total - it->bytes) / it->rate);

				snprintf(eta, sizeof(eta), "%ld:%02ld", s / 60, s % 60);
			}
		}
		if (!tty) {
			printf("%s %s %s/%s %.1f%% %s %s %s\n", it->upload ? "upload" : "copy",
			       it->state, done, total, pc, rate, eta, it->path);
			continue;
		}
		for (k = 0; k < BAR; k++)
			bar[k] = k < fill ? '#' : '.';
		bar[BAR] = '\0';
		printf("\033[2K%-6s %-8s [%s] %5.1f%% %10s of %-10s %12s  eta %-7s %s\n",
		       it->upload ? "upload" : "copy", it->state, bar, pc, done, total,
		       rate, eta, it->path);
	}
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ended_well: no copy failed or was aborted, no upload is stuck */
static int ended_well(const struct view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->it[i].state, "failed") || !strcmp(v->it[i].state, "aborted") ||
		    !strcmp(v->it[i].state, "stuck"))
			return 0;
	return 1;
}

static int pending(const struct view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->it[i].state, "pending"))
			return 1;
	return 0;
}

/* control_of: the control directory of mount mnt into out; 0, or 2 with
 * the reason on stderr */
static int control_of(const char *arg, char *mnt, size_t mlen, char *out,
		      size_t olen)
{
	char type[256] = "", name[256];
	ssize_t n;

	if (!realpath(arg, mnt) || fstype_of(mnt, type, sizeof(type)) < 0 ||
	    strcmp(type, "fuse.azblobfs") != 0) {
		fprintf(stderr, "azblobfs status: %s is not an azblobfs mount%s%s\n", arg,
			*type ? " but " : "", type);
		return 2;
	}
	(void)mlen;
	n = getxattr(mnt, "user.azblob.control", name, sizeof(name) - 1);
	if (n <= 0) {
		fprintf(stderr, "azblobfs status: %s has no control directory (control=off)\n", arg);
		return 2;
	}
	name[n] = '\0';
	snprintf(out, olen, "%s/%s", mnt, name);
	return 0;
}

int status_main(int argc, char *argv[])
{
	static struct view now, then;
	char mnt[PATH_MAX], ctl[PATH_MAX + 300];
	int watch = 0, tty = isatty(STDOUT_FILENO), i, rc, lines = 0;
	const char *arg = NULL;
	double t0, t1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0 || strcmp(argv[i], "-w") == 0)
			watch = 1;
		else if (!arg && argv[i][0] != '-')
			arg = argv[i];
		else
			arg = NULL, i = argc;
	}
	if (!arg) {
		fprintf(stderr, "usage: azblobfs status MOUNTPOINT [--watch]\n");
		return 2;
	}
	rc = control_of(arg, mnt, sizeof(mnt), ctl, sizeof(ctl));
	if (rc)
		return rc;
	t0 = mono();
	if (load(ctl, &then) < 0) {
		fprintf(stderr, "azblobfs status: cannot read %s/copies: %s\n", ctl, strerror(errno));
		return 2;
	}
	now = then;
	do {
		/* a second between two looks gives the rates */
		if (pending(&then)) {
			sleep(1);
			t1 = mono();
			if (load(ctl, &now) < 0)
				return 2;
			rates(&now, &then, t1 - t0);
			then = now;
			t0 = t1;
		}
		if (tty && lines)
			printf("\033[%dA", lines);
		show(&now, tty);
		lines = (int)now.n;
		fflush(stdout);
	} while (watch && pending(&now));
	return ended_well(&now) ? 0 : 1;
}
