/* pc_persist.c -- what must survive an unmount: the setup phase makes
 * files with chosen modes, owners, device numbers and times in
 * DIR/persist, and the verify phase, run after a remount (a fresh daemon
 * with an empty cache), finds each one as it was left. The driver adds
 * "flocked" in between, with util-linux flock under umask 022. */
#define _GNU_SOURCE
#include "pc.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FILE_SEC 1000000000
#define FILE_NSEC 250000000L
#define DIR_SEC 1100000000
#define MOVED_SEC 1200000000

/* ---- setup ---- */

static void su_file(struct t *t)
{
	if (mk_file(t, "file", "persist\n", 0640) && set_owner(t, "file", 1234, 5678))
		set_mtime(t, "file", FILE_SEC, FILE_NSEC);
}

static void su_dir(struct t *t)
{
	if (mk_dir(t, "dir", 0750) && mk_file(t, "dir/inner", "inner", 0600) &&
	    set_owner(t, "dir", 4321, 8765))
		set_mtime(t, "dir", DIR_SEC, 0);
}

static void su_fifo(struct t *t)
{
	t_ok(t, "mkfifo(fifo, 0620)", mkfifo("fifo", 0620));
}

static void su_socket(struct t *t)
{
	t_ok(t, "mknod(sock, S_IFSOCK|0600)", mknod("sock", S_IFSOCK | 0600, 0));
}

static void su_char(struct t *t)
{
	t_ok(t, "mknod(chr, S_IFCHR|0640, 1:3)", mknod("chr", S_IFCHR | 0640, makedev(1, 3)));
}

static void su_block(struct t *t)
{
	t_ok(t, "mknod(blk, S_IFBLK|0660, 7:3)", mknod("blk", S_IFBLK | 0660, makedev(7, 3)));
}

static void su_rdonly(struct t *t)
{
	int fd = open("rdonly", O_RDONLY | O_CREAT, 0604);

	if (t_ok(t, "open(rdonly, O_RDONLY|O_CREAT, 0604)", fd))
		t_ok(t, "close(rdonly)", close(fd));
}

static void su_excl(struct t *t)
{
	int fd = open("excl", O_CREAT | O_EXCL | O_WRONLY, 0600);

	if (t_ok(t, "open(excl, O_CREAT|O_EXCL|O_WRONLY, 0600)", fd))
		t_ok(t, "close(excl)", close(fd));
}

static void su_suid(struct t *t)
{
	if (mk_file(t, "suid", "#!/bin/sh\n", 0644))
		set_mode(t, "suid", 04755);
}

static void su_symlink(struct t *t)
{
	if (mk_symlink(t, "file", "link"))
		set_owner(t, "link", 2222, 3333);
}

static void su_renamed(struct t *t)
{
	if (mk_file(t, "before", "moved", 0600) && set_owner(t, "before", 1111, 2222) &&
	    set_mtime(t, "before", MOVED_SEC, 0))
		t_ok(t, "rename(before, renamed)", rename("before", "renamed"));
}

static void su_other(struct t *t)
{
	struct pc_op cr = { .kind = OP_CREATE, .a = "shared/byother", .flags = O_WRONLY,
			    .mode = 0640 };

	if (mk_dir(t, "shared", 0777))
		t_other(t, "open(shared/byother, O_CREAT, 0640)", &cr, 0, 0);
}

const struct pc_check pc_persist_setup[] = {
	{ "persist_setup.file", su_file, 0 },
	{ "persist_setup.dir", su_dir, 0 },
	{ "persist_setup.fifo", su_fifo, 0 },
	{ "persist_setup.socket", su_socket, 0 },
	{ "persist_setup.char", su_char, 0 },
	{ "persist_setup.block", su_block, 0 },
	{ "persist_setup.rdonly_creat", su_rdonly, 0 },
	{ "persist_setup.excl_empty", su_excl, 0 },
	{ "persist_setup.suid", su_suid, 0 },
	{ "persist_setup.symlink", su_symlink, 0 },
	{ "persist_setup.renamed", su_renamed, 0 },
	{ "persist_setup.other_user", su_other, 0 },
	{ NULL, NULL, 0 },
};

/* ---- verify ---- */

static void ve_file(struct t *t)
{
	t_mode(t, "file", S_IFREG | 0640);
	t_owner(t, "file", 1234, 5678);
	t_content_str(t, "file", "persist\n");
	t_mtime(t, "file", FILE_SEC, FILE_NSEC);
}

static void ve_dir(struct t *t)
{
	t_mode(t, "dir", S_IFDIR | 0750);
	t_owner(t, "dir", 4321, 8765);
	t_mtime(t, "dir", DIR_SEC, 0);
	t_mode(t, "dir/inner", S_IFREG | 0600);
	t_content_str(t, "dir/inner", "inner");
}

static void ve_fifo(struct t *t)
{
	t_mode(t, "fifo", S_IFIFO | 0620);
	t_owner(t, "fifo", getuid(), getgid());
	t_size(t, "fifo", 0);
}

static void ve_socket(struct t *t)
{
	t_mode(t, "sock", S_IFSOCK | 0600);
	t_size(t, "sock", 0);
}

static void ve_char(struct t *t)
{
	t_mode(t, "chr", S_IFCHR | 0640);
	t_rdev(t, "chr", makedev(1, 3));
	t_size(t, "chr", 0);
}

static void ve_block(struct t *t)
{
	t_mode(t, "blk", S_IFBLK | 0660);
	t_rdev(t, "blk", makedev(7, 3));
	t_size(t, "blk", 0);
}

static void ve_rdonly(struct t *t)
{
	t_mode(t, "rdonly", S_IFREG | 0604);
	t_owner(t, "rdonly", getuid(), getgid());
	t_size(t, "rdonly", 0);
}

static void ve_excl(struct t *t)
{
	t_mode(t, "excl", S_IFREG | 0600);
	t_size(t, "excl", 0);
}

static void ve_suid(struct t *t)
{
	t_mode(t, "suid", S_IFREG | 04755);
	t_content_str(t, "suid", "#!/bin/sh\n");
}

static void ve_symlink(struct t *t)
{
	char buf[16];
	ssize_t n;

	t_mode(t, "link", S_IFLNK | 0777);
	t_owner(t, "link", 2222, 3333);
	n = readlink("link", buf, sizeof(buf));
	if (t_eq(t, "readlink(link)", 4, n) && memcmp(buf, "file", 4) != 0)
		t_fail(t, "readlink(link): expected \"file\", got \"%.4s\"", buf);
}

static void ve_renamed(struct t *t)
{
	t_absent(t, "before");
	t_mode(t, "renamed", S_IFREG | 0600);
	t_owner(t, "renamed", 1111, 2222);
	t_mtime(t, "renamed", MOVED_SEC, 0);
	t_content_str(t, "renamed", "moved");
}

static void ve_other(struct t *t)
{
	t_mode(t, "shared", S_IFDIR | 0777);
	t_mode(t, "shared/byother", S_IFREG | 0640);
	t_owner(t, "shared/byother", t->o->other_uid, t->o->other_gid);
}

static void ve_flocked(struct t *t)
{
	t_mode(t, "flocked", S_IFREG | 0644);
	t_owner(t, "flocked", getuid(), getgid());
	t_size(t, "flocked", 0);
}

const struct pc_check pc_persist_verify[] = {
	{ "persist.file", ve_file, 0 },
	{ "persist.dir", ve_dir, 0 },
	{ "persist.fifo", ve_fifo, 0 },
	{ "persist.socket", ve_socket, 0 },
	{ "persist.char", ve_char, 0 },
	{ "persist.block", ve_block, 0 },
	{ "persist.rdonly_creat", ve_rdonly, 0 },
	{ "persist.excl_empty", ve_excl, 0 },
	{ "persist.suid", ve_suid, 0 },
	{ "persist.symlink", ve_symlink, 0 },
	{ "persist.renamed", ve_renamed, 0 },
	{ "persist.other_user", ve_other, 0 },
	{ "persist.flocked", ve_flocked, 0 },
	{ NULL, NULL, 0 },
};
