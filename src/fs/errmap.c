/*
 * errmap.c -- the one table that turns a service answer into an errno.
 *
 * Specific x-ms-error-code values come first, then the HTTP status, then the
 * transport error. Everything the table does not know is EIO.
 */
#include <errno.h>
#include <string.h>

#include "fs/azfs.h"
#include "util/log.h"

static const struct {
	const char *code;
	int err;
} by_code[] = {
	{ "PendingCopyOperation", EBUSY },
	{ "NoPendingCopyOperation", EBUSY },
	{ "LeaseIdMissing", EBUSY },
	{ "LeaseAlreadyPresent", EBUSY },
	{ "BlobAlreadyExists", EEXIST },
	{ "ContainerAlreadyExists", EEXIST },
	{ "CannotVerifyCopySource", ENOENT },
	{ "BlobNotFound", ENOENT },
	{ "ContainerNotFound", ENOENT },
	{ "ConditionNotMet", ESTALE },
	{ "SourceConditionNotMet", ESTALE },
	{ "TargetConditionNotMet", ESTALE },
	{ "InvalidMetadata", EINVAL },
	{ "InvalidHeaderValue", EINVAL },
	{ "InvalidSourceBlobUrl", EINVAL },
	{ "InvalidSourceBlobType", EINVAL },
	{ "InvalidBlobTier", EINVAL },
	{ "OutOfRangeInput", EINVAL },
	{ "RequestBodyTooLarge", EFBIG },
	{ "AuthenticationFailed", EACCES },
	{ "AuthorizationFailure", EACCES },
	{ "AuthorizationPermissionMismatch", EACCES },
	{ "CannotVerifyCopySource403", EACCES },
};

static const struct {
	long status;
	int err;
} by_status[] = {
	{ 400, EINVAL }, { 403, EACCES }, { 404, ENOENT }, { 405, EOPNOTSUPP },
	{ 409, EBUSY },  { 412, ESTALE }, { 413, EFBIG },  { 501, EOPNOTSUPP },
};

int azfs_errno(const struct blob_error *e)
{
	size_t i;

	if (e->status == 0)
		return e->transport == HTTP_ERR_NOMEM ? ENOMEM : EIO;
	/* a copy source the service could not read: keep its status */
	if (strcmp(e->code, "CannotVerifyCopySource") == 0 && e->status == 403)
		return EACCES;
	for (i = 0; i < sizeof(by_code) / sizeof(by_code[0]); i++)
		if (strcmp(e->code, by_code[i].code) == 0)
			return by_code[i].err;
	/* 400 with an unknown code is most likely our bug: report EIO */
	if (e->status == 400)
		return EIO;
	for (i = 0; i < sizeof(by_status) / sizeof(by_status[0]); i++)
		if (e->status == by_status[i].status)
			return by_status[i].err;
	return EIO;
}

int azfs_fail(const char *what, const char *name, const struct blob_error *e)
{
	char msg[400];
	int err = azfs_errno(e);

	if (err != ENOENT)
		log_warn("%s %s: %s", what, name, blob_error_str(e, msg, sizeof(msg)));
	return -err;
}
