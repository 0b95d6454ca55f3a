// SPDX-License-Identifier: Apache-2.0
/* config.c - struct net_config's defaults and release */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net-internal.h"

#define DEFAULT_UDP_TIMEOUT_MS 90000 /* as Docker's userland proxy */

void net_config_init(struct net_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->tap_name, sizeof(cfg->tap_name), "%s", NET_DEFAULT_TAP);
	cfg->mtu = NET_DEFAULT_MTU;
	cfg->ipv6 = true;
	cfg->ready_fd = -1;
	cfg->exit_fd = -1;
	cfg->ports_fd = -1;
	cfg->udp_timeout_ms = DEFAULT_UDP_TIMEOUT_MS;
}

void net_config_free(struct net_config *cfg)
{
	free(cfg->netns_path);
	free(cfg->userns_path);
	free(cfg->specs);
	cfg->netns_path = cfg->userns_path = NULL;
	cfg->specs = NULL;
	cfg->nspecs = 0;
}
