/*
 * plansum.c
 *		Describe a plan change by the plan nodes that differ.
 *
 * In EXPLAIN text a node is the first line or a line whose text starts with
 * "->"; every other line is a detail of the node above (Filter:, Sort Key:,
 * SubPlan headers).  The nodes of the two plans are matched as multisets;
 * those left over on each side describe the change.  Scan nodes name the
 * relation and the index, which is what a reader acts on, so when scans
 * differ only they are reported.  A Hash node is not named: it is part of
 * the Hash Join above it.
 */
#include "plansum.h"

#include <stdio.h>
#include <string.h>

#define MAX_NODES		256
#define MAX_LABEL		160

typedef struct node_list
{
	int			n;
	char		label[MAX_NODES][MAX_LABEL];
	int			matched[MAX_NODES];
} node_list;

/* Fills 'nodes' with the node lines of an EXPLAIN text. */
static void
parse_nodes(const char *text, node_list *nodes)
{
	const char *p = text;
	int			first = 1;

	nodes->n = 0;
	while (p != NULL && *p != '\0' && nodes->n < MAX_NODES)
	{
		const char *eol = strchr(p, '\n');
		const char *s = p;
		size_t		len;

		while (*s == ' ')
			s++;
		if (strncmp(s, "->", 2) == 0 || first)
		{
			if (strncmp(s, "->", 2) == 0)
				s += 2;
			while (*s == ' ')
				s++;
			len = eol ? (size_t) (eol - s) : strlen(s);
			if (len >= MAX_LABEL)
				len = MAX_LABEL - 1;
			memcpy(nodes->label[nodes->n], s, len);
			nodes->label[nodes->n][len] = '\0';
			nodes->matched[nodes->n] = 0;
			nodes->n++;
		}
		first = 0;
		p = eol ? eol + 1 : NULL;
	}
}

/* Marks the nodes of a and b that have an equal partner on the other side. */
static void
match_nodes(node_list *a, node_list *b)
{
	for (int i = 0; i < a->n; i++)
		for (int j = 0; j < b->n; j++)
			if (!b->matched[j] && strcmp(a->label[i], b->label[j]) == 0)
			{
				a->matched[i] = b->matched[j] = 1;
				break;
			}
}

/* Reports whether a node is shown: a Hash node is part of its Hash Join. */
static int
is_shown(const char *label)
{
	return strcmp(label, "Hash") != 0;
}

/* Reports whether a node label is a scan. */
static int
is_scan(const char *label)
{
	return strstr(label, " Scan") != NULL || strncmp(label, "Scan", 4) == 0;
}

/* Counts the unmatched nodes of a list (only scans if 'scans_only'). */
static int
count_unmatched(const node_list *l, int scans_only)
{
	int			n = 0;

	for (int i = 0; i < l->n; i++)
		if (!l->matched[i] && is_shown(l->label[i]) &&
			(!scans_only || is_scan(l->label[i])))
			n++;
	return n;
}

/* Appends the unmatched labels of 'l', " and "-separated, without repeats. */
static void
append_unmatched(char *out, size_t outlen, const node_list *l, int scans_only)
{
	int			written = 0;

	for (int i = 0; i < l->n; i++)
	{
		int			repeat = 0;

		if (l->matched[i] || !is_shown(l->label[i]) ||
			(scans_only && !is_scan(l->label[i])))
			continue;
		for (int k = 0; k < i; k++)
			if (!l->matched[k] && strcmp(l->label[k], l->label[i]) == 0)
				repeat = 1;
		if (repeat)
			continue;
		if (written++ > 0)
			strncat(out, " and ", outlen - strlen(out) - 1);
		strncat(out, l->label[i], outlen - strlen(out) - 1);
	}
}

int
plan_change_summary(const char *before, const char *after, char *out,
					size_t outlen)
{
	/* two node lists are ~80kB: static would be a global, so the caller's stack it is */
	node_list	a,
				b;
	int			scans_only;
	int			na,
				nb;

	if (outlen > 0)
		out[0] = '\0';
	parse_nodes(before, &a);
	parse_nodes(after, &b);
	match_nodes(&a, &b);

	scans_only = count_unmatched(&a, 1) + count_unmatched(&b, 1) > 0;
	na = count_unmatched(&a, scans_only);
	nb = count_unmatched(&b, scans_only);
	if (na == 0 && nb == 0)
		return 0;
	if (outlen == 0)
		return 1;

	if (na > 0 && nb > 0)
	{
		strncat(out, "from ", outlen - 1);
		append_unmatched(out, outlen, &a, scans_only);
		strncat(out, " to ", outlen - strlen(out) - 1);
		append_unmatched(out, outlen, &b, scans_only);
	}
	else if (nb > 0)
	{
		strncat(out, "with ", outlen - 1);
		append_unmatched(out, outlen, &b, scans_only);
		strncat(out, " added", outlen - strlen(out) - 1);
	}
	else
	{
		strncat(out, "without ", outlen - 1);
		append_unmatched(out, outlen, &a, scans_only);
	}
	return 1;
}
