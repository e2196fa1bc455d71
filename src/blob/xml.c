/*
 * xml.c -- the Blob service's XML bodies: List Blobs results and errors.
 *
 * Parsed with libxml2 without network access and without entity
 * substitution, and a body with a DTD is refused: the service never sends
 * one, and xmlNodeGetContent() expands entity references, so a 60 KB body
 * declaring one 30 KB entity and using it 10,000 times would become a
 * 300 MB blob name. libxml2's own limits bound depth and size. Malformed or
 * truncated bodies are errors, never partial results.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blob/blob.h"
#include "util/str.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static xmlDocPtr parse(const char *xml, size_t len)
{
	xmlDocPtr doc;

	if (!xml || len == 0 || len > (size_t)0x7fffffff)
		return NULL;
	doc = xmlReadMemory(xml, (int)len, "response.xml", NULL, XML_OPTS);
	if (doc && (doc->intSubset || doc->extSubset)) {
		xmlFreeDoc(doc); /* a DTD: see the top of this file */
		return NULL;
	}
	return doc;
}

static int is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(const xmlNode *n, const char *name)
{
	xmlNode *c;

	for (c = n->children; c; c = c->next)
		if (is(c, name))
			return c;
	return NULL;
}

/* text: malloc'd text content of n ("" when empty). */
static char *text(const xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);
	char *s;

	if (!t)
		return str_ndup("", 0);
	s = str_ndup((const char *)t, strlen((const char *)t));
	xmlFree(t);
	return s;
}

static void copy_text(const xmlNode *n, char *out, size_t outlen)
{
	char *t = n ? text(n) : NULL;

	snprintf(out, outlen, "%s", t ? t : "");
	free(t);
}

int blob_parse_error_xml(const char *xml, size_t len, struct blob_error *err)
{
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root;
	int rc = -1;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root && is(root, "Error")) {
		xmlNode *code = child(root, "Code");

		if (code)
			copy_text(code, err->code, sizeof(err->code));
		copy_text(child(root, "Message"), err->message,
			  sizeof(err->message));
		/* the message ends with "RequestId:...\nTime:..." lines */
		err->message[strcspn(err->message, "\r\n")] = '\0';
		rc = 0;
	}
	xmlFreeDoc(doc);
	return rc;
}

/* name_text: <Name>, percent-decoded when Encoded="true". */
static char *name_text(const xmlNode *n)
{
	xmlChar *enc = xmlGetProp(n, (const xmlChar *)"Encoded");
	char *t = text(n);
	struct buf b;

	if (enc && t && strcasecmp((const char *)enc, "true") == 0) {
		buf_init(&b, 0);
		if (str_pct_decode(&b, t, strlen(t)) < 0) {
			free(t);
			t = NULL;
			buf_release(&b);
		} else {
			free(t);
			t = buf_take(&b);
		}
	}
	xmlFree(enc);
	return t;
}

static void set_etag(char *dst, const char *v)
{
	if (v[0] == '"')
		snprintf(dst, BLOB_ETAG_MAX, "%s", v);
	else
		snprintf(dst, BLOB_ETAG_MAX, "\"%s\"", v);
}

static int parse_properties(const xmlNode *pr, struct blob_props *p)
{
	xmlNode *c;

	for (c = pr->children; c; c = c->next) {
		const char *n;
		char *t;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		n = (const char *)c->name;
		t = text(c);
		if (!t)
			return -1;
		if (strcmp(n, "Content-Length") == 0) {
			p->size = strtoull(t, NULL, 10);
		} else if (strcmp(n, "Etag") == 0) {
			set_etag(p->etag, t);
		} else if (strcmp(n, "Last-Modified") == 0) {
			long long d = http_parse_date(t);

			p->last_modified.tv_sec = d < 0 ? 0 : (time_t)d;
		} else if (strcmp(n, "Content-Type") == 0) {
			free(p->content_type);
			p->content_type = t;
			t = NULL;
		} else if (strcmp(n, "BlobType") == 0) {
			snprintf(p->blob_type, sizeof(p->blob_type), "%s", t);
		} else if (strcmp(n, "AccessTier") == 0) {
			snprintf(p->access_tier, sizeof(p->access_tier), "%s", t);
		} else if (strcmp(n, "CopyStatus") == 0) {
			p->copy.status = blob_copy_status_parse(t);
		} else {
			char **slot = NULL;

			if (strcmp(n, "CopyId") == 0)
				slot = &p->copy.id;
			else if (strcmp(n, "CopySource") == 0)
				slot = &p->copy.source;
			else if (strcmp(n, "CopyProgress") == 0)
				slot = &p->copy.progress;
			else if (strcmp(n, "CopyCompletionTime") == 0)
				slot = &p->copy.completion_time;
			else if (strcmp(n, "CopyStatusDescription") == 0)
				slot = &p->copy.status_description;
			if (slot) {
				free(*slot);
				*slot = t;
				t = NULL;
			}
		}
		free(t);
	}
	return 0;
}

static int parse_metadata(const xmlNode *md, struct blob_props *p)
{
	xmlNode *c;
	size_t n = 0;

	for (c = md->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			n++;
	if (!n)
		return 0;
	p->meta = calloc(n, sizeof(*p->meta));
	if (!p->meta)
		return -1;
	for (c = md->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		p->meta[p->n_meta].name = str_ndup((const char *)c->name,
						   strlen((const char *)c->name));
		p->meta[p->n_meta].value = text(c);
		p->n_meta++;
		if (!p->meta[p->n_meta - 1].name || !p->meta[p->n_meta - 1].value)
			return -1;
	}
	return 0;
}

static int parse_blob(const xmlNode *b, struct blob_item *it)
{
	xmlNode *n = child(b, "Name"), *pr = child(b, "Properties"),
		*md = child(b, "Metadata");

	memset(it, 0, sizeof(*it));
	if (!n || !pr)
		return -1;
	it->name = name_text(n);
	if (!it->name || parse_properties(pr, &it->props) < 0 ||
	    (md && parse_metadata(md, &it->props) < 0))
		return -1;
	return 0;
}

int blob_parse_list_xml(const char *xml, size_t len, struct blob_list_page *out)
{
	struct blob_list_page pg;
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root, *blobs, *c, *nm;
	size_t nb = 0, np = 0;
	int rc = -1;

	memset(&pg, 0, sizeof(pg));
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!root || !is(root, "EnumerationResults"))
		goto out_free;
	blobs = child(root, "Blobs");
	if (blobs) {
		for (c = blobs->children; c; c = c->next) {
			if (is(c, "Blob"))
				nb++;
			else if (is(c, "BlobPrefix"))
				np++;
		}
		pg.items = calloc(nb ? nb : 1, sizeof(*pg.items));
		pg.prefixes = calloc(np ? np : 1, sizeof(*pg.prefixes));
		if (!pg.items || !pg.prefixes)
			goto out_free;
		for (c = blobs->children; c; c = c->next) {
			if (is(c, "Blob")) {
				if (parse_blob(c, &pg.items[pg.n_items++]) < 0)
					goto out_free;
			} else if (is(c, "BlobPrefix")) {
				nm = child(c, "Name");
				if (!nm)
					goto out_free;
				pg.prefixes[pg.n_prefixes] = name_text(nm);
				if (!pg.prefixes[pg.n_prefixes++])
					goto out_free;
			}
		}
	}
	nm = child(root, "NextMarker");
	if (nm) {
		pg.next_marker = text(nm);
		if (!pg.next_marker)
			goto out_free;
		if (!*pg.next_marker) {
			free(pg.next_marker);
			pg.next_marker = NULL;
		}
	}
	*out = pg;
	memset(&pg, 0, sizeof(pg));
	rc = 0;
out_free:
	blob_list_page_release(&pg);
	xmlFreeDoc(doc);
	return rc;
}

void blob_blocks_free(struct blob_block *b, size_t n)
{
	size_t i;

	for (i = 0; b && i < n; i++)
		free(b[i].id);
	free(b);
}

int blob_parse_block_list_xml(const char *xml, size_t len,
			      struct blob_block **blocks, size_t *n)
{
	xmlDocPtr doc = parse(xml, len);
	xmlNode *root, *cb, *c;
	struct blob_block *b = NULL;
	size_t cnt = 0, k = 0;
	int rc = -1;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!root || !is(root, "BlockList"))
		goto out_free;
	cb = child(root, "CommittedBlocks");
	for (c = cb ? cb->children : NULL; c; c = c->next)
		if (is(c, "Block"))
			cnt++;
	b = calloc(cnt ? cnt : 1, sizeof(*b));
	if (!b)
		goto out_free;
	for (c = cb ? cb->children : NULL; c; c = c->next) {
		xmlNode *nm, *sz;
		char *t;

		if (!is(c, "Block"))
			continue;
		nm = child(c, "Name");
		sz = child(c, "Size");
		if (!nm || !sz)
			goto out_free;
		b[k].id = text(nm);
		t = text(sz);
		if (!b[k].id || !t) {
			free(t);
			k++;
			goto out_free;
		}
		b[k].size = strtoull(t, NULL, 10);
		free(t);
		k++;
	}
	*blocks = b;
	*n = cnt;
	b = NULL;
	rc = 0;
out_free:
	blob_blocks_free(b, k);
	xmlFreeDoc(doc);
	return rc;
}
