/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - trellis-agent's config file (YAML, DIR/agent.yaml unless
 * --config names another) and the loading of its plugins.
 *
 *   plugin_dirs: [DIR, ...]   # before the default plugin paths
 *   plugins:                  # as trellisd's plugins:, each section
 *     NAME: {...}             # given to that plugin (its schema, init)
 *   network:
 *     context: netns:NAME     # where the site's hosts' taps live
 *
 * Every error names FILE:LINE:COL; a plugin the file names that does not
 * load (not found, a config its schema refuses, a failed init) stops
 * the agent before it connects, as it stops trellisd.  The agent's own
 * state (agent.json: name, zone, keys, endpoints) stays apart: the agent
 * writes that, an operator writes this.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../loader/loader.h"
#include "../loader/paths.h"
#include "../util/node.h"
#include "agent.h"

static int bad(const trellis_node_t *n, const char *what)
{
	tr_agent_say("%s: %s", tr_node_where(n), what);
	return -1;
}

static int network_section(struct agent *a, const trellis_node_t *net)
{
	if (tr_node_type(net) != TRELLIS_NODE_MAP)
		return bad(net, "network: expected a map (context)");
	for (size_t i = 0; i < tr_node_len(net); i++) {
		const char *k = tr_node_key_at(net, i);
		const trellis_node_t *v = tr_node_at(net, i);
		if (strcmp(k, "context") != 0)
			return bad(tr_node_key_node_at(net, i),
				   "network: unknown key (known: context)");
		const char *s = tr_node_str(v);
		if (!s || (strcmp(s, "local") && strncmp(s, "netns:", 6)) ||
		    strlen(s) >= sizeof a->net_context)
			return bad(v, "network.context: expected local or "
				      "netns:NAME");
		snprintf(a->net_context, sizeof a->net_context, "%s",
			 strcmp(s, "local") ? s : "");
	}
	return 0;
}

int tr_agent_load_config(struct agent *a, const char *path, int required)
{
	char err[1024];
	if (access(path, F_OK) != 0 && errno == ENOENT && !required)
		return 0;
	trellis_node_t *root = tr_node_parse_file(path, err, sizeof err);
	if (!root) {
		tr_agent_say("%s", err);
		return -1;
	}
	a->config = root;
	if (tr_node_type(root) != TRELLIS_NODE_MAP)
		return bad(root, "expected a map (plugin_dirs, plugins, "
				 "network)");
	for (size_t i = 0; i < tr_node_len(root); i++) {
		const char *k = tr_node_key_at(root, i);
		const trellis_node_t *v = tr_node_at(root, i);
		if (strcmp(k, "plugin_dirs") == 0) {
			if (tr_node_type(v) != TRELLIS_NODE_SEQ)
				return bad(v, "plugin_dirs: expected a list of "
					      "directories");
			for (size_t j = 0; j < tr_node_len(v); j++) {
				const char *d = tr_node_str(tr_node_at(v, j));
				if (!d || !*d)
					return bad(tr_node_at(v, j),
						   "plugin_dirs: expected a "
						   "directory");
				if (a->npdirs < MAX_DIRS)
					a->pdirs[a->npdirs++] = d;
			}
		} else if (strcmp(k, "plugins") == 0) {
			if (tr_node_type(v) != TRELLIS_NODE_MAP &&
			    !tr_node_is_null(v))
				return bad(v, "plugins: expected a map of plugin "
					      "name to its section");
			for (size_t j = 0; j < tr_node_len(v); j++) {
				const trellis_node_t *s = tr_node_at(v, j);
				if (tr_node_type(s) != TRELLIS_NODE_MAP &&
				    !tr_node_is_null(s)) {
					char m[160];
					snprintf(m, sizeof m,
						 "plugins.%s: expected a map",
						 tr_node_key_at(v, j));
					return bad(s, m);
				}
			}
		} else if (strcmp(k, "network") == 0) {
			if (network_section(a, v) < 0)
				return -1;
		} else {
			return bad(tr_node_key_node_at(root, i),
				   "unknown key (known: plugin_dirs, plugins, "
				   "network)");
		}
	}
	return 0;
}

int tr_agent_load_plugins(struct agent *a)
{
	a->d.registry = tr_registry_new();
	const trellis_node_t *plugins =
	    a->config ? tr_node_get(a->config, "plugins") : NULL;
	if (plugins && tr_node_type(plugins) == TRELLIS_NODE_MAP)
		tr_registry_set_config(a->d.registry, plugins);
	struct tr_pathlist paths;
	if (tr_plugin_paths(&paths, a->pdirs, a->npdirs) == 0) {
		for (size_t i = 0; i < paths.n; i++) {
			char err[512];
			if (tr_registry_load_dir(a->d.registry, paths.dirs[i],
						 err, sizeof err) < 0)
				tr_agent_say("plugin directory %s", err);
		}
		tr_pathlist_free(&paths);
	}
	for (size_t i = 0; i < tr_registry_count(a->d.registry); i++) {
		struct trellis_plugin *p = tr_registry_at(a->d.registry, i);
		if (p->state != TR_PLUGIN_LOADED)
			tr_agent_say("plugin %s refused: %s", p->name, p->reason);
	}
	static char err[8192];
	int n = tr_registry_check_configured(a->d.registry, err, sizeof err);
	if (n > 0) {
		for (char *line = strtok(err, "\n"); line;
		     line = strtok(NULL, "\n"))
			tr_agent_say("%s", line);
		tr_agent_say("not starting: %d plugin(s) named in the config "
			     "did not load",
			     n);
		return -1;
	}
	return 0;
}
