/* pc_perm.c -- posixcheck's checks of permissions: an unprivileged user
 * (uid and gid 65534 unless told otherwise, no supplementary groups)
 * creates, opens, removes and changes files that root made, and the
 * owner, the mode bits and the sticky bit decide, as POSIX says. On a
 * FUSE mount this is the kernel's work (default_permissions) from the
 * attributes the file system reports: a mode or owner the file system
 * lost shows up here as access wrongly given or refused. */
#define _GNU_SOURCE
#include "pc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define OTHER_U(t) ((t)->o->other_uid)
#define OTHER_G(t) ((t)->o->other_gid)

static void ck_create_in_0777(struct t *t)
{
	struct pc_op cr = { .kind = OP_CREATE, .a = "d/f", .flags = O_WRONLY, .mode = 0640 };
	struct pc_op md = { .kind = OP_MKDIR, .a = "d/s", .mode = 0750 };
	struct pc_op fifo = { .kind = OP_MKNOD, .a = "d/p", .mode = S_IFIFO | 0600 };

	if (!mk_dir(t, "d", 0777))
		return;
	if (t_other(t, "open(d/f, O_CREAT, 0640) in a 0777 directory", &cr, 0, 0)) {
		t_mode(t, "d/f", S_IFREG | 0640);
		t_owner(t, "d/f", OTHER_U(t), OTHER_G(t));
	}
	if (t_other(t, "mkdir(d/s, 0750) in a 0777 directory", &md, 0, 0)) {
		t_mode(t, "d/s", S_IFDIR | 0750);
		t_owner(t, "d/s", OTHER_U(t), OTHER_G(t));
	}
	if (t_other(t, "mkfifo(d/p, 0600) in a 0777 directory", &fifo, 0, 0)) {
		t_mode(t, "d/p", S_IFIFO | 0600);
		t_owner(t, "d/p", OTHER_U(t), OTHER_G(t));
	}
}

static void ck_create_in_0755(struct t *t)
{
	struct pc_op cr = { .kind = OP_CREATE, .a = "d/f", .flags = O_WRONLY, .mode = 0644 };
	struct pc_op rd = { .kind = OP_CREATE, .a = "d/r", .flags = O_RDONLY, .mode = 0644 };
	struct pc_op md = { .kind = OP_MKDIR, .a = "d/s", .mode = 0755 };
	struct pc_op fifo = { .kind = OP_MKNOD, .a = "d/p", .mode = S_IFIFO | 0644 };

	if (!mk_dir(t, "d", 0755))
		return;
	t_other(t, "open(d/f, O_CREAT) in a 0755 directory of root", &cr, EACCES, 0);
	t_other(t, "open(d/r, O_RDONLY|O_CREAT) in a 0755 directory of root", &rd, EACCES, 0);
	t_other(t, "mkdir(d/s) in a 0755 directory of root", &md, EACCES, 0);
	t_other(t, "mkfifo(d/p) in a 0755 directory of root", &fifo, EACCES, 0);
	t_list(t, "d", "");
}

/* the mode chmod gives a directory decides, both ways */
static void ck_chmod_dir_access(struct t *t)
{
	struct pc_op f = { .kind = OP_CREATE, .a = "d/f", .flags = O_WRONLY, .mode = 0644 };
	struct pc_op g = { .kind = OP_CREATE, .a = "d/g", .flags = O_WRONLY, .mode = 0644 };

	if (!mk_dir(t, "d", 0755))
		return;
	t_ok(t, "chmod(d, 0777)", chmod("d", 0777));
	if (t_other(t, "open(d/f, O_CREAT) after chmod(d, 0777)", &f, 0, 0))
		t_owner(t, "d/f", OTHER_U(t), OTHER_G(t));
	t_ok(t, "chmod(d, 0755)", chmod("d", 0755));
	t_other(t, "open(d/g, O_CREAT) after chmod(d, 0755)", &g, EACCES, 0);
	t_absent(t, "d/g");
}

static void ck_remove_in_0755(struct t *t)
{
	struct pc_op ul = { .kind = OP_UNLINK, .a = "d/f" };
	struct pc_op mv = { .kind = OP_RENAME, .a = "d/f", .b = "d/g" };
	struct pc_op rd = { .kind = OP_RMDIR, .a = "d/s" };

	if (!mk_dir(t, "d", 0755) || !mk_file(t, "d/f", "F", 0666) || !mk_dir(t, "d/s", 0777))
		return;
	t_other(t, "unlink(d/f) in a 0755 directory of root", &ul, EACCES, 0);
	t_other(t, "rename(d/f, d/g) in a 0755 directory of root", &mv, EACCES, 0);
	t_other(t, "rmdir(d/s) in a 0755 directory of root", &rd, EACCES, 0);
	t_content_str(t, "d/f", "F");
	t_mode(t, "d/s", S_IFDIR | 0777);
	t_absent(t, "d/g");
}

static void ck_sticky(struct t *t)
{
	struct pc_op ul = { .kind = OP_UNLINK, .a = "d/f" };
	struct pc_op mv = { .kind = OP_RENAME, .a = "d/f", .b = "d/g" };
	struct pc_op cr = { .kind = OP_CREATE, .a = "d/own", .flags = O_WRONLY, .mode = 0644 };
	struct pc_op ul2 = { .kind = OP_UNLINK, .a = "d/own" };

	if (!mk_dir(t, "d", 01777) || !mk_file(t, "d/f", "F", 0666))
		return;
	/* POSIX: EACCES or EPERM; Linux: EPERM */
	t_other(t, "unlink(d/f) of root's file in a 01777 directory", &ul, EPERM, EACCES);
	t_other(t, "rename(d/f) of root's file in a 01777 directory", &mv, EPERM, EACCES);
	t_content_str(t, "d/f", "F");
	t_absent(t, "d/g");
	t_other(t, "open(d/own, O_CREAT) in a 01777 directory", &cr, 0, 0);
	t_other(t, "unlink(d/own), its own file, in a 01777 directory", &ul2, 0, 0);
	t_absent(t, "d/own");
}

static void ck_open_modes(struct t *t)
{
	struct pc_op r644 = { .kind = OP_OPEN, .a = "f644", .flags = O_RDONLY };
	struct pc_op w644 = { .kind = OP_OPEN, .a = "f644", .flags = O_WRONLY };
	struct pc_op r600 = { .kind = OP_OPEN, .a = "f600", .flags = O_RDONLY };
	struct pc_op w666 = { .kind = OP_OPEN, .a = "f666", .flags = O_WRONLY };
	struct pc_op t644 = { .kind = OP_OPEN, .a = "f644", .flags = O_WRONLY | O_TRUNC };

	if (!mk_file(t, "f644", "644", 0644) || !mk_file(t, "f600", "600", 0600) ||
	    !mk_file(t, "f666", "666", 0666))
		return;
	t_other(t, "open(f644, O_RDONLY)", &r644, 0, 0);
	t_other(t, "open(f644, O_WRONLY)", &w644, EACCES, 0);
	t_other(t, "open(f644, O_WRONLY|O_TRUNC)", &t644, EACCES, 0);
	t_other(t, "open(f600, O_RDONLY)", &r600, EACCES, 0);
	t_other(t, "open(f666, O_WRONLY)", &w666, 0, 0);
	t_content_str(t, "f644", "644");
}

static void ck_after_chmod(struct t *t)
{
	struct pc_op rd = { .kind = OP_OPEN, .a = "f", .flags = O_RDONLY };
	struct pc_op wr = { .kind = OP_OPEN, .a = "f", .flags = O_WRONLY };

	if (!mk_file(t, "f", "F", 0644))
		return;
	t_ok(t, "chmod(f, 0600)", chmod("f", 0600));
	t_other(t, "open(f, O_RDONLY) after chmod(f, 0600)", &rd, EACCES, 0);
	t_ok(t, "chmod(f, 0666)", chmod("f", 0666));
	t_other(t, "open(f, O_WRONLY) after chmod(f, 0666)", &wr, 0, 0);
	t_ok(t, "chown(f, other user)", chown("f", OTHER_U(t), OTHER_G(t)));
	t_ok(t, "chmod(f, 0400)", chmod("f", 0400));
	t_other(t, "open(f, O_RDONLY) of its own 0400 file", &rd, 0, 0);
	t_other(t, "open(f, O_WRONLY) of its own 0400 file", &wr, EACCES, 0);
}

static void ck_search(struct t *t)
{
	struct pc_op st = { .kind = OP_STAT, .a = "d/f" };
	struct pc_op rd = { .kind = OP_OPEN, .a = "d/f", .flags = O_RDONLY };
	struct pc_op ls = { .kind = OP_OPEN, .a = "d", .flags = O_RDONLY | O_DIRECTORY };

	if (!mk_dir(t, "d", 0700) || !mk_file(t, "d/f", "F", 0644))
		return;
	t_other(t, "stat(d/f) under a 0700 directory of root", &st, EACCES, 0);
	t_other(t, "open(d/f) under a 0700 directory of root", &rd, EACCES, 0);
	t_ok(t, "chmod(d, 0711)", chmod("d", 0711));
	t_other(t, "stat(d/f) under a 0711 directory", &st, 0, 0);
	t_other(t, "open(d/f) under a 0711 directory", &rd, 0, 0);
	t_other(t, "open(d, O_DIRECTORY) of a 0711 directory", &ls, EACCES, 0);
}

static void ck_chmod_owner(struct t *t)
{
	struct pc_op ch = { .kind = OP_CHMOD, .a = "f", .mode = 0666 };
	struct pc_op own = { .kind = OP_CHMOD, .a = "g", .mode = 0600 };
	struct pc_op sg = { .kind = OP_CHMOD, .a = "h", .mode = 02755 };

	if (!mk_file(t, "f", "F", 0644) || !mk_file(t, "g", "G", 0644) ||
	    !mk_file(t, "h", "H", 0755) || !set_owner(t, "g", OTHER_U(t), OTHER_G(t)) ||
	    !set_owner(t, "h", OTHER_U(t), 0))
		return;
	t_other(t, "chmod(f, 0666) of root's file", &ch, EPERM, 0);
	t_mode(t, "f", S_IFREG | 0644);
	if (t_other(t, "chmod(g, 0600) of its own file", &own, 0, 0))
		t_mode(t, "g", S_IFREG | 0600);
	/* S_ISGID on a file of a group it is not in: cleared, no error */
	if (t_other(t, "chmod(h, 02755) of its own file of group 0", &sg, 0, 0))
		t_mode(t, "h", S_IFREG | 0755);
}

static void ck_chown_rules(struct t *t)
{
	struct pc_op give = { .kind = OP_CHOWN, .a = "g", .uid = 1234, .gid = (gid_t)-1 };
	struct pc_op take = { .kind = OP_CHOWN, .a = "f", .uid = 0, .gid = (gid_t)-1 };
	struct pc_op foreign = { .kind = OP_CHOWN, .a = "g", .uid = (uid_t)-1, .gid = 5678 };
	struct pc_op own = { .kind = OP_CHOWN, .a = "g", .uid = (uid_t)-1, .gid = 0 };
	struct pc_op same = { .kind = OP_CHOWN, .a = "g", .gid = (gid_t)-1 };

	if (!mk_file(t, "f", "F", 0666) || !mk_file(t, "g", "G", 0644) ||
	    !set_owner(t, "g", OTHER_U(t), 0))
		return;
	take.uid = OTHER_U(t);
	same.uid = OTHER_U(t);
	own.gid = OTHER_G(t);
	t_other(t, "chown(f) of root's file to itself", &take, EPERM, 0);
	t_owner(t, "f", 0, 0);
	t_other(t, "chown(g, 1234) of its own file", &give, EPERM, 0);
	t_other(t, "chown(g, -1, 5678) to a group it is not in", &foreign, EPERM, 0);
	t_owner(t, "g", OTHER_U(t), 0);
	t_other(t, "chown(g, its uid, -1) of its own file", &same, 0, 0);
	if (t_other(t, "chown(g, -1, its gid) of its own file", &own, 0, 0))
		t_owner(t, "g", OTHER_U(t), OTHER_G(t));
}

static void ck_chown_clears_suid(struct t *t)
{
	struct pc_op own = { .kind = OP_CHOWN, .a = "f", .uid = (uid_t)-1 };

	own.gid = OTHER_G(t);
	if (!mk_file(t, "f", "F", 0644) || !set_owner(t, "f", OTHER_U(t), OTHER_G(t)) ||
	    !set_mode(t, "f", 06755))
		return;
	if (t_other(t, "chown(f, -1, its gid) of its own 06755 file", &own, 0, 0))
		t_mode(t, "f", S_IFREG | 0755);
}

static void ck_utimens_rules(struct t *t)
{
	struct pc_op set_w = { .kind = OP_UTIMES_SET, .a = "w" };
	struct pc_op now_w = { .kind = OP_UTIMES_NOW, .a = "w" };
	struct pc_op now_r = { .kind = OP_UTIMES_NOW, .a = "r" };
	struct pc_op set_o = { .kind = OP_UTIMES_SET, .a = "o" };

	if (!mk_file(t, "w", "W", 0666) || !mk_file(t, "r", "R", 0644) ||
	    !mk_file(t, "o", "O", 0444) || !set_owner(t, "o", OTHER_U(t), OTHER_G(t)) ||
	    !set_mtime(t, "r", 1000000100, 0))
		return;
	t_other(t, "utimensat(w, explicit) of root's 0666 file", &set_w, EPERM, 0);
	t_other(t, "utimensat(w, NULL) of root's 0666 file", &now_w, 0, 0);
	t_other(t, "utimensat(r, NULL) of root's 0644 file", &now_r, EACCES, 0);
	t_mtime(t, "r", 1000000100, 0);
	if (t_other(t, "utimensat(o, explicit) of its own 0444 file", &set_o, 0, 0))
		t_mtime(t, "o", 1000000000, 0);
}

static void ck_truncate_rules(struct t *t)
{
	struct pc_op ro = { .kind = OP_TRUNCATE, .a = "r", .size = 0 };
	struct pc_op rw = { .kind = OP_TRUNCATE, .a = "w", .size = 1 };

	if (!mk_file(t, "r", "abc", 0644) || !mk_file(t, "w", "abc", 0666))
		return;
	t_other(t, "truncate(r) of root's 0644 file", &ro, EACCES, 0);
	t_content_str(t, "r", "abc");
	if (t_other(t, "truncate(w, 1) of root's 0666 file", &rw, 0, 0))
		t_content_str(t, "w", "a");
}

static void ck_mknod_device(struct t *t)
{
	struct pc_op chr = { .kind = OP_MKNOD, .a = "d/c", .mode = S_IFCHR | 0644 };
	struct pc_op blk = { .kind = OP_MKNOD, .a = "d/b", .mode = S_IFBLK | 0644 };

	chr.dev = makedev(1, 3);
	blk.dev = makedev(7, 3);
	if (!mk_dir(t, "d", 0777))
		return;
	t_other(t, "mknod(d/c, S_IFCHR) without privilege", &chr, EPERM, 0);
	t_other(t, "mknod(d/b, S_IFBLK) without privilege", &blk, EPERM, 0);
	t_list(t, "d", "");
}

const struct pc_check pc_perm_checks[] = {
	{ "perm.create_in_0777", ck_create_in_0777, 0 },
	{ "perm.create_in_0755", ck_create_in_0755, 0 },
	{ "perm.chmod_dir_access", ck_chmod_dir_access, 0 },
	{ "perm.remove_in_0755", ck_remove_in_0755, 0 },
	{ "perm.sticky", ck_sticky, 0 },
	{ "perm.open_modes", ck_open_modes, 0 },
	{ "perm.after_chmod", ck_after_chmod, 0 },
	{ "perm.search", ck_search, 0 },
	{ "perm.chmod_owner", ck_chmod_owner, 0 },
	{ "perm.chown_rules", ck_chown_rules, 0 },
	{ "perm.chown_clears_suid", ck_chown_clears_suid, 0 },
	{ "perm.utimensat_rules", ck_utimens_rules, 0 },
	{ "perm.truncate_rules", ck_truncate_rules, 0 },
	{ "perm.mknod_device", ck_mknod_device, 0 },
	{ NULL, NULL, 0 },
};
