/*
 * cred.c -- credential sources and connection strings (see cred.h).
 */
#include "auth/cred.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/str.h"

#define MAX_CRED_FILE (64 * 1024)

/* The keys a credentials file may hold. */
struct cred_file {
	char *account, *key, *sas, *connection_string, *tenant_id, *client_id,
		*client_secret;
};

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static char *dup_str(const char *s)
{
	return s ? str_ndup(s, strlen(s)) : NULL;
}

void cred_conn_release(struct cred_conn *c)
{
	free(c->account);
	wipe_free(c->key);
	wipe_free(c->sas);
	free(c->blob_endpoint);
	free(c->protocol);
	free(c->suffix);
	memset(c, 0, sizeof(*c));
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return str_ndup(s, n);
}

int cred_conn_parse(const char *s, struct cred_conn *out, char *msg,
		    size_t msglen)
{
	struct cred_conn c;
	const char *p = s;

	memset(&c, 0, sizeof(c));
	while (*p) {
		size_t len = strcspn(p, ";");
		const char *eq = memchr(p, '=', len);
		char *k = NULL, *v = NULL, **slot = NULL;

		if (len == 0 || strspn(p, " \t") == len) {
			p += len + (p[len] == ';');
			continue;
		}
		if (!eq) {
			snprintf(msg, msglen,
				 "connection string: expected Key=Value, got a part without '='");
			goto out_fail;
		}
		k = trim_dup(p, (size_t)(eq - p));
		v = trim_dup(eq + 1, len - (size_t)(eq - p) - 1);
		if (!k || !v) {
			free(k);
			wipe_free(v);
			snprintf(msg, msglen, "out of memory");
			goto out_fail;
		}
		if (strcasecmp(k, "AccountName") == 0)
			slot = &c.account;
		else if (strcasecmp(k, "AccountKey") == 0)
			slot = &c.key;
		else if (strcasecmp(k, "SharedAccessSignature") == 0)
			slot = &c.sas;
		else if (strcasecmp(k, "BlobEndpoint") == 0)
			slot = &c.blob_endpoint;
		else if (strcasecmp(k, "DefaultEndpointsProtocol") == 0)
			slot = &c.protocol;
		else if (strcasecmp(k, "EndpointSuffix") == 0)
			slot = &c.suffix;
		else if (strcasecmp(k, "UseDevelopmentStorage") == 0)
			c.dev_storage = strcasecmp(v, "true") == 0;
		if (slot) {
			wipe_free(*slot);
			*slot = v;
			v = NULL;
		}
		free(k);
		wipe_free(v);
		p += len + (p[len] == ';');
	}
	if (c.dev_storage) {
		if (!c.account)
			c.account = dup_str(CRED_DEV_ACCOUNT);
		if (!c.key && !c.sas)
			c.key = dup_str(CRED_DEV_KEY);
		if (!c.blob_endpoint)
			c.blob_endpoint = dup_str(CRED_DEV_ENDPOINT);
	}
	if (!c.account && !c.blob_endpoint) {
		snprintf(msg, msglen,
			 "connection string names no AccountName (or UseDevelopmentStorage=true)");
		goto out_fail;
	}
	*out = c;
	return 0;
out_fail:
	cred_conn_release(&c);
	return -1;
}

static void file_release(struct cred_file *f)
{
	free(f->account);
	wipe_free(f->key);
	wipe_free(f->sas);
	wipe_free(f->connection_string);
	free(f->tenant_id);
	free(f->client_id);
	wipe_free(f->client_secret);
	memset(f, 0, sizeof(*f));
}

/* load_file: reads key=value lines; refuses files others can read. */
static int load_file(const char *path, struct cred_file *f, char *msg,
		     size_t msglen)
{
	struct stat st;
	char *data = NULL, *line, *save = NULL;
	ssize_t n;
	int fd, rc = -1;

	memset(f, 0, sizeof(*f));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot open credentials file %s: %s",
			 path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "credentials file %s is not a regular file",
			 path);
		goto out_close;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(msg, msglen,
			 "credentials file %s is accessible by group or others; run: chmod 600 %s",
			 path, path);
		goto out_close;
	}
	if (st.st_size > MAX_CRED_FILE) {
		snprintf(msg, msglen, "credentials file %s is too large", path);
		goto out_close;
	}
	data = calloc(1, (size_t)st.st_size + 1);
	if (!data) {
		snprintf(msg, msglen, "out of memory");
		goto out_close;
	}
	n = read(fd, data, (size_t)st.st_size);
	if (n < 0) {
		snprintf(msg, msglen, "cannot read credentials file %s: %s",
			 path, strerror(errno));
		goto out_free;
	}
	data[n] = '\0';
	for (line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq, *k, *v, **slot = NULL;

		while (isspace((unsigned char)*line))
			line++;
		if (*line == '#' || *line == '\0')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			snprintf(msg, msglen,
				 "credentials file %s: expected key=value lines", path);
			goto out_free;
		}
		k = trim_dup(line, (size_t)(eq - line));
		v = trim_dup(eq + 1, strlen(eq + 1));
		if (!k || !v) {
			free(k);
			wipe_free(v);
			snprintf(msg, msglen, "out of memory");
			goto out_free;
		}
		if (strcmp(k, "account") == 0)
			slot = &f->account;
		else if (strcmp(k, "key") == 0)
			slot = &f->key;
		else if (strcmp(k, "sas") == 0)
			slot = &f->sas;
		else if (strcmp(k, "connection_string") == 0)
			slot = &f->connection_string;
		else if (strcmp(k, "tenant_id") == 0)
			slot = &f->tenant_id;
		else if (strcmp(k, "client_id") == 0)
			slot = &f->client_id;
		else if (strcmp(k, "client_secret") == 0)
			slot = &f->client_secret;
		if (!slot) {
			snprintf(msg, msglen,
				 "credentials file %s: unknown key '%.40s' (known: account, key, sas, connection_string, tenant_id, client_id, client_secret)",
				 path, k);
			free(k);
			wipe_free(v);
			goto out_free;
		}
		wipe_free(*slot);
		*slot = v;
		free(k);
	}
	rc = 0;
out_free:
	if (data) {
		OPENSSL_cleanse(data, (size_t)st.st_size);
		free(data);
	}
	if (rc < 0)
		file_release(f);
out_close:
	close(fd);
	return rc;
}

int cred_endpoint_is_path_style(const char *endpoint)
{
	const char *h = strstr(endpoint, "://");
	char host[256];
	size_t n;
	unsigned char tmp[16];

	h = h ? h + 3 : endpoint;
	if (*h == '[')
		return 1; /* IPv6 literal */
	n = strcspn(h, ":/?");
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	return strcasecmp(host, "localhost") == 0 ||
	       inet_pton(AF_INET, host, tmp) == 1;
}

static const char *real_getenv(const char *name)
{
	return getenv(name);
}

static const char *env_nonempty(cred_getenv_fn get, const char *name)
{
	const char *v = get(name);

	return v && *v ? v : NULL;
}

/* What one source supplied, before it is turned into a struct auth. */
struct found {
	const char *source; /* for messages: "credentials file", ... */
	const char *account, *key, *sas, *endpoint, *tenant, *client,
		*secret, *token_file;
	int msi, anonymous;
	struct cred_conn conn;
	int have_conn;
};

static int from_conn(struct found *fd, const char *cs, char *msg,
		     size_t msglen)
{
	if (cred_conn_parse(cs, &fd->conn, msg, msglen) < 0)
		return -1;
	fd->have_conn = 1;
	fd->account = fd->conn.account;
	fd->key = fd->conn.key;
	fd->sas = fd->conn.sas;
	fd->endpoint = fd->conn.blob_endpoint;
	return 0;
}

/* build_endpoint: the blob endpoint URL, path-style with the account. */
static char *build_endpoint(const struct cred_opts *o, const struct found *fd,
			    const char *account)
{
	const char *ep = o->endpoint ? o->endpoint : fd->endpoint;
	struct buf b;

	buf_init(&b, 0);
	if (ep) {
		size_t n = strlen(ep);
		const char *path;

		while (n && ep[n - 1] == '/')
			n--;
		if (buf_append(&b, ep, n) < 0)
			goto out_fail;
		path = strstr(b.data, "://");
		path = path ? strchr(path + 3, '/') : NULL;
		if (!path && cred_endpoint_is_path_style(b.data) &&
		    buf_printf(&b, "/%s", account) < 0)
			goto out_fail;
		return buf_take(&b);
	}
	if (buf_printf(&b, "%s://%s.blob.%s",
		       fd->have_conn && fd->conn.protocol ? fd->conn.protocol : "https",
		       account,
		       fd->have_conn && fd->conn.suffix ? fd->conn.suffix
							 : "core.windows.net") < 0)
		goto out_fail;
	return buf_take(&b);
out_fail:
	buf_release(&b);
	return NULL;
}

/* account_from_endpoint: the first label of the host, or the first path
 * segment for path-style endpoints. */
static char *account_from_endpoint(const char *ep)
{
	const char *h = strstr(ep, "://");
	size_t n;

	if (!h)
		return NULL;
	h += 3;
	if (cred_endpoint_is_path_style(ep)) {
		h = strchr(h, '/');
		if (!h)
			return NULL;
		h++;
		n = strcspn(h, "/?");
	} else {
		n = strcspn(h, ".:/");
	}
	return n ? str_ndup(h, n) : NULL;
}

/*
 * find_source: the first of the credential sources that holds something
 * (credentials file, connection string, account and key or SAS, service
 * principal, auth=msi|anonymous) into *fd; a credentials file read goes
 * into *file (*have_file set). 0, or -1 with msg filled.
 */
static int find_source(const struct cred_opts *o, cred_getenv_fn get,
		       struct cred_file *file, int *have_file,
		       struct found *fd, char *msg, size_t msglen)
{
	const char *v;

	if (o->credentials_file) {
		if (load_file(o->credentials_file, file, msg, msglen) < 0)
			return -1;
		*have_file = 1;
		fd->source = "credentials file";
		if (file->connection_string &&
		    from_conn(fd, file->connection_string, msg, msglen) < 0)
			return -1;
		if (file->account)
			fd->account = file->account;
		if (file->key)
			fd->key = file->key;
		if (file->sas)
			fd->sas = file->sas;
		fd->tenant = file->tenant_id;
		fd->client = file->client_id;
		fd->secret = file->client_secret;
		if (!fd->key && !fd->sas && !(fd->tenant && fd->client && fd->secret)) {
			snprintf(msg, msglen,
				 "credentials file %s holds no key, sas, connection_string or tenant_id+client_id+client_secret",
				 o->credentials_file);
			return -1;
		}
	} else if ((v = env_nonempty(get, "AZURE_STORAGE_CONNECTION_STRING"))) {
		fd->source = "AZURE_STORAGE_CONNECTION_STRING";
		if (from_conn(fd, v, msg, msglen) < 0)
			return -1;
	} else if (env_nonempty(get, "AZURE_STORAGE_ACCOUNT") &&
		   (env_nonempty(get, "AZURE_STORAGE_KEY") ||
		    env_nonempty(get, "AZURE_STORAGE_ACCESS_KEY") ||
		    env_nonempty(get, "AZURE_STORAGE_SAS_TOKEN"))) {
		fd->source = "environment";
		fd->account = env_nonempty(get, "AZURE_STORAGE_ACCOUNT");
		fd->key = env_nonempty(get, "AZURE_STORAGE_KEY");
		if (!fd->key)
			fd->key = env_nonempty(get, "AZURE_STORAGE_ACCESS_KEY");
		if (!fd->key)
			fd->sas = env_nonempty(get, "AZURE_STORAGE_SAS_TOKEN");
	} else if (env_nonempty(get, "AZURE_CLIENT_ID") &&
		   env_nonempty(get, "AZURE_TENANT_ID") &&
		   (env_nonempty(get, "AZURE_CLIENT_SECRET") ||
		    env_nonempty(get, "AZURE_FEDERATED_TOKEN_FILE"))) {
		fd->source = "environment";
		fd->tenant = env_nonempty(get, "AZURE_TENANT_ID");
		fd->client = env_nonempty(get, "AZURE_CLIENT_ID");
		fd->secret = env_nonempty(get, "AZURE_CLIENT_SECRET");
		if (!fd->secret)
			fd->token_file = env_nonempty(get, "AZURE_FEDERATED_TOKEN_FILE");
	} else if (o->auth && strcmp(o->auth, "msi") == 0) {
		fd->source = "auth=msi";
		fd->msi = 1;
	} else if (o->auth && strcmp(o->auth, "anonymous") == 0) {
		fd->source = "auth=anonymous";
		fd->anonymous = 1;
	} else if (o->auth) {
		snprintf(msg, msglen, "unknown auth=%.40s (use msi or anonymous)",
			 o->auth);
		return -1;
	} else {
		snprintf(msg, msglen,
			 "no credentials: give -o credentials=FILE, set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY, or use -o auth=msi|anonymous");
		return -1;
	}
	return 0;
}

/* fill_auth: a's kind and secrets from the source found. 0, or -1 with
 * msg filled. */
static int fill_auth(struct auth *a, const struct cred_opts *o,
		     cred_getenv_fn get, const struct found *fd, char *msg,
		     size_t msglen)
{
	const char *v;

	if (fd->key) {
		a->kind = AUTH_SHARED_KEY;
		if (auth_set_key_base64(a, fd->key) < 0) {
			snprintf(msg, msglen,
				 "account key from %s is not valid base64; copy it again from the portal (Access keys)",
				 fd->source);
			return -1;
		}
	} else if (fd->sas) {
		a->kind = AUTH_SAS;
		a->sas = dup_str(fd->sas[0] == '?' ? fd->sas + 1 : fd->sas);
		if (!a->sas || !strstr(a->sas, "sig=")) {
			snprintf(msg, msglen, "SAS token from %s has no sig= parameter",
				 fd->source);
			return -1;
		}
	} else if (fd->anonymous) {
		a->kind = AUTH_ANONYMOUS;
	} else {
		a->kind = AUTH_BEARER;
		v = env_nonempty(get, "AZURE_AUTHORITY_HOST");
		a->authority = dup_str(v ? v : "https://login.microsoftonline.com");
		if (a->authority) {
			size_t n = strlen(a->authority);

			while (n && a->authority[n - 1] == '/')
				a->authority[--n] = '\0';
		}
		if (fd->msi) {
			a->flow = AUTH_FLOW_MSI;
			v = env_nonempty(get, "IDENTITY_ENDPOINT");
			a->msi_endpoint = dup_str(v ? v : "http://169.254.169.254/metadata/identity/oauth2/token");
			v = env_nonempty(get, "IDENTITY_HEADER");
			a->msi_header = dup_str(v);
			a->client_id = dup_str(o->identity_client_id);
		} else {
			a->flow = fd->secret ? AUTH_FLOW_CLIENT_SECRET : AUTH_FLOW_FEDERATED;
			a->tenant_id = dup_str(fd->tenant);
			a->client_id = dup_str(fd->client);
			a->client_secret = dup_str(fd->secret);
			a->token_file = dup_str(fd->token_file);
		}
	}
	return 0;
}

int cred_resolve(const struct cred_opts *o, cred_getenv_fn getenv_fn,
		 struct auth *a, char **endpoint, char *msg, size_t msglen)
{
	cred_getenv_fn get = getenv_fn ? getenv_fn : real_getenv;
	struct cred_file file;
	struct found fd;
	char *account = NULL, *ep = NULL;
	const char *v;
	int have_file = 0, rc = -1;

	memset(&fd, 0, sizeof(fd));
	memset(&file, 0, sizeof(file));
	auth_init(a);

	if (find_source(o, get, &file, &have_file, &fd, msg, msglen) < 0)
		goto out_free;

	/* account: the command line wins over the credentials */
	v = o->account ? o->account : fd.account;
	if (!v)
		v = env_nonempty(get, "AZURE_STORAGE_ACCOUNT");
	if (v) {
		account = dup_str(v);
	} else if (o->endpoint || fd.endpoint) {
		account = account_from_endpoint(o->endpoint ? o->endpoint : fd.endpoint);
	}
	if (!account || !*account) {
		snprintf(msg, msglen,
			 "no storage account: add -o account=NAME (credentials from %s)",
			 fd.source);
		goto out_free;
	}
	ep = build_endpoint(o, &fd, account);
	if (!ep || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)) {
		snprintf(msg, msglen,
			 "endpoint must be an http:// or https:// URL");
		goto out_free;
	}

	a->account = account;
	account = NULL;
	if (fill_auth(a, o, get, &fd, msg, msglen) < 0)
		goto out_free;
	*endpoint = ep;
	ep = NULL;
	rc = 0;
out_free:
	if (rc < 0)
		auth_release(a);
	free(account);
	free(ep);
	if (fd.have_conn)
		cred_conn_release(&fd.conn);
	if (have_file)
		file_release(&file);
	return rc;
}
