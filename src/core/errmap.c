/*
 * errmap.c -- the one table that turns what went wrong with a request
 * into an errno: a switch on the kind blob/ classified it as (blob.h,
 * enum blob_kind). Whatever it does not name is EIO.
 */
#include <errno.h>

#include "core/core.h"
#include "util/log.h"

int core_errno(const struct blob_error *e)
{
	switch (e->kind) {
	case BLOB_E_NOT_FOUND:
	case BLOB_E_COPY_SOURCE:
		return ENOENT;
	case BLOB_E_EXISTS:
		return EEXIST;
	case BLOB_E_CONDITION:
		return ESTALE;
	case BLOB_E_COPY_PENDING:
	case BLOB_E_NO_PENDING_COPY:
	case BLOB_E_LEASED:
	case BLOB_E_CONFLICT:
		return EBUSY;
	case BLOB_E_DENIED:
		return EACCES;
	case BLOB_E_INVALID:
		return EINVAL;
	case BLOB_E_TOO_LARGE:
		return EFBIG;
	case BLOB_E_UNSUPPORTED:
		return EOPNOTSUPP;
	case BLOB_E_NOMEM:
		return ENOMEM;
	case BLOB_E_NONE:
	case BLOB_E_BAD_REQUEST: /* most likely our bug */
	case BLOB_E_RANGE:
	case BLOB_E_THROTTLED:
	case BLOB_E_SERVER:
	case BLOB_E_MALFORMED:
	case BLOB_E_TRANSPORT:
	case BLOB_E_TLS:
	case BLOB_E_CANCELLED:
		break;
	}
	return EIO;
}

int core_fail(const char *what, const char *name, const struct blob_error *e)
{
	char msg[400];
	int err = core_errno(e);

	if (err != ENOENT)
		log_warn("%s %s: %s", what, name, blob_error_str(e, msg, sizeof(msg)));
	return -err;
}
