/*
 * ctl.c -- the control directory (/.azblobfs; control=NAME renames it,
 * control=off removes it): copy state, copies and snapshots for tools
 * that only know files. Not listed in the root (find, cp -r and rsync
 * never walk into it), every path in it works.
 *
 *   copies      the copies seen since the mount (ctl_text.c), read
 *   copy        lines "SOURCE DEST" written start copies
 *   snapshot    paths written take snapshots
 *   uploads     background uploads not yet ended, read
 *   metrics     Prometheus text exposition, read
 *   status/P    key=value state of path P of the mount, read
 *   snapshots/P/, versions/P/
 *               the snapshots and versions of P, read-only files
 *               (history.c); the trees are read-only file systems: EROFS
 *
 * A file's content is made when it is opened (so a pending copy is read
 * fresh from the server) and read from memory until it is closed
 * (direct_io: its size shows as 0). The FUSE operations of fs/ are
 * reached through the route_* functions here, which answer for the
 * control directory and hand every other path on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/fs.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

struct ctl_entry {
	const char *name;
	enum ctl_kind kind;
	mode_t mode;
};

static const struct ctl_entry entries[] = {
	{ "copies", CTL_COPIES, S_IFREG | 0444 },
	{ "copy", CTL_COPY, S_IFREG | 0200 },
	{ "snapshot", CTL_SNAPSHOT, S_IFREG | 0200 },
	{ "uploads", CTL_UPLOADS, S_IFREG | 0444 },
	{ "metrics", CTL_METRICS, S_IFREG | 0444 },
	{ "status", CTL_STATUS, S_IFDIR | 0555 },
	{ "snapshots", CTL_SNAPSHOTS, S_IFDIR | 0555 },
	{ "versions", CTL_VERSIONS, S_IFDIR | 0555 },
};
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

/* An open control file: what it reads, or the part of a line written
 * that has no end yet, or the snapshot or version it reads. */
struct ctl_file {
	enum ctl_kind kind;
	struct buf text;
	struct buf line;
	int err;               /* the first error of lines written */
	struct hist_entry hist; /* CTL_SNAPSHOTS, CTL_VERSIONS */
};

/* An open control folder: its entries with the attributes shown. */
struct ctl_dir {
	struct dent *d;
	size_t n;
	int hist;              /* a folder of a tree: files show their size
				* and time */
};

/* is_hist: k is one of the trees of snapshots or versions */
static int is_hist(enum ctl_kind k)
{
	return k == CTL_SNAPSHOTS || k == CTL_VERSIONS;
}

static enum blob_at_kind hist_kind(enum ctl_kind k)
{
	return k == CTL_VERSIONS ? BLOB_AT_VERSION : BLOB_AT_SNAPSHOT;
}

enum ctl_kind azfs_ctl_kind(struct azfs *fs, const char *path, char **rest)
{
	const char *p, *c;
	size_t n, cl, i;

	*rest = NULL;
	if (!fs->o.control || !path || path[0] != '/')
		return CTL_NONE;
	n = strlen(fs->o.control);
	if (strncmp(path + 1, fs->o.control, n) != 0 ||
	    (path[n + 1] != '\0' && path[n + 1] != '/'))
		return CTL_NONE;
	p = path + n + 1;
	while (*p == '/')
		p++;
	if (!*p)
		return CTL_ROOT;
	cl = strcspn(p, "/");
	for (i = 0; i < N_ENTRIES; i++) {
		if (strlen(entries[i].name) != cl || strncmp(p, entries[i].name, cl) != 0)
			continue;
		c = p + cl;
		if (S_ISREG(entries[i].mode))
			return *c ? CTL_MISSING : entries[i].kind;
		while (*c == '/')
			c++;
		if (asprintf(rest, "/%s", c) < 0)
			return CTL_MISSING;
		/* "dir/" is "dir" */
		n = strlen(*rest);
		while (n > 1 && (*rest)[n - 1] == '/')
			(*rest)[--n] = '\0';
		return entries[i].kind;
	}
	return CTL_MISSING;
}

/* ctl_stat: the attributes a control entry shows */
static void ctl_stat(const struct azfs *fs, mode_t mode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = fs->o.uid;
	st->st_gid = fs->o.gid;
	st->st_mtim = core_now();
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
	st->st_blksize = 4096;
}

/* hist_stat: a snapshot or version file: read-only, with its size (and
 * the blocks cp needs to see before it tries copy_file_range) and the
 * time of the listing */
static void hist_stat(const struct azfs *fs, uint64_t size,
		      struct timespec mtime, struct stat *st)
{
	ctl_stat(fs, S_IFREG | 0444, st);
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_mtim = mtime;
	st->st_ctim = mtime;
	st->st_atim = mtime;
}

/* status_mode: what status/PATH is: a folder for a directory, a file for
 * anything else, or -errno */
static int status_mode(struct azfs *fs, const char *path, mode_t *mode)
{
	struct attr a;
	int rc;

	if (strcmp(path, "/") == 0 || (fs->o.control && strcmp(path + 1, fs->o.control) == 0)) {
		*mode = S_IFDIR | 0555;
		return strcmp(path, "/") == 0 ? 0 : -ENOENT;
	}
	rc = meta_lookup(&fs->meta, path, &a);
	if (rc < 0)
		return rc;
	*mode = a.kind == ATTR_DIR ? S_IFDIR | 0555 : S_IFREG | 0444;
	return 0;
}

static int ctl_getattr(struct azfs *fs, enum ctl_kind k, const char *rest,
		       struct stat *st)
{
	mode_t mode = S_IFDIR | 0555;
	size_t i;
	int rc;

	switch (k) {
	case CTL_ROOT:
		break;
	case CTL_STATUS:
		rc = status_mode(fs, rest, &mode);
		if (rc < 0)
			return rc;
		break;
	case CTL_MISSING:
		return -ENOENT;
	case CTL_SNAPSHOTS:
	case CTL_VERSIONS: {
		struct hist_entry e;
		enum hist_what what;

		memset(&e, 0, sizeof(e));
		rc = azfs_hist_resolve(fs, hist_kind(k), rest, &what, &e);
		if (rc < 0)
			return rc;
		if (what == HIST_FILE) {
			hist_stat(fs, e.size, e.mtime, st);
			azfs_hist_entry_release(&e);
			return 0;
		}
		break;
	}
	default:
		for (i = 0; i < N_ENTRIES; i++)
			if (entries[i].kind == k)
				mode = entries[i].mode;
		break;
	}
	ctl_stat(fs, mode, st);
	return 0;
}

static int ctl_opendir(struct azfs *fs, enum ctl_kind k, const char *rest,
		       struct fuse_file_info *fi)
{
	struct ctl_dir *cd = calloc(1, sizeof(*cd));
	mode_t mode;
	size_t i;
	int rc = 0;

	if (!cd)
		return -ENOMEM;
	if (k == CTL_ROOT) {
		cd->d = calloc(N_ENTRIES, sizeof(*cd->d));
		for (i = 0; cd->d && i < N_ENTRIES; i++) {
			cd->d[i].name = strdup(entries[i].name);
			cd->d[i].a.mode = entries[i].mode;
			cd->n++;
		}
		rc = cd->d ? 0 : -ENOMEM;
	} else if (k == CTL_STATUS) {
		rc = status_mode(fs, rest, &mode);
		if (rc == 0 && !S_ISDIR(mode))
			rc = -ENOTDIR;
		if (rc == 0)
			rc = azfs_dir_read(fs, rest, &cd->d, &cd->n);
		for (i = 0; rc == 0 && i < cd->n; i++)
			cd->d[i].a.mode = cd->d[i].a.kind == ATTR_DIR ? S_IFDIR | 0555
				: S_IFREG | 0444;
	} else if (is_hist(k)) {
		cd->hist = 1;
		rc = azfs_hist_dir(fs, hist_kind(k), rest, &cd->d, &cd->n);
	} else {
		rc = k == CTL_MISSING ? -ENOENT : -ENOTDIR;
	}
	if (rc < 0) {
		azfs_dents_free(cd->d, cd->n);
		free(cd);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)cd;
	return 0;
}

static int ctl_readdir(struct azfs *fs, const char *path, void *buf,
		       fuse_fill_dir_t filler, off_t off,
		       struct fuse_file_info *fi)
{
	struct ctl_dir *cd = (struct ctl_dir *)(uintptr_t)fi->fh;
	struct stat st;
	size_t i;

	if (off == 0 && filler(buf, ".", NULL, 1, 0))
		return 0;
	if (off <= 1 && filler(buf, "..", NULL, 2, 0))
		return 0;
	for (i = off > 2 ? (size_t)off - 2 : 0; i < cd->n; i++) {
		/* status/ mirrors the root: without the control directory */
		if (fs->o.control && strcmp(cd->d[i].name, fs->o.control) == 0 &&
		    strchr(path + 1, '/') && !strchr(strchr(path + 1, '/') + 1, '/'))
			continue;
		if (cd->hist && cd->d[i].a.kind == ATTR_FILE)
			hist_stat(fs, cd->d[i].a.size, cd->d[i].a.mtime, &st);
		else if (cd->hist)
			ctl_stat(fs, S_IFDIR | 0555, &st);
		else
			ctl_stat(fs, cd->d[i].a.mode, &st);
		if (filler(buf, cd->d[i].name, &st, (off_t)i + 3, FUSE_FILL_DIR_PLUS))
			break;
	}
	return 0;
}

/* hist_open: a snapshot or version file, for reading only. Its content
 * never changes: the kernel may keep its pages. */
static int hist_open(struct azfs *fs, enum ctl_kind k, const char *rest,
		     struct fuse_file_info *fi)
{
	struct ctl_file *cf;
	enum hist_what what;
	int rc;

	cf = calloc(1, sizeof(*cf));
	if (!cf)
		return -ENOMEM;
	cf->kind = k;
	rc = azfs_hist_resolve(fs, hist_kind(k), rest, &what, &cf->hist);
	if (rc == 0 && what != HIST_FILE)
		rc = -EISDIR;
	else if (rc == 0 && ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)))
		rc = -EROFS;
	if (rc < 0) {
		azfs_hist_entry_release(&cf->hist);
		free(cf);
		return rc;
	}
	buf_init(&cf->text, 0);
	buf_init(&cf->line, 0);
	fi->keep_cache = 1;
	fi->fh = (uint64_t)(uintptr_t)cf;
	return 0;
}

static int ctl_open(struct azfs *fs, enum ctl_kind k, const char *rest,
		    struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE, rc = 0;
	struct ctl_file *cf;

	if (k == CTL_ROOT || k == CTL_MISSING)
		return k == CTL_ROOT ? -EISDIR : -ENOENT;
	if (is_hist(k))
		return hist_open(fs, k, rest, fi);
	if ((k == CTL_COPY || k == CTL_SNAPSHOT) != (acc != O_RDONLY))
		return -EACCES;
	if (k == CTL_COPY || k == CTL_SNAPSHOT) {
		if (fs->o.read_only)
			return -EROFS;
	} else if (acc != O_RDONLY) {
		return -EACCES;
	}
	cf = calloc(1, sizeof(*cf));
	if (!cf)
		return -ENOMEM;
	cf->kind = k;
	buf_init(&cf->text, 0);
	buf_init(&cf->line, 4096);
	if (k != CTL_COPY && k != CTL_SNAPSHOT)
		rc = azfs_ctl_text(fs, k, rest, &cf->text);
	if (rc < 0) {
		buf_release(&cf->text);
		buf_release(&cf->line);
		free(cf);
		return rc;
	}
	fi->direct_io = 1;
	fi->nonseekable = 0;
	fi->fh = (uint64_t)(uintptr_t)cf;
	return 0;
}

static int ctl_read(struct azfs *fs, struct fuse_file_info *fi, char *buf,
		    size_t size, off_t off)
{
	struct ctl_file *cf = (struct ctl_file *)(uintptr_t)fi->fh;
	size_t n;

	if (is_hist(cf->kind))
		return azfs_hist_read(fs, &cf->hist, buf, size, off);
	if ((size_t)off >= cf->text.len)
		return 0;
	n = cf->text.len - (size_t)off < size ? cf->text.len - (size_t)off : size;
	memcpy(buf, cf->text.data + off, n);
	return (int)n;
}

/* one_line: the command of one line written to copy or snapshot; 0 or
 * -errno */
static int one_line(struct azfs *fs, enum ctl_kind k, char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (!*line || *line == '#')
		return 0; /* blank lines and comments are no command */
	return k == CTL_COPY ? azfs_ctl_copy(fs, line) : azfs_ctl_snapshot(fs, line);
}

/* run_lines: every complete line in cf->line is run (each, even after
 * one failed); the rest waits for its end. The first error. */
static int run_lines(struct azfs *fs, struct ctl_file *cf, int all)
{
	char *p = cf->line.data, *nl;
	size_t done;
	int first = 0, rc;

	if (!p)
		return 0;
	while ((nl = memchr(p, '\n', cf->line.len - (size_t)(p - cf->line.data))) ||
	       (all && p < cf->line.data + cf->line.len)) {
		if (nl)
			*nl = '\0';
		else
			cf->line.data[cf->line.len] = '\0';
		rc = one_line(fs, cf->kind, p);
		if (rc < 0 && !first)
			first = rc;
		p = nl ? nl + 1 : cf->line.data + cf->line.len;
	}
	done = (size_t)(p - cf->line.data);
	memmove(cf->line.data, p, cf->line.len - done);
	cf->line.len -= done;
	return first;
}

static int ctl_write(struct azfs *fs, struct fuse_file_info *fi,
		     const char *buf, size_t size)
{
	struct ctl_file *cf = (struct ctl_file *)(uintptr_t)fi->fh;
	int rc;

	if (memchr(buf, '\0', size))
		return -EINVAL;
	if (buf_append(&cf->line, buf, size) < 0 || buf_append(&cf->line, "", 1) < 0)
		return -E2BIG;
	cf->line.len--; /* the '\0' stays after the bytes, not in them */
	rc = run_lines(fs, cf, 0);
	return rc < 0 ? rc : (int)size;
}

static int ctl_flush(struct azfs *fs, struct fuse_file_info *fi)
{
	struct ctl_file *cf = (struct ctl_file *)(uintptr_t)fi->fh;

	/* a last line without its newline runs at close */
	if (cf->kind == CTL_COPY || cf->kind == CTL_SNAPSHOT)
		return run_lines(fs, cf, 1);
	return 0;
}

static void ctl_release(struct fuse_file_info *fi)
{
	struct ctl_file *cf = (struct ctl_file *)(uintptr_t)fi->fh;

	buf_release(&cf->text);
	buf_release(&cf->line);
	azfs_hist_entry_release(&cf->hist);
	free(cf);
}

/* ---- routing: the control directory, or the operation of fs/ ---- */

#define CTL_OR(path, k, rest) \
	struct azfs *fs = azfs_get(); \
	char *rest = NULL; \
	enum ctl_kind k = azfs_ctl_kind(fs, path, &rest)

int route_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);
	int rc;

	if (k == CTL_NONE)
		return azfs_getattr(path, st, fi);
	rc = ctl_getattr(fs, k, rest, st);
	free(rest);
	return rc;
}

int route_opendir(const char *path, struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);
	int rc;

	if (k == CTL_NONE)
		return azfs_opendir(path, fi);
	rc = ctl_opendir(fs, k, rest, fi);
	free(rest);
	return rc;
}

int route_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		  off_t off, struct fuse_file_info *fi,
		  enum fuse_readdir_flags flags)
{
	CTL_OR(path, k, rest);

	free(rest);
	if (k == CTL_NONE)
		return azfs_readdir(path, buf, filler, off, fi, flags);
	return ctl_readdir(fs, path, buf, filler, off, fi);
}

int route_releasedir(const char *path, struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);
	struct ctl_dir *cd;

	free(rest);
	(void)fs;
	if (k == CTL_NONE)
		return azfs_releasedir(path, fi);
	cd = (struct ctl_dir *)(uintptr_t)fi->fh;
	azfs_dents_free(cd->d, cd->n);
	free(cd);
	return 0;
}

int route_open(const char *path, struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);
	int rc;

	if (k == CTL_NONE)
		return azfs_open(path, fi);
	rc = ctl_open(fs, k, rest, fi);
	free(rest);
	return rc;
}

int route_read(const char *path, char *buf, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);

	free(rest);
	if (k == CTL_NONE)
		return azfs_read(path, buf, size, off, fi);
	return ctl_read(fs, fi, buf, size, off);
}

int route_write(const char *path, const char *buf, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);

	free(rest);
	if (k == CTL_NONE)
		return azfs_write(path, buf, size, off, fi);
	return ctl_write(fs, fi, buf, size);
}

int route_flush(const char *path, struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);

	free(rest);
	if (k == CTL_NONE)
		return azfs_flush(path, fi);
	return ctl_flush(fs, fi);
}

int route_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);

	free(rest);
	(void)fs;
	if (k == CTL_NONE)
		return azfs_fsync(path, datasync, fi);
	return 0;
}

int route_release(const char *path, struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);

	free(rest);
	(void)fs;
	if (k == CTL_NONE)
		return azfs_release(path, fi);
	ctl_release(fi);
	return 0;
}

int route_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	CTL_OR(path, k, rest);

	free(rest);
	(void)fs;
	if (k == CTL_NONE)
		return azfs_truncate(path, size, fi);
	if (is_hist(k))
		return -EROFS;
	/* "echo ... > copy" truncates before it writes */
	return k == CTL_COPY || k == CTL_SNAPSHOT ? 0 : -EACCES;
}

ssize_t route_copy_file_range(const char *path_in, struct fuse_file_info *fi_in,
			      off_t off_in, const char *path_out,
			      struct fuse_file_info *fi_out, off_t off_out,
			      size_t len, int flags)
{
	CTL_OR(path_in, k, rest);
	char *rest_out = NULL;
	enum ctl_kind k_out = azfs_ctl_kind(fs, path_out, &rest_out);
	struct ctl_file *cf;
	struct buf url;
	ssize_t rc;

	free(rest);
	free(rest_out);
	if (k_out != CTL_NONE)
		return -EOPNOTSUPP;
	if (k == CTL_NONE)
		return azfs_copy_file_range(path_in, fi_in, off_in, path_out, fi_out,
					    off_out, len, flags);
	if (!is_hist(k))
		return -EOPNOTSUPP;
	/* a restore: Copy Blob from the snapshot or version */
	cf = (struct ctl_file *)(uintptr_t)fi_in->fh;
	buf_init(&url, 0);
	rc = azfs_hist_url(fs, &cf->hist, &url);
	if (rc == 0)
		rc = azfs_copy_range_url(url.data, cf->hist.size, off_in, path_out,
					 fi_out, off_out, len, flags);
	buf_release(&url);
	return rc;
}

int azfs_ctl_refuse(const char *path)
{
	CTL_OR(path, k, rest);

	free(rest);
	(void)fs;
	if (is_hist(k))
		return -EROFS;
	return k == CTL_NONE ? 0 : -EPERM;
}
