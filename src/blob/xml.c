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

static void on_message(void *ud, const char *msg, ...)
{
	(void)ud, (void)msg;
}

/* quiet: libxml2 reports some errors (an encoding it cannot convert) to
 * stderr whatever the parser's options say; a malformed answer is our
 * error to report. The handler is the calling thread's own. */
static void quiet(void)
{
	xmlSetGenericErrorFunc(NULL, on_message);
}

static xmlDocPtr parse(const char *xml, size_t len)
{
	xmlDocPtr doc;

	if (!xml || len == 0 || len > (size_t)0x7fffffff)
		return NULL;
	quiet();
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

static void set_etag(char *dst, const char *v)
{
	if (v[0] == '"')
		snprintf(dst, BLOB_ETAG_MAX, "%s", v);
	else
		snprintf(dst, BLOB_ETAG_MAX, "\"%s\"", v);
}

/* set_prop: the <Properties> child n with text t into p; takes t. */
static void set_prop(struct blob_props *p, const char *n, char *t)
{
	char **slot = NULL;

	if (strcmp(n, "Content-Length") == 0) {
		p->size = strtoull(t, NULL, 10);
	} else if (strcmp(n, "Etag") == 0) {
		set_etag(p->etag, t);
	} else if (strcmp(n, "Last-Modified") == 0) {
		long long d = http_parse_date(t);

		p->last_modified.tv_sec = d < 0 ? 0 : (time_t)d;
	} else if (strcmp(n, "Content-Type") == 0) {
		slot = &p->content_type;
	} else if (strcmp(n, "BlobType") == 0) {
		snprintf(p->blob_type, sizeof(p->blob_type), "%s", t);
	} else if (strcmp(n, "AccessTier") == 0) {
		snprintf(p->access_tier, sizeof(p->access_tier), "%s", t);
	} else if (strcmp(n, "CopyStatus") == 0) {
		p->copy.status = blob_copy_status_parse(t);
	} else if (strcmp(n, "CopyId") == 0) {
		slot = &p->copy.id;
	} else if (strcmp(n, "CopySource") == 0) {
		slot = &p->copy.source;
	} else if (strcmp(n, "CopyProgress") == 0) {
		slot = &p->copy.progress;
	} else if (strcmp(n, "CopyCompletionTime") == 0) {
		slot = &p->copy.completion_time;
	} else if (strcmp(n, "CopyStatusDescription") == 0) {
		slot = &p->copy.status_description;
	}
	if (slot) {
		free(*slot);
		*slot = t;
		return;
	}
	free(t);
}

/*
 * The List Blobs answer is read as it arrives (libxml2's push parser with
 * SAX callbacks), not built into a tree once it is whole: a page of 5000
 * blobs is some 3 MB whose tree took 100,000 allocations and as long to
 * make as the service took to send it; now the page is parsed while it
 * comes, and its last byte is followed at once by the next request.
 *
 * What is read: the first <Blobs> of the root <EnumerationResults>, each
 * <Blob> (its first <Name>, which needs Encoded="true" to be
 * percent-decoded, its first <Properties> and <Metadata>, and with
 * include=snapshots or include=versions its <Snapshot>, <VersionId> and
 * <IsCurrentVersion>) and <BlobPrefix>
 * (its <Name>), and the root's first <NextMarker>. An element's text is
 * all the text under it. Everything else is skipped.
 */
#define LIST_TEXT_MAX (1024 * 1024)   /* longest text of one element */
#define LIST_BODY_MAX (64u << 20)     /* longest answer */

enum { T_NONE = 0, T_NAME, T_PREFIX, T_PROP, T_META, T_MARKER, T_SNAPSHOT,
       T_VERSION, T_CURRENT };

struct blob_list_parser {
	xmlParserCtxtPtr ctxt;
	struct blob_list_page pg;
	size_t cap_items, cap_prefixes, cap_meta;
	uint64_t fed;
	int bad;           /* not a List Blobs answer, a DTD, too long, no memory */
	int depth;         /* of the element being read: 1 is the root */
	int seen_blobs, seen_marker;
	int in_blobs;      /* in the root's first <Blobs> */
	int item;          /* T_NAME: in a <Blob>, T_PREFIX: in a <BlobPrefix> */
	int has_name, has_props, has_meta;
	int in_props, in_meta;
	int what;          /* the text being collected, T_NONE when none */
	int what_depth;    /* ... the depth of its element */
	int encoded;       /* ... a <Name Encoded="true"> */
	char *field;       /* ... the property or metadata name */
	struct buf text;
};

static int grow(void *arrp, size_t *cap, size_t n, size_t size)
{
	void **arr = arrp, *p;
	size_t c = *cap ? *cap * 2 : 64;

	if (n < *cap)
		return 0;
	p = realloc(*arr, c * size);
	if (!p)
		return -1;
	memset((char *)p + *cap * size, 0, (c - *cap) * size);
	*arr = p;
	*cap = c;
	return 0;
}

static void lp_fail(struct blob_list_parser *lp)
{
	lp->bad = 1;
	xmlStopParser(lp->ctxt);
}

static void lp_collect(struct blob_list_parser *lp, int what, const xmlChar *field)
{
	lp->what = what;
	lp->what_depth = lp->depth;
	lp->text.len = 0;
	if (field) {
		lp->field = str_ndup((const char *)field, strlen((const char *)field));
		if (!lp->field)
			lp_fail(lp);
	}
}

/* encoded_attr: the element has Encoded="true" (SAX2 attribute array:
 * localname, prefix, URI, value, end). */
static int encoded_attr(int n, const xmlChar **a)
{
	int i;

	for (i = 0; i < n; i++, a += 5)
		if (strcmp((const char *)a[0], "Encoded") == 0 &&
		    a[4] - a[3] == 4 && strncasecmp((const char *)a[3], "true", 4) == 0)
			return 1;
	return 0;
}

static void on_start(void *ud, const xmlChar *name, const xmlChar *prefix,
		     const xmlChar *uri, int n_ns, const xmlChar **ns,
		     int n_attrs, int n_defaulted, const xmlChar **attrs)
{
	struct blob_list_parser *lp = ud;
	const char *n = (const char *)name;
	struct blob_list_page *pg = &lp->pg;

	(void)prefix, (void)uri, (void)n_ns, (void)ns, (void)n_defaulted;
	lp->depth++;
	if (lp->bad || lp->what)
		return;
	switch (lp->depth) {
	case 1:
		if (strcmp(n, "EnumerationResults") != 0)
			lp_fail(lp);
		break;
	case 2:
		if (strcmp(n, "Blobs") == 0 && !lp->seen_blobs) {
			lp->seen_blobs = lp->in_blobs = 1;
		} else if (strcmp(n, "NextMarker") == 0 && !lp->seen_marker) {
			lp->seen_marker = 1;
			lp_collect(lp, T_MARKER, NULL);
		}
		break;
	case 3:
		if (!lp->in_blobs)
			break;
		lp->has_name = lp->has_props = lp->has_meta = 0;
		if (strcmp(n, "Blob") == 0) {
			if (grow(&pg->items, &lp->cap_items, pg->n_items, sizeof(*pg->items)) < 0) {
				lp_fail(lp);
				break;
			}
			pg->n_items++;
			lp->cap_meta = 0;
			lp->item = T_NAME;
		} else if (strcmp(n, "BlobPrefix") == 0) {
			lp->item = T_PREFIX;
		}
		break;
	case 4:
		if (!lp->item)
			break;
		if (strcmp(n, "Name") == 0 && !lp->has_name) {
			lp->has_name = 1;
			lp->encoded = encoded_attr(n_attrs, attrs);
			lp_collect(lp, lp->item, NULL);
		} else if (lp->item == T_NAME && strcmp(n, "Properties") == 0 &&
			   !lp->has_props) {
			lp->has_props = lp->in_props = 1;
		} else if (lp->item == T_NAME && strcmp(n, "Metadata") == 0 &&
			   !lp->has_meta) {
			lp->has_meta = lp->in_meta = 1;
		} else if (lp->item == T_NAME && strcmp(n, "Snapshot") == 0) {
			lp_collect(lp, T_SNAPSHOT, NULL);
		} else if (lp->item == T_NAME && strcmp(n, "VersionId") == 0) {
			lp_collect(lp, T_VERSION, NULL);
		} else if (lp->item == T_NAME && strcmp(n, "IsCurrentVersion") == 0) {
			lp_collect(lp, T_CURRENT, NULL);
		}
		break;
	case 5:
		if (lp->in_props)
			lp_collect(lp, T_PROP, name);
		else if (lp->in_meta)
			lp_collect(lp, T_META, name);
		break;
	}
}

static void on_text(void *ud, const xmlChar *ch, int len)
{
	struct blob_list_parser *lp = ud;

	if (lp->bad || !lp->what)
		return;
	if (lp->text.len + (size_t)len > LIST_TEXT_MAX ||
	    buf_append(&lp->text, ch, (size_t)len) < 0)
		lp_fail(lp);
}

/* took: the collected text as a string of its own, percent-decoded for
 * a <Name Encoded="true"> (NULL: no memory, or a bad escape). */
static char *took(struct blob_list_parser *lp)
{
	const char *t = lp->text.data ? lp->text.data : "";
	struct buf b;

	if (!lp->encoded)
		return str_ndup(t, lp->text.len);
	buf_init(&b, 0);
	if (str_pct_decode(&b, t, lp->text.len) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* collected: the text of the element that ends is complete. */
static void collected(struct blob_list_parser *lp)
{
	struct blob_list_page *pg = &lp->pg;
	struct blob_item *it = pg->n_items ? &pg->items[pg->n_items - 1] : NULL;
	struct blob_props *p = it ? &it->props : NULL;
	char *t = took(lp);

	if (!t) {
		lp_fail(lp);
		goto out;
	}
	switch (lp->what) {
	case T_NAME:
		pg->items[pg->n_items - 1].name = t;
		break;
	case T_PREFIX:
		if (grow(&pg->prefixes, &lp->cap_prefixes, pg->n_prefixes,
			 sizeof(*pg->prefixes)) < 0) {
			free(t);
			lp_fail(lp);
			break;
		}
		pg->prefixes[pg->n_prefixes++] = t;
		break;
	case T_PROP:
		set_prop(p, lp->field, t);
		break;
	case T_META:
		if (grow(&p->meta, &lp->cap_meta, p->n_meta, sizeof(*p->meta)) < 0) {
			free(t);
			lp_fail(lp);
			break;
		}
		p->meta[p->n_meta].name = lp->field;
		p->meta[p->n_meta++].value = t;
		lp->field = NULL;
		break;
	case T_SNAPSHOT:
		free(it->snapshot);
		it->snapshot = t;
		break;
	case T_VERSION:
		free(it->version_id);
		it->version_id = t;
		break;
	case T_CURRENT:
		it->is_current_version = strcasecmp(t, "true") == 0;
		free(t);
		break;
	case T_MARKER:
		if (*t)
			pg->next_marker = t;
		else
			free(t);
		break;
	}
out:
	free(lp->field);
	lp->field = NULL;
	lp->what = T_NONE;
	lp->encoded = 0;
}

static void on_end(void *ud, const xmlChar *name, const xmlChar *prefix,
		   const xmlChar *uri)
{
	struct blob_list_parser *lp = ud;

	(void)name, (void)prefix, (void)uri;
	if (!lp->bad && lp->what && lp->what_depth == lp->depth)
		collected(lp);
	if (!lp->bad && !lp->what) {
		if (lp->depth == 4) {
			lp->in_props = lp->in_meta = 0;
		} else if (lp->depth == 3 && lp->item) {
			/* a <Blob> needs its name and properties, a
			 * <BlobPrefix> its name */
			if (!lp->has_name || (lp->item == T_NAME && !lp->has_props))
				lp_fail(lp);
			lp->item = T_NONE;
		} else if (lp->depth == 2) {
			lp->in_blobs = 0;
		}
	}
	lp->depth--;
}

/* A DTD is refused: see the top of this file. */
static void on_subset(void *ud, const xmlChar *name, const xmlChar *ext_id,
		      const xmlChar *sys_id)
{
	(void)name, (void)ext_id, (void)sys_id;
	lp_fail(ud);
}

/* lp_start: a fresh parser in *lp, which is all zero: 0, or -1 (no
 * memory). */
static int lp_start(struct blob_list_parser *lp)
{
	xmlSAXHandler sax;

	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.internalSubset = on_subset;
	sax.externalSubset = on_subset;
	sax.warning = on_message;
	sax.error = on_message;
	buf_init(&lp->text, 0);
	quiet();
	lp->ctxt = xmlCreatePushParserCtxt(&sax, lp, NULL, 0, "response.xml");
	if (!lp->ctxt)
		return -1;
	/* the service answers in UTF-8; a declaration saying otherwise is
	 * not followed (libxml2 converts other encodings with iconv, which
	 * it feeds differently depending on where the pieces of the body
	 * end) */
	xmlCtxtUseOptions(lp->ctxt, XML_OPTS | XML_PARSE_IGNORE_ENC);
	return 0;
}

/* lp_clear: frees what *lp holds and zeroes it. */
static void lp_clear(struct blob_list_parser *lp)
{
	blob_list_page_release(&lp->pg);
	free(lp->field);
	buf_release(&lp->text);
	if (lp->ctxt)
		xmlFreeParserCtxt(lp->ctxt);
	memset(lp, 0, sizeof(*lp));
}

struct blob_list_parser *blob_list_parser_new(void)
{
	struct blob_list_parser *lp = calloc(1, sizeof(*lp));

	if (lp && lp_start(lp) < 0) {
		free(lp);
		return NULL;
	}
	return lp;
}

int blob_list_parser_reset(struct blob_list_parser *lp)
{
	lp_clear(lp);
	if (lp_start(lp) < 0) {
		lp->bad = 1;
		return -1;
	}
	return 0;
}

int blob_list_parser_feed(struct blob_list_parser *lp, const char *data,
			  size_t len)
{
	if (lp->bad || len > LIST_BODY_MAX - lp->fed) {
		lp->bad = 1;
		return -1;
	}
	lp->fed += len;
	while (len > 0 && !lp->bad) {
		int n = len > (1u << 30) ? 1 << 30 : (int)len;

		if (xmlParseChunk(lp->ctxt, data, n, 0) != 0 || !lp->ctxt->wellFormed)
			lp->bad = 1;
		data += n;
		len -= (size_t)n;
	}
	return lp->bad ? -1 : 0;
}

int blob_list_parser_finish(struct blob_list_parser *lp,
			    struct blob_list_page *out)
{
	if (!lp->bad && (xmlParseChunk(lp->ctxt, NULL, 0, 1) != 0 ||
			 !lp->ctxt->wellFormed || lp->fed == 0))
		lp->bad = 1;
	if (lp->bad)
		return -1;
	*out = lp->pg;
	memset(&lp->pg, 0, sizeof(lp->pg));
	return 0;
}

void blob_list_parser_free(struct blob_list_parser *lp)
{
	if (!lp)
		return;
	lp_clear(lp);
	free(lp);
}

int blob_parse_list_xml(const char *xml, size_t len, struct blob_list_page *out)
{
	struct blob_list_parser *lp;
	int rc = -1;

	if (!xml || len == 0)
		return -1;
	lp = blob_list_parser_new();
	if (lp && blob_list_parser_feed(lp, xml, len) == 0)
		rc = blob_list_parser_finish(lp, out);
	blob_list_parser_free(lp);
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
